"""Rehire snapshots cannot raise privileges (issue "Trust boundary",
finding 2).

subjects.snapshot is written by `work` when a person leaves, but it lives
in the SQLite store that `serve`, the internet-facing process, can write
too.  A compromised serve could plant `role: admin` (or a custom role,
groups, products) in it and then send a validly signed rehire.  The real
binaries run here: signed webhooks through nginx into serve, `work
--until-idle` against the fake Zendesk, and the plant done with Python's
sqlite3 as such a serve could.  The rehire must restore at most what the
matched rule grants, and `why` must say where each value came from and
which snapshot values were dropped.
"""
import json
import os
import sqlite3
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rhstack  # noqa: E402
from rhstack import sign  # noqa: E402

HR_SECRET = "whsec_" + "c25hcHNob3QtdHJ1c3QtdGVzdC1zZWNyZXQtMDE="

SEED = {
    "custom_roles": [{"id": 101, "name": "Tier 1", "description": "first line",
                      "configuration": {"ticket_editing": True}},
                     {"id": 102, "name": "Team lead", "description": "leads",
                      "configuration": {"ticket_editing": True}}],
    "groups": [{"id": 201, "name": "Tier 1"}, {"id": 202, "name": "Leads"},
               {"id": 203, "name": "Payroll escalations"}],
    "users": [{"id": 9001, "name": "Owner", "email": "owner@example.com", "role": "admin"}],
}

POLICY = {
    "protected": ["owner@example.com"],
    "rules": [
        {"name": "tier1", "when": {"department": "Support", "title": {"prefix": "Associate"}},
         "then": {"role": "agent", "custom_role": "Tier 1", "groups": ["Tier 1"],
                  "entitlements": {"chat": "agent"}}},
        {"name": "others", "when": {}, "then": {"role": "end-user"}},
    ],
}

MAPPING = {"kind": "/type", "employee_id": "/data/id", "email": "/data/work_email",
           "name": "/data/name", "department": "/data/department", "title": "/data/job_title",
           "kinds": {"employee.hired": "hire", "employee.terminated": "terminate",
                     "employee.rehired": "rehire"}}


