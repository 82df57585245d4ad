"""accept(2) errors in `rolehook serve`, through a real nginx; the process
hardening of serve (no core dumps, not dumpable); server.socket_group.

Out of descriptors, accept(2) fails with EMFILE, and on Linux at once even
with no connection pending (the descriptor is reserved before it waits).
serve must back off and retry, not end the thread: otherwise, after
`threads` such errors, it listens and answers nothing, and systemd never
restarts it.  The pressure is made with prlimit(2) on the running serve
(Python's resource.prlimit): the soft RLIMIT_NOFILE goes down to the
lowest descriptor number serve has free, so no new descriptor can be had,
and back up when the pressure should go.  The accept(2) error is the one
real descriptor exhaustion gives, and the test chooses when it starts and
ends.

- transient: while exhausted, nginx answers 5xx (server.backlog 1, so
  further connects fail at once and nginx says 502); once the limit is
  back, serve accepts again and a signed webhook gets 202;
- persistent: the limit stays down; serve logs that it gives up and exits
  with status 1 within SERVER_ACCEPT_GIVEUP_S (30 s) plus the last backoff
  step, so systemd's Restart=on-failure starts a fresh one.

Before this test's fix both cases fail: every idle thread ended on its
first EMFILE, so after the pressure serve answered nothing, and it never
exited.
"""
import http.client
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rhstack  # noqa: E402
from rhstack import SECRETS, sign, wait_for  # noqa: E402

GIVEUP_S = 30       # SERVER_ACCEPT_GIVEUP_S in include/rolehook/server.h
BACKOFF_MAX_S = 1   # BACKOFF_MAX_MS in src/server.c
SOURCE = "hr"
PRESET = "standard-webhooks"


class SmallBacklogStack(rhstack.Stack):
    """listen(2) backlog 1: while serve accepts nothing, the second
    pending connection fills the queue and nginx's next connect(2) fails
    at once (EAGAIN on a unix socket): a 502, not a 30 s read timeout."""

    def config(self):
        doc = super().config()
        doc["server"]["backlog"] = 1
        return doc


def new_stack():
    return SmallBacklogStack({SOURCE: {"preset": PRESET,
                                       "secret_values": [SECRETS[PRESET]]}},
                             threads=4).start()


def signed_post(stack, n):
    body = json.dumps({"id": "evt_accept_%d" % n, "type": "employee.updated",
                       "data": {"employeeId": str(n)}}, separators=(",", ":")).encode()
    hdrs = sign(PRESET, SECRETS[PRESET], body, msg_id="msg_accept_%d" % n)
    return stack.post(SOURCE, body, hdrs)


def get_status(stack, path, timeout):
    """Status of GET path, or None if nothing came back in time."""
    c = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=timeout)
    try:
        c.request("GET", path)
        return c.getresponse().status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        c.close()


def exhaust_fds(pid):
    """Lowers pid's soft RLIMIT_NOFILE to its lowest free descriptor
    number: every new descriptor fails with EMFILE (the kernel hands out
    the lowest free number).  Returns the old limits.

    A descriptor open now that closes later (the connection of a request
    that just finished) leaves a free slot below that limit; press()
    lowers it again when a request still gets through.  Not lower than
    needed: once serve closes its own descriptors at exit, LeakSanitizer
    (the ASan build) must be able to open /proc."""
    old = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    used = {int(x) for x in os.listdir("/proc/%d/fd" % pid)}
    low = 0
    while low in used:
        low += 1
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (low, old[1]))
    return old


def press(stack):
    """GET /healthz until nginx answers 5xx: the thread already in
    accept(2) holds a reserved descriptor, so one request may still get
    through; then serve accepts nothing, two connections fill the backlog
    (their clients give up after 2 s) and nginx's next connect(2) fails.
    After a request that got through, the limit is lowered again to the
    lowest free descriptor (see exhaust_fds).  Returns the statuses seen
    (None: no answer in time)."""
    seen = []
    for _ in range(10):
        s = get_status(stack, "/healthz", timeout=2)
        seen.append(s)
        if s in (502, 503, 504):
            break
        if s == 200:
            time.sleep(0.2)
            exhaust_fds(stack.rh.pid)
    return seen


def log_events(stack, event):
    return [json.loads(l) for l in stack.log().splitlines()
            if l.startswith("{") and '"%s"' % event in l]


