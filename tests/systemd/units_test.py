#!/usr/bin/env python3
"""tests/systemd/units_test.py -- the shipped systemd units, started by a
real systemd under their sandbox, installed the way
deploy/systemd/README.md says.

A Debian 12 root file system (debootstrap, minbase plus the runtime
libraries, nginx and systemd; cached in ROLEHOOK_NSPAWN_CACHE, default
/var/tmp/rolehook-nspawn-bookworm) is copied, `cmake --install` puts the
build into it, and systemd-nspawn boots it with its own network namespace
(loopback only).  Inside, rh-selftest.service runs selftest.sh: README
steps 3 to 10 with the shipped units, the shipped nginx snippet and the
fake Zendesk, then checks what the sandbox promises (no new privileges,
seccomp, no capabilities, read-only /etc, private /tmp, each service
without the other's secrets; no core dumps: core limit 0 and not
dumpable; serve's primary group rolehook with www-data supplementary
and the socket group www-data; serve in a network namespace of its own
that nginx still reaches through the unix socket; MemoryMax= and
TasksMax= in the cgroups), a signed webhook through nginx -> serve ->
store -> work -> Zendesk, and a clean stop.  The container powers off
and this script prints its log.  Before booting anything, the unit files
themselves are checked for those settings (check_units), so a unit that
lost one fails fast with its name.

usage: units_test.py BUILD_DIR      (root; needs systemd-nspawn, debootstrap)
env:   ROLEHOOK_KEEP=1 keeps the container's root under /var/tmp.
"""
import fcntl
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
from test_pipeline import MAPPING, POLICY, SEED  # noqa: E402

PACKAGES = ("systemd,systemd-sysv,dbus,nginx-light,libfcgi0ldbl,libjson-c5,libcurl4,"
            "libsqlite3-0,libpq5,libssl3,ca-certificates,python3,curl,openssl,procps,sudo")
HR_SECRET = "whsec_" + "c3lzdGVtZC11bml0cy10ZXN0LXNlY3JldC0wMTIzNDU2Nzg="
ZD_TOKEN = "fake-zendesk-api-token-1"
ZD_PORT = 8444


def die(msg):
    print("units_test: " + msg, file=sys.stderr)
    sys.exit(1)


def mirror():
    """The Debian mirror apt already uses, else deb.debian.org."""
    try:
        with open("/etc/apt/sources.list.d/debian.sources") as f:
            for line in f:
                if line.startswith("URIs:") and "security" not in line:
                    return line.split()[1]
    except OSError:
        pass
    return "http://deb.debian.org/debian"


