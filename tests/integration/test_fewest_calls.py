"""The fewest Zendesk calls for a bulk change: 150 hires of new people and
150 terminations of existing agents, due at once, applied by one
`rolehook work --until-idle`.

- The users are read with GET /api/v2/users/show_many.json?external_ids=
  (up to 100 a request), not one search per person: user reads are at
  most ceil(n/100) plus a few.
- A hire writes twice: POST /api/v2/users.json with role, custom_role_id
  and group_ids, then the products PUT.
- A leave writes twice: products off, then one user update {"role":
  "end-user", "suspended": true} -- the leavers' updates of worker threads
  that reach it together go out as one PUT /api/v2/users/update_many.json
  (combine.h), whose job rolehook waits for: far fewer user PUTs than
  leavers, and each leaver's update in exactly one of them.
- Everyone ends where policy puts them; no agent without a custom role.
"""
import collections
import json
import math
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rhstack  # noqa: E402
from rhstack import sign  # noqa: E402
from test_pipeline import MAPPING, POLICY  # noqa: E402

SECRET = "whsec_" + "ZmV3ZXN0LWNhbGxzLXRlc3Qtc2VjcmV0LTAxMjM0NTY3"
N = 150
BASE_ID = 500000

SEED = {
    "custom_roles": [{"id": 101, "name": "Tier 1", "configuration": {"ticket_editing": True}},
                     {"id": 102, "name": "Team lead", "configuration": {"ticket_editing": True}}],
    "groups": [{"id": 201, "name": "Tier 1"}, {"id": 202, "name": "Leads"}],
    "users": [{"id": 9001, "name": "Owner", "email": "owner@example.com", "role": "admin"}] + [
        {"id": BASE_ID + i, "name": "Old %d" % i, "email": "old%03d@example.com" % i,
         "external_id": "L-%03d" % i, "role": "agent", "custom_role_id": 101}
        for i in range(N)],
    "memberships": [{"user_id": BASE_ID + i, "group_id": 201} for i in range(N)],
    "entitlements": {str(BASE_ID + i): {"chat": {"name": "agent", "is_active": True},
                                        "talk": {"name": "agent", "is_active": True}}
                     for i in range(N)},
}

USER_PUT = re.compile(r"^/api/v2/users/(\d+)\.json$")
UPDATE_MANY = "/api/v2/users/update_many.json"
USER_PUT_PATH = "/api/v2/users/%d.json"
ENT_PUT = re.compile(r"^/api/admin/private/staff/(\d+)/entitlements$")


