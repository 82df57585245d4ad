"""Ingress through a real nginx: every preset signed the sender's way is
accepted, a repeat is a duplicate, any one-byte change is a 401; every
status of the HTTP contract (DESIGN.md) with its fixed body."""
import hashlib
import json
import os
import re
import sqlite3
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rhstack  # noqa: E402
from rhstack import PRESETS, SECRETS, SIG_HEADER, TS_HEADER, sign  # noqa: E402

FIXED = {
    400: b'{"error":"bad request"}\n',
    401: b'{"error":"unauthorized"}\n',
    404: b'{"error":"not found"}\n',
    405: b'{"error":"method not allowed"}\n',
    411: b'{"error":"length required"}\n',
    413: b'{"error":"payload too large"}\n',
    415: b'{"error":"unsupported media type"}\n',
    503: b'{"error":"unavailable"}\n',
}
MAX_BODY = 8192


def body_for(preset, n=0):
    # Each body carries the fields senders use as event ids, unique per n.
    return json.dumps({"id": "evt_%s_%d" % (preset, n), "uuid": "u-%s-%d" % (preset, n),
                       "type": "employee.updated",
                       "data": {"employeeId": "42", "meta": {"tracking_id": "t-%s-%d" % (preset, n)}}},
                      separators=(",", ":")).encode()


def flip(s, i):
    """s with the character at i changed to another valid-looking one."""
    # '0' and '1' differ in value in hex and base64 alike (a case change
    # would not: hex is case-insensitive).
    alt = "1" if s[i] == "0" else "0"
    return s[:i] + alt + s[i + 1:]


def flip_bytes(b, i):
    return b[:i] + bytes([b[i] ^ 0x01]) + b[i + 1:]


class IngressTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        sources = {p: {"preset": p, "secret_values": [SECRETS[p]]} for p in PRESETS}
        sources["rotated"] = {"preset": "github", "secret_values": ["new-secret", "old-secret"]}
        sources["plain"] = {"preset": "gusto", "secret_values": ["plain-secret"], "require_json": False}
        sources["custom"] = {"preset": "custom", "secret_values": ["custom-secret"],
                             "scheme": {"header": "x-acme-signature", "algorithm": "sha512",
                                        "encoding": "base64url", "prefix": "v0=",
                                        "template": "{method}:{id}:{timestamp}:{body}",
                                        "timestamp_header": "x-acme-timestamp",
                                        "timestamp_format": "unix", "id_header": "x-acme-delivery",
                                        "tolerance_s": 120}}
        cls.stack = rhstack.Stack(sources, max_body=MAX_BODY).start()

    @classmethod
    def tearDownClass(cls):
        rc = cls.stack.stop()
        assert rc == 0, "rolehook did not exit 0 on SIGTERM (%r)" % rc

    def post(self, source, body, headers, **kw):
        return self.stack.post(source, body, headers, **kw)

    def assertFixed(self, resp, status):
        st, hdrs, body = resp
        self.assertEqual(st, status, body)
        self.assertEqual(body, FIXED[status])
        self.assertTrue(hdrs.get("content-type", "").startswith("application/json"))

    def test_every_preset_accepts_dedupes_and_rejects_tampering(self):
        for p in PRESETS:
            with self.subTest(preset=p):
                body = body_for(p)
                now = int(time.time())
                hdrs = sign(p, SECRETS[p], body, ts=now, msg_id="msg_%s_1" % p)
                st, h, rb = self.post(p, body, hdrs)
                self.assertEqual(st, 202, rb)
                doc = json.loads(rb)
                self.assertEqual(doc["status"], "accepted")
                self.assertIsInstance(doc["id"], int)
                # The sender retries: same delivery -> 200, same id, stored once.
                st2, _, rb2 = self.post(p, body, hdrs)
                self.assertEqual(st2, 200, rb2)
                self.assertEqual(json.loads(rb2), {"status": "duplicate", "id": doc["id"]})

                if p not in ("token", "basic"):  # static credentials sign no body
                    for i in range(0, len(body), max(1, len(body) // 12)):
                        self.assertFixed(self.post(p, flip_bytes(body, i), hdrs), 401)
                sigh = SIG_HEADER[p]
                sig = hdrs[sigh]
                start = sig.index("=") + 1 if p in ("stripe",) else 0
                for i in range(start, len(sig), max(1, len(sig) // 10)):
                    if sig[i] in ",= ":
                        continue
                    bad = dict(hdrs)
                    bad[sigh] = flip(sig, i)
                    self.assertFixed(self.post(p, body, bad), 401)
                if p in TS_HEADER:
                    tsh = TS_HEADER[p]
                    bad = dict(hdrs)
                    bad[tsh] = flip(hdrs[tsh], len(hdrs[tsh]) - 2)
                    self.assertFixed(self.post(p, body, bad), 401)
                if p == "stripe":
                    bad = dict(hdrs)
                    bad[sigh] = sig.replace("t=%d" % now, "t=%d" % (now + 1))
                    self.assertFixed(self.post(p, body, bad), 401)
                # Missing signature header altogether.
                bad = {k: v for k, v in hdrs.items() if k != sigh}
                self.assertFixed(self.post(p, body, bad), 401)

    def test_replay_window(self):
        for p in ("zendesk", "standard-webhooks", "finch", "stripe"):
            with self.subTest(preset=p):
                # 20 s outside the 300 s window: a slow machine may take
                # seconds between signing and checking (at 301 a one-second
                # tick let the future one in).
                for n, skew in ((1, -320), (2, 320), (3, -3600)):
                    body = body_for(p, 100 + n)
                    hdrs = sign(p, SECRETS[p], body, ts=int(time.time()) + skew,
                                msg_id="msg_skew_%d" % n)
                    self.assertFixed(self.post(p, body, hdrs), 401)
                body = body_for(p, 110)
                hdrs = sign(p, SECRETS[p], body, ts=int(time.time()) - 200, msg_id="msg_skew_ok")
                self.assertEqual(self.post(p, body, hdrs)[0], 202)

    def test_custom_scheme(self):
        import base64
        import hashlib
        import hmac

        def signed(body, ts, did, secret="custom-secret"):
            msg = b"POST:%s:%d:%s" % (did.encode(), ts, body)
            sig = base64.urlsafe_b64encode(hmac.new(secret.encode(), msg, hashlib.sha512).digest())
            return {"x-acme-signature": "v0=" + sig.decode().rstrip("="),
                    "x-acme-timestamp": str(ts), "x-acme-delivery": did}
        body = b'{"custom":true}'
        now = int(time.time())
        h = signed(body, now, "acme-1")
        st, _, rb = self.post("custom", body, h)
        self.assertEqual(st, 202, rb)
        self.assertEqual(self.post("custom", body, h)[0], 200)
        for bad in (signed(body, now, "acme-2", "wrong"), signed(body, now - 121, "acme-3"),
                    dict(h, **{"x-acme-delivery": "acme-4"}), dict(h, **{"x-acme-timestamp": str(now + 1)}),
                    {k: v for k, v in h.items() if k != "x-acme-timestamp"}):
            self.assertFixed(self.post("custom", body, bad), 401)
        self.assertFixed(self.post("custom", body + b" ", h), 401)

    def test_rotation_accepts_previous_secret(self):
        body = b'{"rotation":1}'
        self.assertEqual(self.post("rotated", body, sign("github", "old-secret", body, msg_id="r1"))[0], 202)
        body = b'{"rotation":2}'
        self.assertEqual(self.post("rotated", body, sign("github", "new-secret", body, msg_id="r2"))[0], 202)
        body = b'{"rotation":3}'
        self.assertFixed(self.post("rotated", body, sign("github", "other", body, msg_id="r3")), 401)
        # /metrics shows which secret senders use, so the old one can go.
        text = self.stack.request("GET", "/metrics")[2].decode()
        self.assertIn('rolehook_verified_total{source="rotated",secret="previous"} 1\n', text)
        self.assertIn('rolehook_verified_total{source="rotated",secret="current"} 1\n', text)

    def test_400_malformed_json_after_valid_signature(self):
        for body in (b'{"a":', b'[1,2]', b'{"a":1} trailing', b'\xff\xfe'):
            hdrs = sign("github", SECRETS["github"], body, msg_id="bad-json")
            self.assertFixed(self.post("github", body, hdrs), 400)
        # The same malformed body unsigned is a 401, not a 400: nothing is parsed first.
        self.assertFixed(self.post("github", b'{"a":', {}), 401)

    def test_404_405(self):
        self.assertFixed(self.post("nosuch", b"{}", {}), 404)
        self.assertFixed(self.stack.request("GET", "/hooks/"), 404)
        st, h, b = self.stack.request("GET", "/hooks/github")
        self.assertFixed((st, h, b), 405)
        self.assertEqual(h.get("allow"), "POST")
        self.assertFixed(self.stack.request("PUT", "/hooks/github", body=b"{}"), 405)
        self.assertFixed(self.stack.request("POST", "/healthz", body=b"{}"), 405)

    def test_411_no_length(self):
        st, h, b = self.stack.request("POST", "/hooks/github", body=None,
                                      headers={"Content-Type": "application/json"})
        self.assertFixed((st, h, b), 411)

    def test_chunked_body_is_measured_by_nginx(self):
        # nginx buffers a chunked body and passes its length on.
        body = b'{"chunked":true}'
        hdrs = sign("github", SECRETS["github"], body, msg_id="chunk-1")
        hdrs["Content-Type"] = "application/json"
        st, _, b = self.stack.request("POST", "/hooks/github", body=body, headers=hdrs, chunked=True)
        self.assertIn(st, (202, 411), b)

    def test_413_too_large(self):
        body = b'{"pad":"' + b"x" * (MAX_BODY + 10) + b'"}'
        hdrs = sign("github", SECRETS["github"], body, msg_id="big")
        self.assertFixed(self.post("github", body, hdrs), 413)
        body = b'{"pad":"' + b"x" * (MAX_BODY - 20) + b'"}'
        hdrs = sign("github", SECRETS["github"], body, msg_id="just-fits")
        self.assertEqual(self.post("github", body, hdrs)[0], 202)

    def test_415_not_json(self):
        body = b'{"a":1}'
        hdrs = sign("github", SECRETS["github"], body, msg_id="ct")
        self.assertFixed(self.post("github", body, hdrs, content_type="text/plain"), 415)
        self.assertFixed(self.post("github", body, hdrs, content_type=None), 415)
        self.assertEqual(self.post("github", body, hdrs,
                                   content_type="application/cloudevents+json; charset=utf-8")[0], 202)
        # A source that does not require JSON takes any body (HiBob's "Ping test").
        body = b"Ping test"
        self.assertEqual(self.post("plain", body, sign("gusto", "plain-secret", body),
                                   content_type="text/plain")[0], 202)

    def test_healthz_and_metrics(self):
        st, h, b = self.stack.request("GET", "/healthz")
        self.assertEqual((st, json.loads(b)), (200, {"status": "ok", "engine": "sqlite"}))
        self.assertFixed(self.post("github", b"{}", {"X-Hub-Signature-256": "sha256=00"}), 401)
        st, h, b = self.stack.request("GET", "/metrics")
        self.assertEqual(st, 200)
        self.assertTrue(h["content-type"].startswith("text/plain"))
        text = b.decode()
        self.assertRegex(text, r'rolehook_requests_total\{source="github",status="401"\} [1-9]')
        self.assertRegex(text, r'rolehook_verify_failures_total\{source="github",reason="[a-z_ ]+"\} [1-9]')
        self.assertIn('rolehook_request_duration_seconds_bucket{le="+Inf"}', text)
        self.assertIn("rolehook_store_up 1", text)
        self.assertIsNone(re.search(r"sha256=00", text))

    def test_events_cli_shows_no_secrets(self):
        body = b'{"cli":"check"}'
        hdrs = sign("github", SECRETS["github"], body, msg_id="cli-1")
        st, _, rb = self.post("github", body, hdrs)
        self.assertEqual(st, 202)
        eid = json.loads(rb)["id"]
        out = self.stack.cli("events", "list", "--source", "github", "--format", "json").stdout
        rows = [json.loads(line) for line in out.splitlines()]
        self.assertIn(eid, [r["id"] for r in rows])
        self.assertTrue(all(r["source"] == "github" for r in rows))
        shown = json.loads(self.stack.cli("events", "show", str(eid)).stdout)
        # GitHub does not sign X-GitHub-Delivery: the key is the body's
        # hash (signed material); the header is kept for the operator.
        self.assertEqual(shown["delivery_id"],
                         "sha256:" + hashlib.sha256(body).hexdigest())
        self.assertEqual(shown["headers"].get("x-github-delivery"), "cli-1")
        self.assertEqual(shown["body"], {"cli": "check"})
        self.assertEqual(shown["state"], "pending")
        dump = json.dumps(shown).lower()
        self.assertNotIn("x-hub-signature", dump)
        self.assertNotIn(hdrs["X-Hub-Signature-256"].lower(), dump)
        r = self.stack.cli("events", "show", "999999", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("no event 999999", r.stderr)

    def test_dead_letters_listed_and_retried(self):
        body = b'{"dead":"letter"}'
        st, _, rb = self.post("github", body, sign("github", SECRETS["github"], body, msg_id="dead-1"))
        eid = json.loads(rb)["id"]
        # What the worker does with a permanent failure.
        db = sqlite3.connect(self.stack.db)
        db.execute("UPDATE events SET state='dead', attempts=1, last_error='HTTP 422: bad field'"
                   " WHERE id=?", (eid,))
        db.commit()
        db.close()
        dead = [json.loads(l) for l in self.stack.cli("events", "dead", "--format", "json").stdout.splitlines()]
        self.assertEqual([(d["id"], d["last_error"]) for d in dead], [(eid, "HTTP 422: bad field")])
        table = self.stack.cli("events", "dead", "--format", "table").stdout
        self.assertIn("HTTP 422: bad field", table)
        r = self.stack.cli("events", "retry", str(eid))
        self.assertIn("event %d is pending again" % eid, r.stdout)
        shown = json.loads(self.stack.cli("events", "show", str(eid)).stdout)
        self.assertEqual((shown["state"], shown["attempts"]), ("pending", 0))
        self.assertEqual(self.stack.cli("events", "dead", "--format", "json").stdout, "")
        r = self.stack.cli("events", "retry", "999999", check=False)
        self.assertEqual(r.returncode, 1)

    def test_zz_log_never_holds_secrets_or_signatures(self):
        # Runs last (alphabetical): the log then holds every kind of line.
        log = self.stack.log()
        self.assertIn("signature rejected", log)
        for p, secret in SECRETS.items():
            self.assertNotIn(secret, log, p)
        body = body_for("zendesk")
        sig = sign("zendesk", SECRETS["zendesk"], body, ts=1700000000)
        self.assertNotIn(sig["X-Zendesk-Webhook-Signature"], log)
        for line in log.splitlines():
            json.loads(line)  # every log line is one JSON object


if __name__ == "__main__":
    unittest.main(verbosity=2)
