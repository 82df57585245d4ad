"""The blast-radius guard: a policy limit of 2 downgrades per hour holds
the third and fourth leaver; they show in `events list --held`, and
`events approve ID` releases one.  Nothing held is ever written."""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rhstack  # noqa: E402
from rhstack import sign  # noqa: E402
from test_pipeline import MAPPING, POLICY, SEED  # noqa: E402

SECRET = "whsec_" + "Z3VhcmQtdGVzdC1zZWNyZXQtMDEyMzQ1Njc4OWFiYw=="


class Guard(unittest.TestCase):
    def test_downgrades_held_then_approved(self):
        zd = rhstack.FakeZendesk(seed=SEED)
        policy = dict(POLICY, limits={"downgrades_per_hour": 2})
        st = rhstack.hr_stack(zd, MAPPING, SECRET, policy)
        try:
            n = [0]

            def hr(typ, p, **extra):
                n[0] += 1
                data = {"id": "G-%d" % p, "work_email": "g%d@example.com" % p, "name": "G %d" % p}
                data.update(extra)
                body = json.dumps({"type": typ, "data": data}).encode()
                code, _, rb = st.post("hr", body, sign("standard-webhooks", SECRET, body,
                                                       msg_id="msg_guard_%d" % n[0]))
                self.assertEqual(code, 202, rb)
                return json.loads(rb)["id"]

            for p in range(4):
                hr("employee.hired", p, department="Support", job_title="Associate Agent")
            self.assertEqual(st.cli("work", "--until-idle").returncode, 0)
            leavers = [hr("employee.terminated", p) for p in range(4)]
            r = st.cli("work", "--until-idle")
            self.assertIn("held by the blast-radius guard", r.stderr)
            roles = {u["email"]: u["role"] for u in zd.state()["users"]}
            downgraded = [p for p in range(4) if roles["g%d@example.com" % p] == "end-user"]
            self.assertEqual(len(downgraded), 2)
            held = [json.loads(l) for l in st.cli("events", "list", "--held", "--format", "json").stdout.splitlines()]
            self.assertEqual(len(held), 2)
            self.assertTrue(all("policy.limits.downgrades_per_hour is 2" in h["last_error"] for h in held))
            self.assertEqual(sorted(h["id"] for h in held), sorted(set(leavers) - set(
                e for e in leavers if json.loads(st.cli("events", "show", str(e)).stdout)["state"] == "done")))
            # Held: nothing written for them (still agents, products on).
            for h in held:
                p = int(h["id"]) - leavers[0]
                self.assertEqual(roles["g%d@example.com" % p], "agent")
            # Held changes are visible to monitoring too.
            metrics = st.request("GET", "/metrics")[2].decode()
            self.assertIn('rolehook_events{state="held"} 2\n', metrics)
            # Work again: still held (the limit holds within the hour).
            st.cli("work", "--until-idle")
            self.assertEqual(len(st.cli("events", "list", "--held", "--format", "json").stdout.splitlines()), 2)
            r = st.cli("events", "approve", str(held[0]["id"]))
            self.assertIn("approved", r.stdout)
            self.assertEqual(st.cli("events", "approve", "999999", check=False).returncode, 1)
            st.cli("work", "--until-idle")
            self.assertEqual(json.loads(st.cli("events", "show", str(held[0]["id"])).stdout)["state"], "done")
            left = [json.loads(l) for l in st.cli("events", "list", "--held", "--format", "json").stdout.splitlines()]
            self.assertEqual([h["id"] for h in left], [held[1]["id"]])
            roles = {u["email"]: u["role"] for u in zd.state()["users"]}
            self.assertEqual(sum(1 for p in range(4) if roles["g%d@example.com" % p] == "end-user"), 3)
        finally:
            st.stop()
            zd.stop()

    def test_writes_per_minute_paces_writes(self):
        """policy.limits.writes_per_minute: work sends Zendesk writes no
        faster than the cap (reads are not paced), and still applies all."""
        zd = rhstack.FakeZendesk(seed=SEED)
        policy = dict(POLICY, limits={"writes_per_minute": 120})   # one per 0.5 s
        st = rhstack.hr_stack(zd, MAPPING, SECRET, policy)
        try:
            for p in range(3):
                data = {"id": "W-%d" % p, "work_email": "w%d@example.com" % p, "name": "W %d" % p,
                        "department": "Support", "job_title": "Associate Agent"}
                body = json.dumps({"type": "employee.hired", "data": data}).encode()
                code, _, rb = st.post("hr", body, sign("standard-webhooks", SECRET, body,
                                                       msg_id="msg_wpm_%d" % p))
                self.assertEqual(code, 202, rb)
            self.assertEqual(st.cli("work", "--until-idle").returncode, 0)
            users = {u["email"]: u for u in zd.state()["users"]}
            for p in range(3):
                self.assertEqual(users["w%d@example.com" % p]["role"], "agent")
            reqs = [r for r in zd.requests()["requests"] if r["path"].startswith("/api/")]
            writes = sorted(r["time"] for r in reqs if r["method"] != "GET")
            self.assertGreaterEqual(len(writes), 3)
            gaps = [b - a for a, b in zip(writes, writes[1:])]
            # The governor grants one write per 500 ms; allow for the time
            # between a grant and the request reaching the fake (ASan, -j2).
            # Without the cap these writes are 80-170 ms apart.
            self.assertGreaterEqual(min(gaps), 0.3, [(r["method"], r["path"], r["time"]) for r in reqs])
            reads = sorted(r["time"] for r in reqs if r["method"] == "GET")
            self.assertLess(min(b - a for a, b in zip(reads, reads[1:])), 0.4)
        finally:
            st.stop()
            zd.stop()

    def test_writes_per_minute_keeps_writes_single(self):
        """With writes_per_minute set, the cap counts changes: people's
        writes are not folded into bulk requests (combine.h), so a bulk
        change stays as slow as the cap says."""
        zd = rhstack.FakeZendesk(seed=SEED)
        policy = dict(POLICY, limits={"writes_per_minute": 6000})
        st = rhstack.hr_stack(zd, MAPPING, SECRET, policy)
        try:
            n = 0
            for title in ("Associate Agent", "Lead"):
                for p in range(6):
                    n += 1
                    data = {"id": "M-%d" % p, "work_email": "m%d@example.com" % p, "name": "M %d" % p,
                            "department": "Support", "job_title": title}
                    body = json.dumps({"type": "employee.hired" if n <= 6 else "employee.updated",
                                       "data": data}).encode()
                    code, _, rb = st.post("hr", body, sign("standard-webhooks", SECRET, body,
                                                           msg_id="msg_wpm_single_%d" % n))
                    self.assertEqual(code, 202, rb)
            self.assertEqual(st.cli("work", "--until-idle", "--threads", "8").returncode, 0)
            reqs = [r for r in zd.requests()["requests"] if r["path"].startswith("/api/")]
            self.assertEqual([r["path"] for r in reqs if "_many" in r["path"] and r["method"] != "GET"], [])
            users = {u["email"]: u for u in zd.state()["users"]}
            for p in range(6):
                self.assertEqual(users["m%d@example.com" % p]["custom_role_id"], 102)
        finally:
            st.stop()
            zd.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
