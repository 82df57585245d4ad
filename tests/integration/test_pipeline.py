"""The whole pipeline: signed HR webhooks through nginx into rolehook
serve, then rolehook work applies them to the fake Zendesk.  Hire, move,
leave, rehire; echo and drift from Zendesk's own events; a protected
user; re-running changes nothing; `why` shows the lineage."""
import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rhstack  # noqa: E402
from rhstack import sign  # noqa: E402

HR_SECRET = "whsec_" + "cGlwZWxpbmUtdGVzdC1zZWNyZXQtMDEyMzQ1Njc4OQ=="
ZD_SECRET = "pipeline-zendesk-webhook-secret"

SEED = {
    "custom_roles": [{"id": 101, "name": "Tier 1", "description": "first line",
                      "configuration": {"ticket_editing": True}},
                     {"id": 102, "name": "Team lead", "description": "leads",
                      "configuration": {"ticket_editing": True}}],
    "groups": [{"id": 201, "name": "Tier 1"}, {"id": 202, "name": "Leads"}],
    "users": [{"id": 9001, "name": "Owner", "email": "owner@example.com", "role": "admin"}],
}

POLICY = {
    "match_users_by": ["external_id", "email"],
    "protected": ["owner@example.com"],
    "rules": [
        {"name": "tier1", "when": {"department": "Support", "title": {"prefix": "Associate"}},
         "then": {"role": "agent", "custom_role": "Tier 1", "groups": ["Tier 1"],
                  "entitlements": {"talk": "agent", "chat": "agent"}}},
        {"name": "leads", "when": {"department": "Support", "title": {"in": ["Lead", "Manager"]}},
         "then": {"role": "agent", "custom_role": "Team lead", "groups": ["Leads"],
                  "entitlements": {"explore": "editor", "chat": "agent"}}},
        {"name": "others", "when": {}, "then": {"role": "end-user"}},
    ],
    "leaver": {"steps": ["entitlements_off", "downgrade", "suspend"]},
}

MAPPING = {"kind": "/type", "employee_id": "/data/id", "email": "/data/work_email",
           "name": "/data/name", "department": "/data/department", "title": "/data/job_title",
           "kinds": {"employee.hired": "hire", "employee.updated": "update",
                     "employee.terminated": "terminate", "employee.rehired": "rehire"}}