class FewestCalls(unittest.TestCase):
    def test_bulk_hires_and_leaves(self):
        zd = rhstack.FakeZendesk(seed=SEED, rate_limit=100000)
        st = rhstack.hr_stack(zd, MAPPING, SECRET, POLICY, log_level="warn")
        try:
            n = 0
            for i in range(N):
                for typ, data in (
                        ("employee.hired", {"id": "H-%03d" % i, "work_email": "new%03d@example.com" % i,
                                            "name": "New %d" % i, "department": "Support",
                                            "job_title": "Associate Agent"}),
                        ("employee.terminated", {"id": "L-%03d" % i,
                                                 "work_email": "old%03d@example.com" % i,
                                                 "name": "Old %d" % i})):
                    n += 1
                    body = json.dumps({"type": typ, "data": data}).encode()
                    code, _, rb = st.post("hr", body, sign("standard-webhooks", SECRET, body,
                                                           msg_id="msg_fewest_%d" % n))
                    self.assertEqual(code, 202, rb)
            seq0 = (zd.requests()["requests"] or [{"seq": 0}])[-1]["seq"]
            r = st.cli("work", "--until-idle", "--threads", "8", "--log-level", "error", check=False,
                       timeout=600)
            self.assertEqual(r.returncode, 0, r.stderr[-3000:])
            reqs = zd.requests(seq0)["requests"]
            state = zd.state()
        finally:
            st.stop()
            zd.stop()

        # Reads of users: show_many batches, not one search per person.
        user_reads = [q for q in reqs if q["method"] == "GET" and q["path"].startswith("/api/v2/users")
                      and "/group_memberships" not in q["path"] and "/entitlements" not in q["path"]]
        show_many = [q for q in user_reads if q["path"].startswith("/api/v2/users/show_many")]
        self.assertGreaterEqual(len(show_many), math.ceil(2 * N / 100), user_reads[:5])
        self.assertLessEqual(len(user_reads), math.ceil(2 * N / 100) + 4,
                             [(q["path"], q.get("query")) for q in user_reads][:20])

        users = {u["id"]: u for u in state["users"]}
        by_email = {u["email"]: u for u in state["users"]}
        members = collections.defaultdict(list)
        for m in state["memberships"]:
            members[m["user_id"]].append(m["group_id"])
        ents = state["entitlements"]

        # Writes per person; a bulk update counts for each user it carries.
        per_user = collections.defaultdict(list)
        creates = bulk = 0
        for q in reqs:
            if q["method"] == "GET":
                continue
            if q["method"] == "PUT" and q["path"] == UPDATE_MANY:
                bulk += 1
                self.assertEqual(q["status"], 200, q)
                for item in q["body"]["users"]:
                    fields = {k: v for k, v in item.items() if k != "id"}
                    per_user[item["id"]].append((USER_PUT_PATH % item["id"], {"user": fields}))
                continue
            if q["method"] == "POST" and q["path"] == "/api/v2/users.json":
                creates += 1
                u = by_email[q["body"]["user"]["email"]]
                self.assertEqual({k: q["body"]["user"].get(k) for k in ("role", "custom_role_id", "group_ids")},
                                 {"role": "agent", "custom_role_id": 101, "group_ids": [201]})
                per_user[u["id"]].append(("create", q["body"]))
                continue
            m = USER_PUT.match(q["path"]) or ENT_PUT.match(q["path"])
            self.assertIsNotNone(m, "unexpected write %s %s" % (q["method"], q["path"]))
            per_user[int(m.group(1))].append((q["path"], q["body"]))
        self.assertEqual(creates, N)
        # The leavers' updates went out in bulk, and rolehook waited for
        # each job (the fake runs a job only when it is polled).
        user_puts = [q for q in reqs if q["method"] == "PUT" and USER_PUT.match(q["path"])]
        self.assertGreater(bulk, 0)
        self.assertLess(bulk + len(user_puts), N // 2, (bulk, len(user_puts)))
        self.assertEqual([j["status"] for j in state["jobs"] if j["status"] != "completed"], [])
        for i in range(N):
            hired = by_email["new%03d@example.com" % i]
            self.assertEqual(len(per_user[hired["id"]]), 2, per_user[hired["id"]])
            self.assertEqual((hired["role"], hired["custom_role_id"], hired["external_id"], hired["suspended"]),
                             ("agent", 101, "H-%03d" % i, False))
            self.assertEqual(members[hired["id"]], [201])
            self.assertEqual({p for p, v in ents.get(str(hired["id"]), {}).items() if v["is_active"]},
                             {"support", "chat", "talk"})
            left = users[BASE_ID + i]
            w = per_user[left["id"]]
            self.assertEqual(len(w), 2, w)
            self.assertTrue(ENT_PUT.match(w[0][0]), w)
            self.assertEqual(w[1][1], {"user": {"role": "end-user", "suspended": True}})
            self.assertEqual((left["role"], left["suspended"]), ("end-user", True))
            self.assertEqual(members.get(left["id"], []), [])
            self.assertEqual([p for p, v in ents.get(str(left["id"]), {}).items() if v["is_active"]], [])
        # Never an agent without a custom role, never a legacy agent.
        self.assertEqual(state["legacy_events"], [])
        self.assertEqual([u["id"] for u in state["users"]
                          if u["role"] == "agent" and u.get("custom_role_id") is None], [])
        self.assertEqual(users[9001]["role"], "admin")


    def test_bulk_moves(self):
        """A reorg: N agents move from Tier 1 to Leads at once.  Each
        person's role change, new membership and old membership's removal
        go out in bulk with other people's (update_many, create_many,
        destroy_many), each job is waited for -- also one that takes a
        while, and one that fails, whose people are tried again -- and
        everyone ends in Leads only, with the lead's role, and `why`
        names the bulk request that carried each change."""
        n = 60
        zd = rhstack.FakeZendesk(seed=SEED, rate_limit=100000)
        st = rhstack.hr_stack(zd, MAPPING, SECRET, POLICY, log_level="warn")
        try:
            zd.control("POST", "/__fake/config", {"job_delay_s": 0.3, "job_fail_next": 1})
            for i in range(n):
                body = json.dumps({"type": "employee.updated", "data": {
                    "id": "L-%03d" % i, "work_email": "old%03d@example.com" % i, "name": "Old %d" % i,
                    "department": "Support", "job_title": "Lead"}}).encode()
                code, _, rb = st.post("hr", body, sign("standard-webhooks", SECRET, body,
                                                       msg_id="msg_move_%d" % i))
                self.assertEqual(code, 202, rb)
            r = st.cli("work", "--until-idle", "--threads", "8", "--retry-base", "1",
                       "--log-level", "info", check=False, timeout=600)
            self.assertEqual(r.returncode, 0, r.stderr[-3000:])
            events = [json.loads(l) for l in st.cli("events", "list", "--format", "json").stdout.splitlines()]
            why = [json.loads(l) for l in st.cli("why", str(BASE_ID), "--format", "json").stdout.splitlines()]
            reqs = zd.requests()["requests"]
            state = zd.state()
        finally:
            st.stop()
            zd.stop()
        self.assertEqual(collections.Counter(e["state"] for e in events), {"done": n}, events[:3])
        users = {u["id"]: u for u in state["users"]}
        members = collections.defaultdict(list)
        for m in state["memberships"]:
            members[m["user_id"]].append(m["group_id"])
        for i in range(n):
            u = users[BASE_ID + i]
            self.assertEqual((u["role"], u["custom_role_id"]), ("agent", 102), u)
            self.assertEqual(members[BASE_ID + i], [202], i)
        for i in range(n, N):  # not moved
            self.assertEqual(members[BASE_ID + i], [201])
        self.assertEqual(state["legacy_events"], [])
        count = collections.Counter((q["method"], q["path"]) for q in reqs if q["method"] != "GET")
        bulk = (count[("PUT", "/api/v2/users/update_many.json")] +
                count[("POST", "/api/v2/group_memberships/create_many.json")] +
                count[("DELETE", "/api/v2/group_memberships/destroy_many.json")])
        single = sum(v for (m, p), v in count.items()
                     if USER_PUT.match(p) or p == "/api/v2/group_memberships.json" or
                     re.match(r"^/api/v2/group_memberships/\d+\.json$", p))
        # 3 writes a person, 180 as single requests; in bulk far fewer.
        self.assertLess(bulk + single, 3 * n // 2, count)
        self.assertGreater(bulk, 0)
        polls = [q for q in reqs if q["path"].startswith("/api/v2/job_statuses/")]
        self.assertGreater(len(polls), 0)
        # Every job whose work rolehook needs ran (destroy_many removes at
        # once; its job only unassigns tickets and is not waited for).
        self.assertEqual([j["status"] for j in state["jobs"] if j["status"] not in ("completed", "failed")
                          and j["job_type"] != "Bulk Delete Memberships"], [])
        self.assertEqual(len([j for j in state["jobs"] if j["status"] == "failed"]), 1)
        self.assertIn('"msg":"bulk writes"', r.stderr)
        # why: the changes and the bulk request that carried them.
        reqs_why = [w.get("request") or "" for w in why]
        self.assertTrue(any(" via " in x and "_many.json" in x for x in reqs_why), why)

    def test_hire_of_someone_known_by_email_only(self):
        """show_many finds nobody with the external id and the e-mail is
        not searched first: the create is the check.  Zendesk refuses a
        second user with that e-mail (422), and the same attempt finds the
        person by e-mail and plans again: no duplicate, done in one run."""
        seed = {"custom_roles": SEED["custom_roles"], "groups": SEED["groups"],
                "users": [{"id": 7001, "name": "Pre", "email": "pre@example.com", "role": "end-user"},
                          {"id": 7002, "name": "Other", "email": "other@example.com", "role": "end-user",
                           "external_id": "X-2"}]}
        zd = rhstack.FakeZendesk(seed=seed)
        st = rhstack.hr_stack(zd, MAPPING, SECRET, POLICY, log_level="warn")
        try:
            for n, (xid, email) in enumerate((("H-PRE", "pre@example.com"), ("X-2", "other@example.com"))):
                body = json.dumps({"type": "employee.hired", "data": {
                    "id": xid, "work_email": email, "name": "P", "department": "Support",
                    "job_title": "Associate Agent"}}).encode()
                code, _, rb = st.post("hr", body, sign("standard-webhooks", SECRET, body,
                                                       msg_id="msg_pre_%d" % n))
                self.assertEqual(code, 202, rb)
            r = st.cli("work", "--until-idle", "--log-level", "error", check=False)
            self.assertEqual(r.returncode, 0, r.stderr[-3000:])
            events = [json.loads(l) for l in st.cli("events", "list", "--format", "json").stdout.splitlines()]
            state = zd.state()
            reqs = zd.requests()["requests"]
        finally:
            st.stop()
            zd.stop()
        self.assertEqual(sorted(e["state"] for e in events), ["done", "done"], events)
        users = [u for u in state["users"] if u["email"] in ("pre@example.com", "other@example.com")]
        self.assertEqual(len(users), 2)
        for u in users:
            self.assertEqual((u["role"], u["custom_role_id"]), ("agent", 101), u)
        # The one refused create (pre@example.com has no external id).
        self.assertEqual([(q["body"]["user"]["email"], q["status"]) for q in reqs
                          if q["method"] == "POST" and q["path"] == "/api/v2/users.json"],
                         [("pre@example.com", 422)])


if __name__ == "__main__":
    unittest.main(verbosity=2)
