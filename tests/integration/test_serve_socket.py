"""`rolehook serve` and the unix socket at server.listen: it replaces a
stale socket only, never one something listens on, and at exit removes
only the socket it created.

Running `rolehook serve` by hand while the service is up is a common
mistake.  Before this test's fix the second serve unlinked the live
socket, bound its own, logged `serving`, and removed the path when it
exited: the first serve kept running, unreachable, and nginx answered
502 until it was restarted.

- a second serve with the same configuration exits 1 naming the socket,
  and the first still answers through nginx, on the same socket file;
- a listener that is not a rolehook serve (no lock file: another program,
  or a rolehook from before the lock) is found by connect(2): refused too;
- serve processes started at the same moment: exactly one serves, every
  other exits 1, and the socket at the path is the survivor's;
- at exit, serve leaves a socket at the path that is not its own;
- after SIGKILL the socket file stays behind, nobody listens on it, and
  the next serve replaces it and answers through nginx.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rhstack  # noqa: E402
from rhstack import SECRETS, sign, wait_for  # noqa: E402

SOURCE = "hr"
PRESET = "standard-webhooks"


def new_stack():
    return rhstack.Stack({SOURCE: {"preset": PRESET,
                                   "secret_values": [SECRETS[PRESET]]}},
                         threads=2)


def signed_post(stack, n):
    body = json.dumps({"id": "evt_sock_%d" % n, "type": "employee.updated",
                       "data": {"employeeId": str(n)}}, separators=(",", ":")).encode()
    hdrs = sign(PRESET, SECRETS[PRESET], body, msg_id="msg_sock_%d" % n)
    return stack.post(SOURCE, body, hdrs)


def serve(stack):
    """Another `rolehook serve` with the stack's configuration and
    environment, output captured."""
    return subprocess.Popen([stack.bin, "serve", "--config", stack.cfg_path],
                            env=stack.env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)


def finish(p, timeout=10):
    """(exit status, output) of p; a p still running after timeout is
    stopped with SIGTERM and its status is None."""
    try:
        out, _ = p.communicate(timeout=timeout)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        p.send_signal(signal.SIGTERM)
        out, _ = p.communicate(timeout=10)
        rc = None
    return rc, out.decode("utf-8", "replace")


def answers(stack):
    """nginx -> serve: GET /healthz 200 and a signed webhook 202."""
    st, _, b = stack.request("GET", "/healthz")
    if st != 200:
        return "healthz %d %r" % (st, b)
    answers.n += 1
    st, _, b = signed_post(stack, answers.n)
    return True if st == 202 else "webhook %d %r" % (st, b)


answers.n = 0


def connects(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


def serving_lines(stack):
    return [l for l in stack.log().splitlines() if '"msg":"serving"' in l]


class ServeSocketTest(unittest.TestCase):
    def setUp(self):
        self.stack = new_stack()
        self.addCleanup(self.stack.stop)

    def test_second_serve_refuses_and_first_keeps_answering(self):
        st = self.stack.start()
        self.assertIs(answers(st), True)
        ino = os.lstat(st.sock).st_ino
        rc, out = finish(serve(st))
        self.assertEqual(rc, 1, "second serve: status %r, output:\n%s" % (rc, out))
        self.assertIn("is listening on %s " % st.sock, out)
        self.assertIn("stop it first", out)
        self.assertNotIn('"serving"', out)
        # The first serve's socket, untouched, and it still answers.
        self.assertEqual(os.lstat(st.sock).st_ino, ino)
        self.assertIsNone(st.rh.poll())
        self.assertIs(answers(st), True)
        self.assertEqual(st.stop_rolehook(), 0)
        self.assertFalse(os.path.exists(st.sock), "serve left its socket at exit")

    def test_foreign_listener_is_not_replaced(self):
        st = self.stack
        st.start(rolehook=False)
        other = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(other.close)
        other.bind(st.sock)
        other.listen(4)
        ino = os.lstat(st.sock).st_ino
        rc, out = finish(serve(st))
        self.assertEqual(rc, 1, "serve: status %r, output:\n%s" % (rc, out))
        self.assertIn("another process is listening on %s (a running rolehook "
                      "serve?); stop it first" % st.sock, out)
        self.assertEqual(os.lstat(st.sock).st_ino, ino)

    def test_simultaneous_starts_leave_one_serving(self):
        st = self.stack
        st.start(rolehook=False)
        for rnd in range(10):
            ps = [serve(st) for _ in range(4)]
            wait_for(lambda: sum(p.poll() is not None for p in ps) >= 3,
                     timeout=20, what="all but one serve to exit")
            time.sleep(0.3)
            running = [p for p in ps if p.poll() is None]
            self.assertEqual(len(running), 1, "round %d: %d running" % (rnd, len(running)))
            for p in ps:
                if p is not running[0]:
                    rc, out = finish(p)
                    self.assertEqual(rc, 1, out)
                    self.assertIn("is listening on %s " % st.sock, out)
            # The socket at the path is the survivor's: nginx reaches it.
            self.assertIs(answers(st), True)
            running[0].send_signal(signal.SIGTERM)
            rc, out = finish(running[0])
            self.assertEqual(rc, 0, out)
            self.assertFalse(os.path.exists(st.sock), out)

    def test_exit_leaves_a_socket_that_is_not_its_own(self):
        st = self.stack.start()
        # Something else took the path while serve ran.
        os.unlink(st.sock)
        other = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(other.close)
        other.bind(st.sock)
        other.listen(4)
        ino = os.lstat(st.sock).st_ino
        self.assertEqual(st.stop_rolehook(), 0)
        self.assertTrue(os.path.exists(st.sock), "serve removed a socket not its own")
        self.assertEqual(os.lstat(st.sock).st_ino, ino)
        self.assertIn("not removing", st.log())

    def test_stale_socket_after_sigkill_is_replaced(self):
        st = self.stack.start()
        self.assertIs(answers(st), True)
        st.stop_rolehook(sig=signal.SIGKILL)
        self.assertTrue(os.path.exists(st.sock), "no socket left after SIGKILL")
        self.assertFalse(connects(st.sock), "something still listens on the stale socket")
        # start_rolehook returns at once (the path exists): wait for
        # `serving` from the new process.  Its socket may reuse the stale
        # one's inode number (freed by the unlink), so the proof that it
        # replaced it is that nginx reaches it.
        st.start_rolehook()
        wait_for(lambda: len(serving_lines(st)) == 2 or st.rh.poll() is not None,
                 what="second serving line")
        self.assertIsNone(st.rh.poll(), st.log())
        self.assertTrue(connects(st.sock))
        self.assertIs(answers(st), True)
        self.assertEqual(st.stop_rolehook(), 0)
        self.assertFalse(os.path.exists(st.sock))


if __name__ == "__main__":
    unittest.main(verbosity=2)