class Pipeline(rhstack.StackCase):
    @classmethod
    def setUpClass(cls):
        cls.zd = rhstack.FakeZendesk(seed=SEED)
        sources = {"hr": rhstack.hr_source(MAPPING, HR_SECRET),
                   "zendesk": {"preset": "zendesk", "secret_values": [ZD_SECRET]}}
        cls.stack = rhstack.zendesk_stack(cls.zd, sources, POLICY)
        cls.n = 0

    def hr(self, typ, **data):
        Pipeline.n += 1
        data.setdefault("id", "E-1")
        data.setdefault("work_email", "lee@example.com")
        data.setdefault("name", "Lee Example")
        body = json.dumps({"type": typ, "data": data}).encode()
        hdrs = sign("standard-webhooks", HR_SECRET, body, msg_id="msg_pipe_%d" % self.n)
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
        return None

    def ents(self, uid):
        return {p: v["name"] for p, v in self.zd.state()["entitlements"].get(str(uid), {}).items()
                if v.get("is_active")}

    def test_1_hire_move_leave_rehire(self):
        seats0 = self.zd.state()["seats"]
        mark = (self.zd.requests()["requests"] or [{"seq": 0}])[-1]["seq"]
        e = self.hr("employee.hired", department="Support", job_title="Associate Agent")
        self.work()
        ev = self.event(e)
        self.assertEqual(ev["state"], "done", ev)
        # A hire is two writes: one POST carrying role, custom role and
        # groups (UserCreateInput.group_ids), then the products.  (It was
        # four: create, membership POST per group, products.)
        writes = [(r["method"], r["path"], r["body"])
                  for r in self.zd.requests(mark)["requests"] if r["method"] != "GET"]
        self.assertEqual([w[:2] for w in writes], [
            ("POST", "/api/v2/users.json"),
            ("PUT", "/api/admin/private/staff/%d/entitlements" % self.user("lee@example.com")["id"])])
        self.assertEqual({k: writes[0][2]["user"][k] for k in ("role", "custom_role_id", "group_ids")},
                         {"role": "agent", "custom_role_id": 101, "group_ids": [201]})
        u = self.user("lee@example.com")
        self.assertEqual((u["role"], u["custom_role_id"], u["external_id"]), ("agent", 101, "E-1"))
        self.assertEqual(self.ents(u["id"]), {"support": "custom_101", "talk": "agent", "chat": "agent"})
        st = self.zd.state()
        self.assertEqual([m["group_id"] for m in st["memberships"] if m["user_id"] == u["id"]], [201])
        self.assertEqual(st["seats"]["talk"], seats0["talk"] + 1)

        # Re-running writes nothing: the plan comes from fresh state.
        before = len(self.zd.requests()["requests"])
        self.work()
        writes = [r for r in self.zd.requests()["requests"][before:] if r["method"] != "GET"]
        self.assertEqual(writes, [])

        # Move: promoted to lead.
        before = len(self.zd.requests()["requests"])
        e = self.hr("employee.updated", department="Support", job_title="Lead")
        self.work()
        self.assertEqual(self.event(e)["state"], "done")
        # Current product access is the official read; the private endpoint
        # is only written (the fake refuses anything else: OpenAPI check).
        moved = self.zd.requests()["requests"][before:]
        self.assertIn(("GET", "/api/v2/users/%d/entitlements/full" % u["id"]),
                      [(r["method"], r["path"]) for r in moved])
        self.assertFalse([r for r in moved if r["path"].startswith("/api/admin/") and
                          r["method"] == "GET"])
        u = self.user("lee@example.com")
        self.assertEqual((u["role"], u["custom_role_id"]), ("agent", 102))
        self.assertEqual(self.ents(u["id"]), {"support": "custom_102", "explore": "editor", "chat": "agent"})

        # Leave: entitlements off, then ONE user PUT {role: end-user,
        # suspended: true}: the seat is freed and the user suspended at
        # once, so "downgrade before suspend" holds in effect.  (It was
        # two PUTs: the downgrade, then the suspension.)
        mark = self.zd.requests()["requests"][-1]["seq"]
        e = self.hr("employee.terminated")
        self.work()
        self.assertEqual(self.event(e)["state"], "done")
        writes = [(r["method"], r["path"], r["body"])
                  for r in self.zd.requests(mark)["requests"] if r["method"] != "GET"]
        uid = u["id"]
        self.assertEqual([w[:2] for w in writes], [
            ("PUT", "/api/admin/private/staff/%d/entitlements" % uid),
            ("PUT", "/api/v2/users/%d.json" % uid)])
        self.assertEqual(writes[1][2], {"user": {"role": "end-user", "suspended": True}})
        u = self.user("lee@example.com")
        self.assertEqual((u["role"], u["suspended"]), ("end-user", True))
        st = self.zd.state()
        self.assertEqual(st["seats"], seats0)

        # Rehire inside the window: the access held at leave time comes
        # back.  One user PUT carries role, custom role and suspended
        # false (it was an unsuspend PUT, then a role PUT); the group
        # membership and the products follow.
        mark = self.zd.requests()["requests"][-1]["seq"]
        e = self.hr("employee.rehired", department="Support", job_title="Lead")
        self.work()
        self.assertEqual(self.event(e)["state"], "done", self.event(e))
        writes = [(r["method"], r["path"], r["body"])
                  for r in self.zd.requests(mark)["requests"] if r["method"] != "GET"]
        self.assertEqual([w[:2] for w in writes], [
            ("PUT", "/api/v2/users/%d.json" % uid), ("POST", "/api/v2/group_memberships.json"),
            ("PUT", "/api/admin/private/staff/%d/entitlements" % uid)])
        self.assertEqual(writes[0][2], {"user": {"role": "agent", "custom_role_id": 102,
                                                 "suspended": False}})
        u = self.user("lee@example.com")
        self.assertEqual((u["role"], u["custom_role_id"], u["suspended"]), ("agent", 102, False))
        self.assertEqual(self.zd.state()["legacy_events"], [])

        # why: the lineage of Lee's access, from the audit trail.
        lines = [json.loads(l) for l in self.stack.cli("why", str(uid), "--format", "json").stdout.splitlines()]
        actions = [l["action"] for l in lines]
        self.assertIn("create", actions)
        self.assertIn("downgrade_suspend", actions)
        self.assertTrue(all(200 <= l["http_status"] < 300 for l in lines), lines)
        self.assertIn("(leaver)", [l["rule"] for l in lines])
        self.assertTrue(all(len(l["policy_hash"]) == 64 for l in lines))
        self.assertIn("tier1", [l["rule"] for l in lines])

    def test_2_protected_user_never_touched(self):
        mark = self.zd.requests()["requests"][-1]["seq"]
        e = self.hr("employee.terminated", id="E-OWNER", work_email="owner@example.com")
        self.work()
        ev = self.event(e)
        self.assertEqual(ev["state"], "done")
        writes = [r for r in self.zd.requests(mark)["requests"] if r["method"] != "GET"]
        self.assertEqual(writes, [])
        self.assertEqual(self.user("owner@example.com")["role"], "admin")

    def test_3_zendesk_echo_and_drift(self):
        u = self.user("lee@example.com")
        self.assertIsNotNone(u)

        def zd_event(eid, typ, prev, cur):
            body = json.dumps({"id": eid, "type": "zen:event-type:user." + typ,
                               "subject": "zen:user:%d" % u["id"], "time": rhstack.rfc3339(time.time()),
                               "account_id": 1, "zendesk_event_version": "2022-11-06",
                               "detail": {"id": str(u["id"]), "email": u["email"], "role": cur},
                               "event": {"previous": prev, "current": cur}}).encode()
            st, _, rb = self.stack.post("zendesk", body, sign("zendesk", ZD_SECRET, body))
            self.assertEqual(st, 202, rb)
            return json.loads(rb)["id"]
        # rolehook just made Lee an agent again: that event is its echo.
        echo = zd_event("01ECHO", "role_changed", "end-user", "agent")
        drift = zd_event("01DRIFT", "role_changed", "agent", "admin")
        r = self.work()
        self.assertIn("echo of rolehook's own write", self.event(echo)["last_error"])
        self.assertIn("drift", self.event(drift)["last_error"])
        self.assertIn('"msg":"drift"', r.stderr)

    def test_4_bad_input_is_a_dead_letter(self):
        body = json.dumps({"type": "employee.hired", "data": {"id": ["not", "a", "string"]}}).encode()
        hdrs = sign("standard-webhooks", HR_SECRET, body, msg_id="msg_pipe_bad")
        st, _, rb = self.stack.post("hr", body, hdrs)
        self.assertEqual(st, 202)
        eid = json.loads(rb)["id"]
        self.work()
        ev = self.event(eid)
        self.assertEqual(ev["state"], "dead")
        self.assertIn("normaliser generic", ev["last_error"])
        dead = self.stack.cli("events", "dead", "--format", "json").stdout
        self.assertIn('"id":%d' % eid, dead)

    def test_5_replay_writes_nothing_new(self):
        # Replay re-plans each person's newest event from fresh Zendesk
        # state: the people are already where those events put them.
        r = self.stack.cli("events", "replay", "--since", "0", "--dry-run")
        n = int(r.stdout.split()[1])
        self.assertGreaterEqual(n, 3)
        r = self.stack.cli("events", "replay", "--since", "1970-01-01T00:00:00Z")
        self.assertIn("%d events received since" % n, r.stdout)
        mark = self.zd.requests()["requests"][-1]["seq"]
        before = self.zd.state()
        self.work()
        writes = [q for q in self.zd.requests(mark)["requests"] if q["method"] != "GET"]
        after = self.zd.state()
        self.assertEqual([(q["method"], q["path"], q["body"]) for q in writes], [])
        self.assertEqual(after["users"], before["users"])
        self.assertEqual(after["seats"], before["seats"])
        # Only the dead letter stays dead; everything else is done again.
        left = self.stack.cli("events", "list", "--format", "json").stdout.splitlines()
        states = sorted({json.loads(l)["state"] for l in left})
        self.assertEqual(states, ["dead", "done", "ignored"] if any(
            json.loads(l)["state"] == "ignored" for l in left) else ["dead", "done"])
        self.assertEqual(writes, [], writes)

    def second_worker_while_first_runs(self, r):
        """SQLite: the store's lock file refuses a second worker."""
        self.assertEqual(r.returncode, 1)
        self.assertIn("another rolehook work is running", r.stderr)

    def test_6_one_worker_per_store(self):
        import signal
        import subprocess
        logp = os.path.join(self.stack.tmp, "first-work.log")
        log = open(logp, "wb")
        first = subprocess.Popen([self.stack.bin, "work", "--config", self.stack.cfg_path],
                                 env=self.stack.env, stdout=log, stderr=log)
        try:
            rhstack.wait_for(lambda: b"worker started" in open(logp, "rb").read(), 30,
                             "the first worker")
            self.second_worker_while_first_runs(
                self.stack.cli("work", "--until-idle", check=False))
        finally:
            first.send_signal(signal.SIGTERM)
            self.assertEqual(first.wait(30), 0)
            log.close()
        self.work()  # the lock went with the first worker

    def test_7_replay_preview_with_a_new_policy(self):
        newpol = json.loads(json.dumps(POLICY))
        newpol["rules"][1]["then"]["custom_role"] = "Tier 1"   # leads demoted to Tier 1
        path = os.path.join(self.stack.tmp, "new-policy.json")
        with open(path, "w") as f:
            json.dump({"policy": newpol}, f)
        before = self.stack.cli("events", "list", "--format", "json").stdout
        r = self.stack.cli("events", "replay", "--since", "0", "--policy", path)
        lines = [json.loads(l) for l in r.stdout.splitlines()]
        self.assertEqual([l["subject"] for l in lines], ["generic:E-1"])
        self.assertEqual(lines[0]["now"]["desired"]["custom_role"], "Team lead")
        self.assertEqual(lines[0]["with_new_policy"]["desired"]["custom_role"], "Tier 1")
        self.assertIn("1 would change", r.stderr)
        # A preview changes nothing.
        self.assertEqual(self.stack.cli("events", "list", "--format", "json").stdout, before)
        bad = os.path.join(self.stack.tmp, "bad-policy.json")
        with open(bad, "w") as f:
            f.write('{"rules": "nope"}')
        r = self.stack.cli("events", "replay", "--since", "0", "--policy", bad, check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("policy.rules", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
