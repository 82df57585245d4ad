"""Standard Webhooks requests signed by the reference npm package
(standardwebhooks), sent through nginx: accepted, deduped by webhook-id,
a secret rotation accepted, tampering rejected."""
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rhstack  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CUR = "whsec_" + "Y3VycmVudC1zZWNyZXQtZm9yLXJvbGVob29rLXRlc3Q="
OLD = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def npm_sign(secret, msg_id, ts, body):
    with tempfile.NamedTemporaryFile("wb", delete=False) as f:
        f.write(body)
    try:
        out = subprocess.run(["node", os.path.join(HERE, "sign_sw.js"), secret, msg_id, str(ts), f.name],
                             capture_output=True, text=True, cwd=HERE, check=True)
    finally:
        os.unlink(f.name)
    return json.loads(out.stdout)


class StandardWebhooksNpm(unittest.TestCase):
    def test_npm_signed_requests(self):
        self.assertTrue(os.path.isdir(os.path.join(HERE, "node_modules", "standardwebhooks")),
                        "run tests/run.sh (it installs the npm package)")
        src = {"hr": {"preset": "standard-webhooks", "secret_values": [CUR, OLD]}}
        with rhstack.Stack(src) as s:
            body = json.dumps({"type": "employee.hired", "data": {"id": "E1"}}).encode()
            now = int(time.time())
            h = npm_sign(CUR, "msg_npm_1", now, body)
            st, _, rb = s.post("hr", body, h)
            self.assertEqual(st, 202, rb)
            self.assertEqual(s.post("hr", body, h)[0], 200)
            # Same webhook-id, different body: the sender's id is the dedupe key.
            h2 = npm_sign(CUR, "msg_npm_1", now, body + b" ")
            self.assertEqual(s.post("hr", body + b" ", h2)[0], 200)
            # Previous secret during rotation.
            h3 = npm_sign(OLD, "msg_npm_2", now, body)
            self.assertEqual(s.post("hr", body, h3)[0], 202)
            # Both signatures in one header (the spec's rotation form).
            both = dict(h3)
            both["webhook-id"] = "msg_npm_3"
            a = npm_sign(OLD, "msg_npm_3", now, body)["webhook-signature"]
            b = npm_sign(CUR, "msg_npm_3", now, body)["webhook-signature"]
            both["webhook-signature"] = "v1,AAAA " + a + " " + b
            self.assertEqual(s.post("hr", body, both)[0], 202)
            # Unknown secret, tampered id, stale timestamp.
            bad = npm_sign("whsec_" + "b3RoZXItc2VjcmV0LW5vdC1jb25maWd1cmVk", "msg_npm_4", now, body)
            self.assertEqual(s.post("hr", body, bad)[0], 401)
            t = dict(npm_sign(CUR, "msg_npm_5", now, body))
            t["webhook-id"] = "msg_npm_6"
            self.assertEqual(s.post("hr", body, t)[0], 401)
            old = npm_sign(CUR, "msg_npm_7", now - 600, body)
            self.assertEqual(s.post("hr", body, old)[0], 401)


if __name__ == "__main__":
    unittest.main(verbosity=2)