def base_root():
    """The cached root, built once under a lock (another checkout may be
    building it), in a temporary directory renamed into place when done."""
    cache = os.environ.get("ROLEHOOK_NSPAWN_CACHE", "/var/tmp/rolehook-nspawn-bookworm")
    stamp = os.path.join(cache, ".rolehook-stamp")
    want = hashlib.sha256(PACKAGES.encode()).hexdigest()
    with open(cache + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with open(stamp) as f:
                if f.read().strip() == want:
                    return cache
        except OSError:
            pass
        print("units_test: building the Debian 12 root in %s (debootstrap, about a minute)"
              % cache, flush=True)
        tmp = cache + ".new"
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            r = subprocess.run(["timeout", "-k", "10", "900", "debootstrap", "--variant=minbase",
                                "--include=" + PACKAGES, "bookworm", tmp, mirror()],
                               capture_output=True, text=True)
        except KeyboardInterrupt:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        if r.returncode != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            die("debootstrap failed (exit %d):\n%s" % (r.returncode,
                                                       (r.stdout + r.stderr)[-3000:]))
        with open(os.path.join(tmp, ".rolehook-stamp"), "w") as f:
            f.write(want + "\n")
        shutil.rmtree(cache, ignore_errors=True)
        os.rename(tmp, cache)
        return cache


def clean_stale():
    """Containers left by a run that was killed (ctest's timeout) before
    its cleanup: older than an hour."""
    import time
    for d in glob.glob("/var/tmp/rolehook-units-*"):
        try:
            if time.time() - os.path.getmtime(d) > 3600:
                shutil.rmtree(d, ignore_errors=True)
        except OSError:
            pass


def write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


# Settings each shipped unit must carry (issue "Trust boundary"); values
# None: present with any value other than "infinity".
UNIT_MUST = {
    "rolehook-serve.service": {"User": "rolehook-serve", "Group": "rolehook",
                               "SupplementaryGroups": "www-data", "LimitCORE": "0",
                               "PrivateNetwork": "yes", "MemoryMax": None, "TasksMax": None},
    "rolehook-work.service": {"User": "rolehook-work", "Group": "rolehook",
                              "LimitCORE": "0", "MemoryMax": None, "TasksMax": None},
}


def check_units():
    """The [Service] settings of the shipped units, read as systemd reads
    them (last assignment wins); dies naming what is missing."""
    bad = []
    for unit, must in UNIT_MUST.items():
        got, section = {}, None
        with open(os.path.join(TOP, "deploy", "systemd", unit)) as f:
            for line in f:
                line = line.strip()
                if not line or line[0] in "#;":
                    continue
                if line.startswith("["):
                    section = line
                elif section == "[Service]" and "=" in line:
                    k, v = line.split("=", 1)
                    got[k.strip()] = v.strip()
        for k, want in must.items():
            v = got.get(k)
            if v is None or v == "" or v == "infinity" or (want is not None and v != want):
                bad.append("%s: %s=%s (want %s)" % (unit, k, v, want or "a limit"))
    if bad:
        die("unit files: " + "; ".join(bad))


def stage(root, build):
    env = dict(os.environ, DESTDIR=root)
    r = subprocess.run(["cmake", "--install", build, "--prefix", "/usr/local"], env=env,
                       capture_output=True, text=True)
    if r.returncode != 0:
        die("cmake --install failed:\n" + r.stdout + r.stderr)
    st = os.path.join(root, "stage")
    os.makedirs(os.path.join(st, "units"))
    for u in ("rolehook-serve.service", "rolehook-work.service"):
        shutil.copy(os.path.join(TOP, "deploy", "systemd", u), os.path.join(st, "units", u))
    shutil.copy(os.path.join(TOP, "tests", "fakes", "fake_zendesk.py"), st)
    # the fake checks requests against the OpenAPI description beside it
    shutil.copy(os.path.join(TOP, "tests", "fakes", "zendesk_oas.json"), st)
    shutil.copy(os.path.join(HERE, "selftest.sh"), st)
    os.chmod(os.path.join(st, "selftest.sh"), 0o755)
    cfg = {
        "store": {"path": "/var/lib/rolehook/rolehook.db"},
        "server": {"listen": "unix:/run/rolehook/serve.sock", "socket_group": "www-data"},
        "sources": {"hr": {"preset": "standard-webhooks", "normalizer": "generic",
                           "mapping": MAPPING, "secrets": ["env:HR_SECRET"]}},
        "zendesk": {"base_url": "http://127.0.0.1:%d" % ZD_PORT,
                    "auth": {"email": "admin@example.com", "token": "env:ZD_API_TOKEN"},
                    "entitlements": True, "allow_http_loopback": True},
        "policy": POLICY,
    }
    write(os.path.join(st, "rolehook.json"), json.dumps(cfg, indent=2) + "\n")
    write(os.path.join(st, "serve.env"), "HR_SECRET=%s\n" % HR_SECRET, 0o600)
    write(os.path.join(st, "work.env"), "ZD_API_TOKEN=%s\n" % ZD_TOKEN, 0o600)
    write(os.path.join(st, "seed.json"), json.dumps(SEED) + "\n")
    write(os.path.join(st, "zd.args"), "--port %d --email admin@example.com --token %s "
          "--seed /stage/seed.json\n" % (ZD_PORT, ZD_TOKEN))
    unit = os.path.join(root, "etc", "systemd", "system", "rh-selftest.service")
    write(unit, "[Unit]\nDescription=rolehook units self test\n"
          "After=multi-user.target nginx.service\n\n"
          "[Service]\nType=oneshot\nExecStart=/stage/selftest.sh\n"
          "StandardOutput=journal+console\n\n"
          "[Install]\nWantedBy=multi-user.target\n")
    wants = os.path.join(root, "etc", "systemd", "system", "multi-user.target.wants")
    os.makedirs(wants, exist_ok=True)
    os.symlink("/etc/systemd/system/rh-selftest.service",
               os.path.join(wants, "rh-selftest.service"))


def main():
    if len(sys.argv) != 2:
        die("usage: units_test.py BUILD_DIR")
    build = os.path.abspath(sys.argv[1])
    check_units()
    if os.geteuid() != 0:
        die("needs root (systemd-nspawn); tests/run.sh runs it as root")
    for tool in ("systemd-nspawn", "debootstrap"):
        if shutil.which(tool) is None:
            die("%s not found: apt-get install systemd-container debootstrap "
                "(tests/run.sh installs them)" % tool)
    clean_stale()
    cache = base_root()
    work = tempfile.mkdtemp(prefix="rolehook-units-", dir="/var/tmp")
    root = os.path.join(work, "root")
    try:
        os.makedirs(root)
        r = subprocess.run(["cp", "-a", cache + "/.", root + "/"], capture_output=True, text=True)
        if r.returncode != 0:
            die("cannot copy the root: " + r.stderr)
        stage(root, build)
        console = os.path.join(work, "console.log")
        with open(console, "wb") as out:
            # Private network: the container's 127.0.0.1 is its own, so its
            # nginx and fake Zendesk cannot meet other tests' ports.
            p = subprocess.run(["timeout", "-k", "10", "600", "systemd-nspawn", "--quiet", "--boot",
                                "--directory", root, "--private-network", "--register=no",
                                "--keep-unit", "--machine", "rh-units-%d" % os.getpid()],
                               stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log = os.path.join(root, "stage", "out", "log")
        if os.path.exists(log):
            with open(log, errors="replace") as f:
                print(f.read())
        result = ""
        try:
            with open(os.path.join(root, "stage", "out", "result")) as f:
                result = f.read().strip()
        except OSError:
            pass
        if result != "PASS":
            with open(console, errors="replace") as f:
                print("---- container console (tail) ----\n" + f.read()[-6000:])
            die("self test did not pass (nspawn exit %d): %s" % (p.returncode,
                                                                 result or "no result"))
        print("units_test: PASS: rolehook-serve and rolehook-work ran under systemd %s"
              % "with their sandbox")
    finally:
        if os.environ.get("ROLEHOOK_KEEP") == "1":
            print("units_test: kept " + work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
