"""Trust boundary, through nginx and the real binaries: a captured signed
request must never give access back (issue 11, findings 1 and 6).

- Dedupe keys come from signed material only: a captured GitHub-style
  delivery (the delivery id header is not signed) re-sent with another id,
  or none, is a duplicate (200), stores nothing, and work writes nothing.
- A pruned event's key stays taken.
- Ordering uses signed times only: an event without one never overrides a
  change applied from a signed time (a terminate still applies).
- Bodies must be strict RFC 8259 JSON (400 otherwise), nothing stored.
"""
import json
import os
import sqlite3
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rhstack  # noqa: E402
from rhstack import sign  # noqa: E402

GH_SECRET = "trust-test-github-secret"
HR_SECRET = "whsec_" + "dHJ1c3QtdGVzdC1zdGFuZGFyZC13ZWJob29rcy0wMQ=="

SEED = {
    "custom_roles": [{"id": 101, "name": "Tier 1", "description": "first line",
                      "configuration": {"ticket_editing": True}}],
    "groups": [{"id": 201, "name": "Tier 1"}],
    "users": [],
}

POLICY = {
    "match_users_by": ["external_id", "email"],
    "rules": [
        {"name": "tier1", "when": {"department": "Support"},
         "then": {"role": "agent", "custom_role": "Tier 1", "groups": ["Tier 1"]}},
        {"name": "others", "when": {}, "then": {"role": "end-user"}},
    ],
    "leaver": {"steps": ["downgrade", "suspend"]},
}

MAPPING = {"kind": "/type", "employee_id": "/data/id", "email": "/data/work_email",
           "name": "/data/name", "department": "/data/department",
           "kinds": {"employee.hired": "hire", "employee.updated": "update",
                     "employee.terminated": "terminate"}}


