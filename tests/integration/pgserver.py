"""pgserver: a throwaway PostgreSQL 15 for the tests, started by the test
suite itself: initdb in a temp dir, loopback TCP only (and a unix socket
in that dir), a free port, password (SCRAM) authentication for the role
"rolehook".  Root cannot run postgres, so as root the server runs as
"nobody" (runuser).

    with PgServer() as pg:
        pg.dsn          # postgresql://rolehook@127.0.0.1:PORT/postgres
        pg.password     # the role's password (give it via file:/env:)
        pg.new_schema() # a DSN whose search_path is a fresh schema

As a program it runs a command with ROLEHOOK_TEST_PG_DSN and
ROLEHOOK_TEST_PG_PASSWORD set, for the C unit tests under ctest:

    python3 pgserver.py -- ./test_store

It fails (never skips) when PostgreSQL 15 is not installed: tests/run.sh
installs it.
"""
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

PGBIN = os.environ.get("PGBIN", "/usr/lib/postgresql/15/bin")


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class PgServer:
    def __init__(self, fsync=True):
        for prog in ("initdb", "postgres", "pg_ctl"):
            if not os.access(os.path.join(PGBIN, prog), os.X_OK):
                raise RuntimeError("PostgreSQL 15 is not installed (%s/%s missing); "
                                   "apt-get install postgresql-15, as tests/run.sh does"
                                   % (PGBIN, prog))
        self.fsync = fsync
        self.dir = None
        self.proc = None
        self.port = None
        self.password = secrets.token_urlsafe(18)
        self.user = "rolehook"
        self.nschema = 0

    # -- running as another user when we are root
    def _as(self):
        if os.getuid() != 0:
            return []
        return ["runuser", "-u", "nobody", "--"]

    def start(self):
        self.dir = tempfile.mkdtemp(prefix="rh-pg-")
        os.chmod(self.dir, 0o755)
        data = os.path.join(self.dir, "data")
        pwfile = os.path.join(self.dir, "pw")
        with open(pwfile, "w") as f:
            f.write(self.password + "\n")
        if os.getuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chown(self.dir, nobody.pw_uid, nobody.pw_gid)
            os.chown(pwfile, nobody.pw_uid, nobody.pw_gid)
        os.chmod(pwfile, 0o600)
        subprocess.run(self._as() + [os.path.join(PGBIN, "initdb"), "-D", data, "-U", self.user,
                                     "--pwfile", pwfile, "--auth-host=scram-sha-256",
                                     "--auth-local=scram-sha-256", "-E", "UTF8",
                                     "--no-instructions"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        os.unlink(pwfile)
        self.port = _free_port()
        return self.launch()

    def launch(self):
        """Starts the server on the data directory and port it has."""
        data = os.path.join(self.dir, "data")
        args = [os.path.join(PGBIN, "postgres"), "-D", data, "-k", self.dir,
                "-c", "listen_addresses=127.0.0.1", "-p", str(self.port),
                "-c", "max_connections=200", "-c", "shared_buffers=32MB"]
        if not self.fsync:
            args += ["-c", "fsync=off", "-c", "full_page_writes=off"]
        self.log = open(os.path.join(self.dir, "postgres.log"), "a")
        self.proc = subprocess.Popen(self._as() + args, stdout=self.log, stderr=subprocess.STDOUT)
        end = time.time() + 30
        while time.time() < end:
            if self.proc.poll() is not None:
                raise RuntimeError("postgres exited: " + self.logtext())
            if self.psql("SELECT 1", check=False).returncode == 0:
                return self
            time.sleep(0.1)
        raise RuntimeError("postgres did not start: " + self.logtext())

    def logtext(self):
        try:
            with open(os.path.join(self.dir, "postgres.log")) as f:
                return f.read()[-2000:]
        except OSError:
            return ""

    @property
    def dsn(self):
        return "postgresql://%s@127.0.0.1:%d/postgres" % (self.user, self.port)

    def env(self):
        return dict(os.environ, PGPASSWORD=self.password)

    def psql(self, sql, dsn=None, check=True):
        """Runs sql with psql; returns the CompletedProcess (stdout text)."""
        return subprocess.run([os.path.join(PGBIN, "psql") if os.path.exists(
            os.path.join(PGBIN, "psql")) else "psql", dsn or self.dsn, "-v", "ON_ERROR_STOP=1",
            "-qAtc", sql], env=self.env(), capture_output=True, text=True, check=check)

    def new_schema(self):
        """A DSN whose tables live in a fresh schema of their own."""
        self.nschema += 1
        name = "t%d_%d" % (os.getpid(), self.nschema)
        self.psql("CREATE SCHEMA %s" % name)
        return "%s?options=-csearch_path%%3D%s" % (self.dsn, name)

    def halt(self):
        """Stops the server (fast shutdown: clients are disconnected) and
        keeps its data, for launch() to start it again."""
        # To the postmaster itself: runuser does not pass SIGINT on.
        with open(os.path.join(self.dir, "data", "postmaster.pid")) as f:
            os.kill(int(f.readline()), signal.SIGINT)
        self.proc.wait(timeout=30)
        self.proc = None
        self.log.close()

    def stop(self):
        if getattr(self, "log", None) is not None:
            self.log.close()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: smart shutdown
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def main(argv):
    if "--" not in argv:
        print("usage: pgserver.py -- COMMAND [ARG...]", file=sys.stderr)
        return 2
    cmd = argv[argv.index("--") + 1:]
    with PgServer(fsync=False) as pg:
        env = dict(os.environ, ROLEHOOK_TEST_PG_DSN=pg.dsn,
                   ROLEHOOK_TEST_PG_PASSWORD=pg.password)
        return subprocess.run(cmd, env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv))
