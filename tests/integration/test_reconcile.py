"""reconcile: drift planted in the fake Zendesk (a role raised to admin,
a group membership removed, a product switched off) is found per field;
--fix puts the 'revert' people through work's plan/apply/audit path and
leaves the 'alert' one to a person."""
import base64
import http.client
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rhstack  # noqa: E402
from rhstack import sign  # noqa: E402
from test_pipeline import MAPPING, POLICY, SEED  # noqa: E402

SECRET = "whsec_" + "cmVjb25jaWxlLXRlc3Qtc2VjcmV0LTAxMjM0NTY3OA=="


class Reconcile(unittest.TestCase):
    def zd_api(self, method, path, doc=None):
        auth = base64.b64encode(("%s/token:%s" % (self.zd.EMAIL, self.zd.TOKEN)).encode()).decode()
        c = http.client.HTTPConnection("127.0.0.1", self.zd.port, timeout=10)
        c.request(method, path, body=json.dumps(doc).encode() if doc is not None else None,
                  headers={"Authorization": "Basic " + auth, "Content-Type": "application/json"})
        r = c.getresponse()
        data = r.read()
        c.close()
        self.assertLess(r.status, 300, data)
        return json.loads(data) if data else None

    def test_reconcile(self):
        self.zd = zd = rhstack.FakeZendesk(seed=SEED)
        policy = dict(POLICY, drift={"groups": "alert"})
        st = rhstack.hr_stack(zd, MAPPING, SECRET, policy)
        try:
            for p in range(3):
                data = {"id": "R-%d" % p, "work_email": "r%d@example.com" % p, "name": "R %d" % p,
                        "department": "Support", "job_title": "Associate Agent"}
                body = json.dumps({"type": "employee.hired", "data": data}).encode()
                code, _, _ = st.post("hr", body, sign("standard-webhooks", SECRET, body, msg_id="msg_rc_%d" % p))
                self.assertEqual(code, 202)
            self.assertEqual(st.cli("work", "--until-idle").returncode, 0)
            r = st.cli("reconcile")
            self.assertEqual(r.stdout, "")
            self.assertIn("3 people checked, 0 with drift", r.stderr)

            users = {u["email"]: u for u in zd.state()["users"]}
            a, b, c = (users["r%d@example.com" % i]["id"] for i in range(3))
            self.zd_api("PUT", "/api/v2/users/%d.json" % a, {"user": {"role": "admin"}})
            mems = self.zd_api("GET", "/api/v2/users/%d/group_memberships.json" % b)["group_memberships"]
            self.zd_api("DELETE", "/api/v2/group_memberships/%d.json" % mems[0]["id"])
            self.zd_api("PUT", "/api/admin/private/staff/%d/entitlements" % c,
                        {"entitlements": {"talk": {"name": "agent", "is_active": False}}})

            r = st.cli("reconcile")
            lines = {l["zendesk_user"]: l for l in map(json.loads, r.stdout.splitlines())}
            self.assertEqual(set(lines), {a, b, c})
            self.assertEqual([(d["field"], d["mode"]) for d in lines[a]["drift"]], [("role", "revert")])
            self.assertEqual([(d["field"], d["mode"]) for d in lines[b]["drift"]], [("groups", "alert")])
            self.assertEqual([(d["field"], d["mode"]) for d in lines[c]["drift"]], [("entitlements", "revert")])
            only = st.cli("reconcile", "--field", "entitlements").stdout.splitlines()
            self.assertEqual([json.loads(l)["zendesk_user"] for l in only], [c])
            self.assertEqual(st.cli("reconcile", "--field", "colour", check=False).returncode, 2)

            r = st.cli("reconcile", "--fix")
            fixed = {l["zendesk_user"]: l.get("fix") for l in map(json.loads, r.stdout.splitlines())}
            self.assertEqual(fixed, {a: "queued", b: "alert: not fixed", c: "queued"})
            self.assertEqual(st.cli("work", "--until-idle").returncode, 0)
            users = {u["id"]: u for u in zd.state()["users"]}
            self.assertEqual((users[a]["role"], users[a]["custom_role_id"]), ("agent", 101))
            ents = zd.state()["entitlements"][str(c)]
            self.assertTrue(ents["talk"]["is_active"])
            # The fixes went through the audit trail.
            why = [json.loads(l) for l in st.cli("why", str(a), "--format", "json").stdout.splitlines()]
            self.assertEqual(why[-1]["action"], "role")
            left = [json.loads(l)["zendesk_user"] for l in st.cli("reconcile").stdout.splitlines()]
            self.assertEqual(left, [b])

            # An HR export instead of the stored events (report only).
            people = os.path.join(st.tmp, "people.json")
            with open(people, "w") as f:
                json.dump([{"employee_id": "R-1", "email": "r1@example.com",
                            "department": "Support", "title": "Associate Agent"},
                           {"employee_id": "R-9", "email": "r9@example.com",
                            "department": "Support", "title": "Associate Agent"},
                           {"employee_id": "R-2", "email": "r2@example.com", "kind": "terminate"}], f)
            r = st.cli("reconcile", "--people", people)
            got = {l["zendesk_user"]: [d["field"] for d in l["drift"]]
                   for l in map(json.loads, r.stdout.splitlines())}
            # the group still missing; R-9 has no user (not drift);
            # R-2 left per the export: its seat is drift to revert.
            self.assertEqual(set(got), {b, c})
            self.assertEqual(got[b], ["groups"])
            self.assertIn("entitlements", got[c])
            self.assertIn("role", got[c])
            r = st.cli("reconcile", "--people", people, "--fix", check=False)
            self.assertEqual(r.returncode, 2)
            # A person that fails after some attributes were read is
            # reported by index and field, and (ASan build) nothing leaks.
            with open(people, "w") as f:
                json.dump([{"employee_id": "R-1", "email": "r1@example.com",
                            "department": "Support", "title": 7}], f)
            r = st.cli("reconcile", "--people", people, check=False)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("[0].title: expected a string", r.stderr)
            self.assertNotIn("LeakSanitizer", r.stderr)
        finally:
            st.stop()
            zd.stop()

    def test_bad_drift_config(self):
        import subprocess
        import tempfile
        bin_ = os.environ.get("ROLEHOOK_BIN", os.path.join(rhstack.SRC, "build", "rolehook"))
        for drift, want in (({"roles": "revert"}, "policy.drift.roles: unknown field"),
                            ({"groups": "ignore"}, 'policy.drift.groups: expected "revert"'),
                            ("revert", "policy.drift: expected an object")):
            with self.subTest(drift=drift):
                doc = {"store": {"path": "/tmp/x.db"},
                       "sources": {"hr": {"preset": "github", "secrets": ["env:X"]}},
                       "policy": dict(POLICY, drift=drift)}
                with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
                    json.dump(doc, f)
                try:
                    r = subprocess.run([bin_, "check", "--no-secrets", "--config", f.name],
                                       capture_output=True, text=True)
                finally:
                    os.unlink(f.name)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(want, r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