class TrustReplay(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.zd = rhstack.FakeZendesk(seed=SEED)
        sources = {
            # GitHub's scheme: HMAC over the body only; X-GitHub-Delivery
            # is not signed, and these bodies carry no time.
            "gh": {"preset": "github", "normalizer": "generic", "mapping": MAPPING,
                   "secret_values": [GH_SECRET]},
            # Standard Webhooks signs its id and timestamp.
            "hr": {"preset": "standard-webhooks", "normalizer": "generic",
                   "mapping": MAPPING, "secret_values": [HR_SECRET]},
        }
        cls.stack = rhstack.Stack(sources, extra={"zendesk": cls.zd.config(entitlements=False),
                                                  "policy": POLICY})
        cls.stack.env.update(cls.zd.env())
        cls.stack.start()
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()
        cls.zd.stop()

    # ------------------------------------------------------------ helpers
    def body(self, typ, emp, **extra):
        data = {"id": emp, "work_email": "%s@example.com" % emp.lower(),
                "name": "Person " + emp}
        data.update(extra)
        return json.dumps({"type": typ, "data": data}).encode()

    def post_gh(self, body, delivery="keep", expect=None):
        TrustReplay.n += 1
        hdrs = sign("github", GH_SECRET, body,
                    msg_id="gh-%d" % TrustReplay.n)
        if delivery is None:
            del hdrs["X-GitHub-Delivery"]
        elif delivery != "keep":
            hdrs["X-GitHub-Delivery"] = delivery
        st, _, rb = self.stack.post("gh", body, hdrs)
        if expect is not None:
            self.assertEqual(st, expect, rb)
        return st, hdrs, rb

    def post_hr(self, body):
        TrustReplay.n += 1
        hdrs = sign("standard-webhooks", HR_SECRET, body, msg_id="msg_tr_%d" % TrustReplay.n)
        st, _, rb = self.stack.post("hr", body, hdrs)
        self.assertEqual(st, 202, rb)
        return json.loads(rb)["id"]

    def work(self):
        r = self.stack.cli("work", "--until-idle", "--threads", "1", check=False)
        self.assertEqual(r.returncode, 0, r.stderr[-3000:])

    def event(self, eid):
        return json.loads(self.stack.cli("events", "show", str(eid)).stdout)

    def nevents(self):
        db = sqlite3.connect(self.stack.db)
        try:
            return db.execute("SELECT count(*) FROM events").fetchone()[0]
        finally:
            db.close()

    def user(self, emp):
        email = "%s@example.com" % emp.lower()
        for u in self.zd.state()["users"]:
            if u["email"] == email:
                return u
        return None

    def writes_since(self, mark):
        return [r for r in self.zd.requests(mark)["requests"] if r["method"] != "GET"]

    def last_seq(self):
        reqs = self.zd.requests()["requests"]
        return reqs[-1]["seq"] if reqs else 0

    # -------------------------------------------------------------- tests
    def test_1_captured_hire_replayed_after_leave(self):
        hire = self.body("employee.hired", "G-1", department="Support")
        st, cap_hdrs, rb = self.post_gh(hire, expect=202)
        hire_id = json.loads(rb)["id"]
        self.work()
        self.assertEqual(self.user("G-1")["role"], "agent")
        self.post_gh(self.body("employee.terminated", "G-1"), expect=202)
        self.work()
        u = self.user("G-1")
        self.assertEqual((u["role"], u["suspended"]), ("end-user", True))

        count = self.nevents()
        mark = self.last_seq()
        # The attacker's replays: the captured signature and body with
        # another delivery id, with none, and as captured.
        for variant in ("anything-else", None, cap_hdrs["X-GitHub-Delivery"]):
            h = dict(cap_hdrs)
            if variant is None:
                del h["X-GitHub-Delivery"]
            else:
                h["X-GitHub-Delivery"] = variant
            st, _, rb = self.stack.post("gh", hire, h)
            self.assertEqual(st, 200, (variant, rb))
            doc = json.loads(rb)
            self.assertEqual(doc, {"status": "duplicate", "id": hire_id}, variant)
        self.assertEqual(self.nevents(), count)
        self.work()
        self.assertEqual(self.writes_since(mark), [])
        u = self.user("G-1")
        self.assertEqual((u["role"], u["suspended"]), ("end-user", True))

    def test_2_pruned_key_stays_taken(self):
        body = self.body("employee.updated", "G-2", department="Sales")
        st, hdrs, rb = self.post_gh(body, expect=202)
        eid = json.loads(rb)["id"]
        self.work()
        # What retention does: delete the processed row.
        db = sqlite3.connect(self.stack.db)
        try:
            db.execute("DELETE FROM events WHERE id = ?", (eid,))
            db.commit()
        finally:
            db.close()
        h = dict(hdrs)
        h["X-GitHub-Delivery"] = "after-retention"
        st, _, rb = self.stack.post("gh", body, h)
        self.assertEqual(st, 200, rb)
        self.assertEqual(json.loads(rb), {"status": "duplicate", "id": eid})

    def test_3_untimed_event_never_overrides_a_signed_one(self):
        # Timed (Standard Webhooks signs its timestamp): hire, then leave.
        self.post_hr(self.body("employee.hired", "T-1", department="Support"))
        self.work()
        self.assertEqual(self.user("T-1")["role"], "agent")
        self.post_hr(self.body("employee.terminated", "T-1"))
        self.work()
        self.assertEqual(self.user("T-1")["role"], "end-user")
        # A new, correctly signed body without any signed time (the GitHub
        # scheme signs none and the body has none) for the same person.
        mark = self.last_seq()
        st, _, rb = self.post_gh(self.body("employee.hired", "T-1", department="Support",
                                           note="late"), expect=202)
        self.work()
        ev = self.event(json.loads(rb)["id"])
        self.assertEqual(ev["state"], "stale", ev)
        self.assertIn("no signed time", ev.get("last_error") or json.dumps(ev))
        self.assertEqual(self.writes_since(mark), [])
        u = self.user("T-1")
        self.assertEqual((u["role"], u["suspended"]), ("end-user", True))

    def test_4_untimed_terminate_still_frees_the_seat(self):
        self.post_hr(self.body("employee.hired", "T-2", department="Support"))
        self.work()
        self.assertEqual(self.user("T-2")["role"], "agent")
        st, _, rb = self.post_gh(self.body("employee.terminated", "T-2"), expect=202)
        self.work()
        self.assertEqual(self.event(json.loads(rb)["id"])["state"], "done")
        u = self.user("T-2")
        self.assertEqual((u["role"], u["suspended"]), ("end-user", True))

    def test_5_lenient_json_is_400_and_not_stored(self):
        bad = [
            b'{"type": "employee.hired", /* c */ "data": {}}',
            b'{"type": "employee.hired", "data": {}} // c',
            b"{'type': 'employee.hired', 'data': {}}",
            b'{"type": "employee.hired", "data": {},}',
            b'{"type": "employee.hired", "data": [1, 2,]}',
            b'{"type": "employee.hired", "data": {"n": NaN}}',
            b'{"type": "employee.hired", "data": {"n": Infinity}}',
            b'{"type": "employee.hired", "data": {"ok": TRUE}}',
            b'{"type": "employee.hired", "data": {"name": "\xff\xfe"}}',
            b'{"type": "employee.hired", "data": {"name": "a\x01b"}}',
            b'{"type": "employee.hired", "data": {"n": 01}}',
            b'{"type": "employee.hired"} {"type": "x"}',
        ]
        count = self.nevents()
        for body in bad:
            st, _, rb = self.post_gh(body)
            self.assertEqual((st, rb), (400, b'{"error":"bad request"}\n'), body)
        self.assertEqual(self.nevents(), count)
        # Strict is not stricter than RFC 8259: UTF-8, escapes, exponents.
        ok = '{"type": "x.y", "data": {"name": "Zoë \\u00e9\\n", "n": -1.5e3, "t": true, "z": null}}'
        self.post_gh(ok.encode(), expect=202)


if __name__ == "__main__":
    unittest.main(verbosity=2)