class AcceptErrorsTest(unittest.TestCase):
    def test_transient_exhaustion_backs_off_and_recovers(self):
        stack = new_stack()
        ok = False
        try:
            st, _, b = signed_post(stack, 1)
            self.assertEqual(st, 202, b)
            pid = stack.rh.pid
            old = exhaust_fds(pid)
            seen = press(stack)
            self.assertTrue(any(s in (502, 503, 504) for s in seen),
                            "no 5xx from nginx while serve has no descriptors: %r" % seen)
            # Pressure stays a while: many backoff rounds, still alive.
            time.sleep(3)
            self.assertIsNone(stack.rh.poll(), "serve exited under transient pressure")

            resource.prlimit(pid, resource.RLIMIT_NOFILE, old)
            status, n, end = None, 2, time.time() + 15
            while time.time() < end:
                try:
                    status, _, b = signed_post(stack, n)
                except OSError:
                    status = None
                if status == 202:
                    break
                n += 1
                time.sleep(0.2)
            self.assertEqual(status, 202, "serve did not recover: last %r" % status)
            err = log_events(stack, "accept_error")
            self.assertTrue(err, "no accept_error logged")
            self.assertEqual(err[0]["level"], "warn")
            self.assertIn("Too many open files", err[0]["error"])
            self.assertTrue(log_events(stack, "accept_recovered"))
            # And keeps answering.
            for i in range(8):
                self.assertEqual(get_status(stack, "/healthz", timeout=5), 200)
            self.assertIsNone(stack.rh.poll())
            ok = True
        finally:
            if not ok:
                print("---- rolehook log ----\n" + stack.log()[-4000:])
            rc = stack.stop()
        self.assertEqual(rc, 0, "serve did not exit 0 on SIGTERM after recovering")

    def test_persistent_exhaustion_exits_nonzero_within_bound(self):
        stack = new_stack()
        ok = False
        try:
            st, _, b = signed_post(stack, 1)
            self.assertEqual(st, 202, b)
            exhaust_fds(stack.rh.pid)
            t0 = time.time()
            seen = press(stack)
            self.assertTrue(any(s in (502, 503, 504) for s in seen), seen)
            # Gives up after GIVEUP_S of failures, which began during
            # press() (plus one backoff step and the orderly stop); the
            # margin is for a loaded machine.
            try:
                rc = stack.rh.wait(GIVEUP_S + BACKOFF_MAX_S + 10)
            except subprocess.TimeoutExpired:
                self.fail("serve still running %d s after accept(2) began failing"
                          % (time.time() - t0))
            self.assertEqual(rc, 1, "serve's exit status after giving up")
            gave = log_events(stack, "accept_gave_up")
            self.assertEqual(len(gave), 1, stack.log()[-2000:])
            self.assertEqual(gave[0]["level"], "error")
            self.assertIn("Too many open files", gave[0]["error"])
            self.assertGreaterEqual(int(gave[0]["failing_ms"]), GIVEUP_S * 1000)
            self.assertIn("exiting with status 1", stack.log())
            self.assertFalse(os.path.exists(stack.sock), "socket left behind")
            stack.rh = None
            ok = True
        finally:
            if not ok:
                print("---- rolehook log ----\n" + stack.log()[-4000:])
            stack.stop()

    def test_sigterm_while_backing_off_exits_zero(self):
        """Shutdown during a backoff wait is prompt and still status 0."""
        stack = new_stack()
        try:
            exhaust_fds(stack.rh.pid)
            press(stack)
            time.sleep(2.5)   # backoff at its 1 s ceiling
            t = time.time()
            rc = stack.stop_rolehook(timeout=10)
            self.assertEqual(rc, 0)
            self.assertLess(time.time() - t, 5)
            self.assertTrue(log_events(stack, "accept_error"))
        finally:
            stack.stop()


NOBODY = 65534


