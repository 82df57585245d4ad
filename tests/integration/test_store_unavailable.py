"""No 2xx without the event on disk: a full store answers
503 with Retry-After (fixed body), /healthz says so, and the server
recovers without a restart once the disk does.  The store lives on a
small tmpfs this test mounts (needs root, as CI runs)."""
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rhstack  # noqa: E402
from rhstack import sign  # noqa: E402

SECRET = "store-test-secret"


def mount(path, opts):
    subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", path], check=True)


class StoreUnavailable(unittest.TestCase):
    def setUp(self):
        self.mnt = tempfile.mkdtemp(prefix="rolehook-store-")
        mount(self.mnt, "size=2m,mode=0755")
        src = {"gh": {"preset": "github", "secret_values": [SECRET]}}
        self.stack = rhstack.Stack(src, store_dir=self.mnt).start()
        self.n = 0

    def tearDown(self):
        rc = self.stack.stop()
        subprocess.run(["umount", "-l", self.mnt])
        os.rmdir(self.mnt)
        self.assertEqual(rc, 0)

    def send(self, pad=0):
        self.n += 1
        body = json.dumps({"n": self.n, "pad": "x" * pad}).encode()
        return self.stack.post("gh", body, sign("github", SECRET, body, msg_id="d-%d" % self.n))

    def assert503(self, resp):
        st, h, b = resp
        self.assertEqual(st, 503, b)
        self.assertEqual(b, b'{"error":"unavailable"}\n')
        self.assertGreater(int(h["retry-after"]), 0)

    def stored_ids(self):
        out = self.stack.cli("events", "list", "--format", "json", "--limit", "100000").stdout
        # GitHub's delivery header is not signed, so it is not the key
        # (the body hash is); it is kept with the event.
        ids = []
        for line in out.splitlines():
            eid = json.loads(line)["id"]
            shown = json.loads(self.stack.cli("events", "show", str(eid)).stdout)
            ids.append(shown["headers"]["x-github-delivery"])
        return sorted(ids)

    def test_disk_full_then_recovers(self):
        self.assertEqual(self.send()[0], 202)
        filler = os.path.join(self.mnt, "filler")
        # Unbuffered: a buffered file would raise ENOSPC again on close.
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while True:
                os.write(fd, b"\0" * 65536)
        except OSError:
            pass
        finally:
            os.close(fd)
        acked = ["d-1"]
        got503 = False
        for _ in range(20):
            st = self.send(pad=4000)[0]
            self.assertIn(st, (202, 503))
            if st == 202:
                acked.append("d-%d" % self.n)
            else:
                got503 = True
                break
        self.assertTrue(got503, "a full disk never produced a 503")
        st, h, b = self.stack.request("GET", "/healthz")
        self.assertEqual(st, 503)
        self.assertEqual(json.loads(b), {"status": "unavailable", "engine": "sqlite",
                                         "reason": "disk full"})
        self.assertGreater(int(h["retry-after"]), 0)
        os.unlink(filler)
        # The store probes by itself: /healthz recovers with no traffic.
        end = time.time() + 10
        while self.stack.request("GET", "/healthz")[0] != 200:
            self.assertLess(time.time(), end, "/healthz did not recover after the disk did")
            time.sleep(0.2)
        st = self.send()[0]
        self.assertEqual(st, 202)
        acked.append("d-%d" % self.n)
        self.assertEqual(self.stored_ids(), sorted(acked))


class ReadOnlyStoreAtStart(unittest.TestCase):
    def test_serve_refuses_a_read_only_store_with_a_clear_message(self):
        mnt = tempfile.mkdtemp(prefix="rolehook-ro-")
        mount(mnt, "size=1m,mode=0755,ro")
        try:
            st = rhstack.Stack({"gh": {"preset": "github", "secret_values": [SECRET]}}, store_dir=mnt)
            st.write_config()
            r = subprocess.run([st.bin, "serve", "--config", st.cfg_path], env=st.env,
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 1)
            self.assertIn("rolehook: store: " + os.path.join(mnt, "rolehook.db"), r.stderr)
            self.assertFalse(os.path.exists(st.sock))
        finally:
            subprocess.run(["umount", "-l", mnt])
            os.rmdir(mnt)


if __name__ == "__main__":
    unittest.main(verbosity=2)