class SnapshotTrust(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.zd = rhstack.FakeZendesk(seed=SEED)
        sources = {"hr": {"preset": "standard-webhooks", "normalizer": "generic",
                          "mapping": MAPPING, "secret_values": [HR_SECRET]}}
        cls.stack = rhstack.Stack(sources, extra={"zendesk": cls.zd.config(), "policy": POLICY})
        cls.stack.env.update(cls.zd.env())
        cls.stack.start()
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()
        cls.zd.stop()

    # ------------------------------------------------------------ helpers

    def hr(self, typ, emp, email, **data):
        SnapshotTrust.n += 1
        data.update({"id": emp, "work_email": email, "name": emp})
        body = json.dumps({"type": typ, "data": data}).encode()
        hdrs = sign("standard-webhooks", HR_SECRET, body, msg_id="msg_snap_%d" % self.n)
        st, _, rb = self.stack.post("hr", body, hdrs)
        self.assertEqual(st, 202, rb)
        return json.loads(rb)["id"]

    def work(self):
        r = self.stack.cli("work", "--until-idle", "--threads", "2", check=False)
        self.assertEqual(r.returncode, 0, r.stderr[-3000:])
        return r

    def event(self, eid):
        return json.loads(self.stack.cli("events", "show", str(eid)).stdout)

    def user(self, email):
        for u in self.zd.state()["users"]:
            if u["email"] == email:
                return u
        self.fail("no Zendesk user " + email)

    def groups(self, uid):
        return sorted(m["group_id"] for m in self.zd.state()["memberships"] if m["user_id"] == uid)

    def ents(self, uid):
        return {p: v["name"] for p, v in self.zd.state()["entitlements"].get(str(uid), {}).items()
                if v.get("is_active")}

    def snapshot_row(self, emp):
        """(key, snapshot doc) of the person's subjects row, read as any
        process with the store's file could."""
        db = sqlite3.connect(self.stack.db, timeout=10)
        try:
            rows = db.execute("SELECT key, snapshot FROM subjects WHERE key LIKE ?",
                              ("%" + emp,)).fetchall()
        finally:
            db.close()
        self.assertEqual(len(rows), 1, rows)
        self.assertIsNotNone(rows[0][1], "work stored no snapshot at the leave")
        return rows[0][0], json.loads(rows[0][1])

    def plant(self, key, doc):
        db = sqlite3.connect(self.stack.db, timeout=10)
        try:
            db.execute("PRAGMA busy_timeout=10000")
            with db:
                db.execute("UPDATE subjects SET snapshot = ? WHERE key = ?",
                           (json.dumps(doc), key))
        finally:
            db.close()

    def hire_and_leave(self, emp, email):
        e = self.hr("employee.hired", emp, email, department="Support",
                    job_title="Associate Agent")
        self.work()
        self.assertEqual(self.event(e)["state"], "done", self.event(e))
        u = self.user(email)
        self.assertEqual((u["role"], u["custom_role_id"]), ("agent", 101))
        self.assertEqual(self.groups(u["id"]), [201])
        e = self.hr("employee.terminated", emp, email)
        self.work()
        self.assertEqual(self.event(e)["state"], "done", self.event(e))
        u = self.user(email)
        self.assertEqual((u["role"], u["suspended"]), ("end-user", True))
        return u["id"]

    def why(self, uid):
        js = [json.loads(line) for line in
              self.stack.cli("why", str(uid), "--format", "json").stdout.splitlines()]
        table = self.stack.cli("why", str(uid), "--format", "table").stdout
        return js, table

    # -------------------------------------------------------------- tests

    def test_planted_admin_snapshot_is_not_restored(self):
        email = "mallory@example.com"
        uid = self.hire_and_leave("E-PLANT", email)
        key, snap = self.snapshot_row("E-PLANT")
        self.assertEqual(snap["user"]["role"], "agent", snap)

        # A compromised serve rewrites the snapshot: admin (Zendesk wants
        # no custom role on an admin), a group and products no rule gives
        # this person.
        snap["user"]["role"] = "admin"
        snap["user"]["custom_role_id"] = None
        snap["group_memberships"] = {"group_memberships": [
            {"id": 1, "user_id": uid, "group_id": 201},
            {"id": 2, "user_id": uid, "group_id": 203}]}
        snap["entitlements"] = {"entitlements": {
            "chat": {"name": "agent", "is_active": True},
            "talk": {"name": "admin", "is_active": True},
            "explore": {"name": "admin", "is_active": True}}}
        self.plant(key, snap)

        e = self.hr("employee.rehired", "E-PLANT", email, department="Support",
                    job_title="Associate Agent")
        r = self.work()
        u = self.user(email)
        self.assertNotEqual(u["role"], "admin", u)
        ev = self.event(e)
        self.assertEqual(ev["state"], "done", ev)
        self.assertEqual((u["role"], u["custom_role_id"], u["suspended"]), ("agent", 101, False))
        self.assertEqual(self.groups(uid), [201])
        self.assertEqual(self.ents(uid), {"support": "custom_101", "chat": "agent"})
        self.assertIn("rehire snapshot clamped by policy", r.stderr)

        # why: every restored value with its source, and what was dropped.
        js, table = self.why(uid)
        rehire = [l for l in js if l["event_id"] == e]
        self.assertTrue(rehire, js)
        for l in rehire:
            self.assertEqual(l["rule"], "tier1", l)
            prov = l["provenance"]
            self.assertEqual(prov["rule"], "tier1")
            self.assertRegex(prov["snapshot_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
            self.assertIn("role: agent (rule tier1)", prov["fields"])
            self.assertIn('custom_role: "Tier 1" (rule tier1)', prov["fields"])
            self.assertIn('groups: ["Tier 1"] (snapshot, within rule tier1)', prov["fields"])
            self.assertIn("entitlements.chat: agent (snapshot, within rule tier1)",
                          prov["fields"])
            self.assertIn("snapshot role admin ignored: rule tier1 grants agent",
                          prov["ignored"])
            self.assertIn('snapshot group 203 ("Payroll escalations") ignored: not among '
                          "rule tier1's groups", prov["ignored"])
            self.assertIn("snapshot entitlements.talk admin ignored: rule tier1 turns talk off",
                          prov["ignored"])
        # Earlier rows (hire, leave) carry no provenance.
        self.assertTrue(all(l["provenance"] is None for l in js if l["event_id"] != e))
        self.assertIn("rehire restored from the snapshot of ", table)
        self.assertIn("    role: agent (rule tier1)\n", table)
        self.assertIn("    ignored: snapshot role admin ignored: rule tier1 grants agent\n", table)
        self.assertEqual(table.count("rehire restored from the snapshot"), 1, table)

    def test_planted_custom_role_is_not_restored(self):
        email = "trent@example.com"
        uid = self.hire_and_leave("E-ROLE", email)
        key, snap = self.snapshot_row("E-ROLE")
        snap["user"]["custom_role_id"] = 102
        self.plant(key, snap)
        e = self.hr("employee.rehired", "E-ROLE", email, department="Support",
                    job_title="Associate Agent")
        self.work()
        u = self.user(email)
        self.assertEqual((u["role"], u["custom_role_id"]), ("agent", 101), u)
        self.assertEqual(self.event(e)["state"], "done", self.event(e))
        js, _ = self.why(uid)
        prov = [l["provenance"] for l in js if l["event_id"] == e]
        self.assertTrue(prov, js)
        self.assertIn('snapshot custom role 102 ("Team lead") ignored: rule tier1 '
                      'grants "Tier 1"', prov[0]["ignored"])

    def test_planted_snapshot_for_an_end_user_rehire_grants_nothing(self):
        email = "eve@example.com"
        uid = self.hire_and_leave("E-EU", email)
        key, snap = self.snapshot_row("E-EU")
        snap["user"]["role"] = "admin"
        snap["user"]["custom_role_id"] = None
        self.plant(key, snap)
        # Rehired outside Support: rule "others" gives end-user.
        e = self.hr("employee.rehired", "E-EU", email, department="Finance", job_title="Clerk")
        self.work()
        u = self.user(email)
        self.assertEqual((u["role"], u["suspended"]), ("end-user", False))
        self.assertEqual(self.event(e)["state"], "done", self.event(e))
        self.assertEqual(self.groups(uid), [])
        self.assertEqual(self.ents(uid), {})

    def test_legit_snapshot_still_restores(self):
        email = "lee@example.com"
        uid = self.hire_and_leave("E-LEGIT", email)
        e = self.hr("employee.rehired", "E-LEGIT", email, department="Support",
                    job_title="Associate Agent")
        r = self.work()
        self.assertEqual(self.event(e)["state"], "done", self.event(e))
        u = self.user(email)
        self.assertEqual((u["role"], u["custom_role_id"], u["suspended"]), ("agent", 101, False))
        self.assertEqual(self.groups(uid), [201])
        self.assertEqual(self.ents(uid), {"support": "custom_101", "chat": "agent"})
        self.assertNotIn("rehire snapshot clamped by policy", r.stderr)
        js, _ = self.why(uid)
        prov = [l["provenance"] for l in js if l["event_id"] == e]
        self.assertTrue(prov, js)
        self.assertEqual(prov[0]["ignored"], [])
        self.assertIn('groups: ["Tier 1"] (snapshot, within rule tier1)', prov[0]["fields"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
