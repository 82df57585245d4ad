"""A BambooHR field-based delivery carrying several employees
({"employees": [...]}) through nginx into rolehook serve; rolehook work
splits it into one event per person (in order) and applies each one.  The
parent is done with a note naming its children; a resend is a duplicate
and changes nothing; `simulate` prints one plan per person."""
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rhstack  # noqa: E402
from rhstack import sign  # noqa: E402

SECRET = rhstack.SECRETS["bamboohr"]

SEED = {
    "custom_roles": [{"id": 101, "name": "Tier 1", "description": "first line",
                      "configuration": {"ticket_editing": True}}],
    "groups": [{"id": 201, "name": "Tier 1"}],
    "users": [{"id": 9001, "name": "Owner", "email": "owner@example.com", "role": "admin"}],
}

POLICY = {
    "match_users_by": ["external_id", "email"],
    "protected": ["owner@example.com"],
    "rules": [
        {"name": "tier1", "when": {"department": "Support", "title": {"prefix": "Associate"}},
         "then": {"role": "agent", "custom_role": "Tier 1", "groups": ["Tier 1"]}},
        {"name": "others", "when": {}, "then": {"role": "end-user"}},
    ],
    "leaver": {"steps": ["downgrade", "suspend"]},
}

PEOPLE = [("12401", "Ana", "Silva", "Associate Support Specialist", "Support"),
          ("12402", "Ben", "Okafor", "Associate Support Engineer", "Support"),
          ("12403", "Chloe", "Martin", "Associate Support Analyst", "Support")]


def email(first, last):
    return "%s.%s@example.com" % (first.lower(), last.lower())


def batch_body():
    emps = []
    for eid, first, last, title, dept in PEOPLE:
        emps.append({"action": "Created", "changedFields": [], "id": eid,
                     "timestamp": "2026-01-20T10:00:00+0000",
                     "fields": {"First Name": first, "Last Name": last,
                                "Work Email": email(first, last), "Job Title": title,
                                "Department": dept, "Location": "Lisbon",
                                "Hire Date": "2026-01-19", "Status": "Active",
                                "Employment Status": "Full-Time"}})
    return json.dumps({"employees": emps}).encode()


class BambooBatch(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.zd = rhstack.FakeZendesk(seed=SEED)
        sources = {"bamboohr": {"preset": "bamboohr", "normalizer": "bamboohr",
                                "secret_values": [SECRET]}}
        cls.stack = rhstack.Stack(sources, extra={"zendesk": cls.zd.config(), "policy": POLICY})
        cls.stack.env.update(cls.zd.env())
        cls.stack.start()

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()
        cls.zd.stop()

    def work(self):
        r = self.stack.cli("work", "--until-idle", "--threads", "2", check=False)
        self.assertEqual(r.returncode, 0, r.stderr[-3000:])

    def event(self, eid):
        return json.loads(self.stack.cli("events", "show", str(eid)).stdout)

    def users(self):
        return {u["email"]: u for u in self.zd.state()["users"]}

    def test_1_batch_applies_every_person(self):
        body = batch_body()
        st, _, rb = self.stack.post("bamboohr", body, sign("bamboohr", SECRET, body))
        self.assertEqual(st, 202, rb)
        pid = json.loads(rb)["id"]
        self.work()

        parent = self.event(pid)
        self.assertEqual(parent["state"], "done", parent)
        self.assertEqual(parent["last_error"],
                         "batch of 3: events %d..%d" % (pid + 1, pid + 3))
        for i, (eid, first, last, _, _) in enumerate(PEOPLE):
            child = self.event(pid + 1 + i)
            self.assertEqual(child["state"], "done", child)
            self.assertEqual(child["batch_index"], i)
            self.assertEqual(child["delivery_id"], parent["delivery_id"] + "#%d" % i)
            self.assertEqual(child["subject"], "bamboohr:" + eid)

        users = self.users()
        for eid, first, last, _, dept in PEOPLE:
            u = users.get(email(first, last))
            self.assertIsNotNone(u, "%s not created" % email(first, last))
            self.assertEqual(u["external_id"], eid)
            self.assertEqual((u["role"], u["custom_role_id"]), ("agent", 101))

    def test_2_resend_is_a_duplicate_and_changes_nothing(self):
        body = batch_body()
        before_users = self.users()
        before_reqs = len(self.zd.requests()["requests"])
        # A retry from BambooHR: re-signed with a fresh timestamp.
        hdrs = sign("bamboohr", SECRET, body, ts=int(time.time()) + 1)
        st, _, rb = self.stack.post("bamboohr", body, hdrs)
        self.assertEqual(st, 200, rb)
        self.assertEqual(json.loads(rb)["status"], "duplicate")
        self.work()
        writes = [r for r in self.zd.requests()["requests"][before_reqs:] if r["method"] != "GET"]
        self.assertEqual(writes, [])
        self.assertEqual(self.users(), before_users)
        # Still one parent and three children, nothing split twice.
        db = sqlite3.connect(self.stack.db)
        try:
            rows = db.execute("SELECT batch_index, state FROM events ORDER BY id").fetchall()
        finally:
            db.close()
        self.assertEqual(rows, [(None, "done"), (0, "done"), (1, "done"), (2, "done")])

    def test_3_simulate_prints_one_plan_per_person(self):
        d = tempfile.mkdtemp(prefix="rolehook-batch-sim-")
        files = {"event": batch_body(),
                 "roles": json.dumps({"custom_roles": SEED["custom_roles"]}).encode(),
                 "groups": json.dumps({"groups": SEED["groups"]}).encode()}
        for k, v in files.items():
            with open(os.path.join(d, k + ".json"), "wb") as f:
                f.write(v)
        try:
            r = self.stack.cli("simulate", "--source", "bamboohr",
                               *[a for k in files for a in ("--" + k, os.path.join(d, k + ".json"))])
        finally:
            shutil.rmtree(d)
        plans = json.loads(r.stdout)
        self.assertIsInstance(plans, list)
        self.assertEqual(len(plans), 3)
        self.assertEqual([p["event"]["subject"] for p in plans],
                         ["bamboohr:" + p[0] for p in PEOPLE])
        self.assertEqual([p["rule"] for p in plans], ["tier1"] * 3)


if __name__ == "__main__":
    unittest.main(verbosity=2)