class HardeningTest(unittest.TestCase):
    """serve holds webhook secrets: no core file, not dumpable.  Run as an
    unprivileged uid, because for root's processes /proc/<pid> is root's
    whether dumpable or not."""

    def test_serve_is_not_dumpable_and_has_no_core_limit(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to run serve as another uid")
        tmp = tempfile.mkdtemp(prefix="rolehook-harden-")
        os.chmod(tmp, 0o755)
        procs = []
        try:
            os.chown(tmp, NOBODY, NOBODY)
            sock = os.path.join(tmp, "serve.sock")
            cfg = os.path.join(tmp, "rolehook.json")
            with open(cfg, "w") as f:
                json.dump({"store": {"path": os.path.join(tmp, "rolehook.db")},
                           "server": {"listen": "unix:" + sock, "threads": 2},
                           "sources": {SOURCE: {"preset": PRESET,
                                                "secrets": ["env:RH_HARDEN_SECRET"]}}}, f)
            env = dict(os.environ, RH_HARDEN_SECRET=SECRETS[PRESET])
            binary = os.environ.get("ROLEHOOK_BIN",
                                    os.path.join(rhstack.SRC, "build", "rolehook"))

            def drop():
                os.setgroups([])
                os.setgid(NOBODY)
                os.setuid(NOBODY)
                # A soft core limit the process may raise: it must drop it.
                resource.setrlimit(resource.RLIMIT_CORE,
                                   (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
            with open(os.path.join(tmp, "serve.log"), "wb") as log:
                serve = subprocess.Popen([binary, "serve", "--config", cfg], env=env,
                                         stdout=log, stderr=log, preexec_fn=drop)
            procs.append(serve)
            # The control: a plain process of the same uid, dumpable.
            control = subprocess.Popen(["sleep", "60"], preexec_fn=drop)
            procs.append(control)
            wait_for(lambda: os.path.exists(sock) or serve.poll() is not None,
                     what="serve socket")
            if serve.poll() is not None:
                with open(os.path.join(tmp, "serve.log")) as f:
                    self.fail("serve exited %d: %s" % (serve.returncode, f.read()))

            def status_ids(pid, key):
                with open("/proc/%d/status" % pid) as f:
                    for line in f:
                        if line.startswith(key + ":"):
                            return line.split()[1]
            self.assertEqual(status_ids(serve.pid, "Uid"), str(NOBODY))
            # PR_SET_DUMPABLE 0: the kernel gives the files under
            # /proc/<pid> (not the world-readable directory itself) to
            # root (proc(5), "/proc/pid"; task_dump_owner()).
            for f in ("environ", "fd", "mem"):
                self.assertEqual(os.stat("/proc/%d/%s" % (control.pid, f)).st_uid, NOBODY,
                                 "control: a dumpable process owns /proc/pid/" + f)
                self.assertEqual(os.stat("/proc/%d/%s" % (serve.pid, f)).st_uid, 0,
                                 "serve is dumpable: /proc/pid/%s is not root's" % f)
            with open("/proc/%d/limits" % serve.pid) as f:
                limits = f.read()
            m = re.search(r"^Max core file size\s+(\S+)\s+(\S+)", limits, re.M)
            self.assertIsNotNone(m, limits)
            self.assertEqual(m.groups(), ("0", "0"), "RLIMIT_CORE of serve")
            serve.send_signal(signal.SIGTERM)
            self.assertEqual(serve.wait(10), 0)
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
            shutil.rmtree(tmp, ignore_errors=True)


class SocketGroupTest(unittest.TestCase):
    """server.socket_group: serve gives its socket that group (the units
    run serve with www-data as a supplementary group only)."""

    def run_serve(self, group):
        tmp = tempfile.mkdtemp(prefix="rolehook-sockgrp-")
        self.addCleanup(shutil.rmtree, tmp, True)
        sock = os.path.join(tmp, "serve.sock")
        cfg = os.path.join(tmp, "rolehook.json")
        with open(cfg, "w") as f:
            json.dump({"store": {"path": os.path.join(tmp, "rolehook.db")},
                       "server": {"listen": "unix:" + sock, "threads": 1,
                                  "socket_group": group},
                       "sources": {SOURCE: {"preset": PRESET,
                                            "secrets": ["env:RH_SG_SECRET"]}}}, f)
        binary = os.environ.get("ROLEHOOK_BIN", os.path.join(rhstack.SRC, "build", "rolehook"))
        p = subprocess.Popen([binary, "serve", "--config", cfg],
                             env=dict(os.environ, RH_SG_SECRET=SECRETS[PRESET]),
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.addCleanup(lambda: p.poll() is None and (p.kill(), p.wait()))
        wait_for(lambda: os.path.exists(sock) or p.poll() is not None, what="serve")
        return p, sock

    def test_socket_gets_the_group(self):
        import grp
        g = grp.getgrgid(os.getgid()).gr_name
        for cand in ("www-data", "nogroup", "daemon"):
            try:
                grp.getgrnam(cand)
                g = cand
                break
            except KeyError:
                pass
        p, sock = self.run_serve(g)
        self.assertIsNone(p.poll(), p.stdout.read().decode() if p.poll() is not None else "")
        st = os.stat(sock)
        self.assertEqual(grp.getgrgid(st.st_gid).gr_name, g)
        self.assertEqual(st.st_mode & 0o777, 0o660)
        p.send_signal(signal.SIGTERM)
        self.assertEqual(p.wait(10), 0)

    def test_unknown_group_stops_serve(self):
        p, sock = self.run_serve("no-such-group-rh")
        self.assertEqual(p.wait(10), 1)
        self.assertIn("server.socket_group: no group no-such-group-rh", p.stdout.read().decode())
        self.assertFalse(os.path.exists(sock))


if __name__ == "__main__":
    unittest.main(verbosity=2)
