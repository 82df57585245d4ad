"""rolehook report seats and rolehook roles sync against the fake Zendesk.

report: ~3000 seeded users (agents, admins, end-users; some suspended
agents; product entitlements for some, a few of them inactive).  CSV and
JSON list every agent and admin exactly once with the right custom role,
groups and product columns, totals and flags; --people and the store mark
leavers; product access comes from the official GET
/api/v2/users/{id}/entitlements/full (the private endpoint is never read);
entitlements off leaves the product columns empty and reads no product
access; 401 and an unreachable Zendesk exit 1.

roles sync: creates and updates the declared roles, --dry-run writes
nothing (asserted on the fake's request log), --prune deletes only extra
roles nobody holds and no policy rule names and refuses the others (a
policy that does not compile stops it before any request), read-only
configuration keys are refused before any request."""
import csv
import io
import json
import math
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rhstack  # noqa: E402
from rhstack import sign  # noqa: E402

BIN = os.environ.get("ROLEHOOK_BIN", os.path.join(rhstack.SRC, "build", "rolehook"))
PRODUCTS = ("support", "chat", "talk", "guide", "explore")
COLUMNS = ["id", "email", "name", "role", "custom_role", "groups", "suspended",
           "last_login_at", "support", "chat", "talk", "guide", "explore",
           "seat_held_by_suspended", "left_per_hr"]
N_USERS = 3000
BASE_ID = 360000100000  # Zendesk ids do not fit in 32 bits

ROLES = [{"id": 101, "name": "Tier 1", "description": "first line",
          "configuration": {"ticket_editing": True}},
         {"id": 102, "name": "Team lead", "description": "leads",
          "configuration": {"ticket_editing": True, "view_access": "full"}},
         {"id": 103, "name": "Billing, \"special\"", "description": "odd name",
          "configuration": {}}]
GROUPS = [{"id": 201, "name": "Tier 1"}, {"id": 202, "name": "Leads"},
          {"id": 203, "name": "EMEA, nights"}]


def make_seed():
    """Users, memberships and entitlements; and what the report must say."""
    users, memberships, ents, expect = [], [], {}, {}
    mid = 500000
    for i in range(N_USERS):
        uid = BASE_ID + i
        if i % 10 in (0, 1, 2):
            role = "agent"
        elif i % 50 == 3:
            role = "admin"
        else:
            role = "end-user"
        name = "User %d" % i
        if i == 10:   # RFC 4180 quoting: comma, quote, line break
            name = 'Ann "Q", Jr.\nsecond line'
        if i == 20:   # a spreadsheet formula (CSV injection)
            name = '=HYPERLINK("http://evil.example/","x")'
        u = {"id": uid, "name": name, "email": "user%d@example.com" % i,
             "role": role, "external_id": "E-%d" % i}
        crid = None
        if role == "agent":
            crid = (101, 102, 103)[i % 3]
            u["custom_role_id"] = crid
            u["suspended"] = i % 7 == 0
        users.append(u)
        if role == "end-user":
            continue
        groups = []
        if role == "agent":
            for g in GROUPS:
                if (i // 10 + g["id"]) % 3 == 0:
                    mid += 1
                    memberships.append({"id": mid, "user_id": uid, "group_id": g["id"]})
                    groups.append(g["name"])
        e, prod = {}, {p: "" for p in PRODUCTS}
        prod["support"] = "admin" if role == "admin" else "custom_%d" % crid
        if i % 4 == 0:
            e["chat"] = {"name": "agent", "is_active": True}
            prod["chat"] = "agent"
        if i % 8 == 0:
            e["talk"] = {"name": "agent", "is_active": True}
            prod["talk"] = "agent"
        if i % 12 == 0:   # present but inactive: an empty column
            e["explore"] = {"name": "viewer", "is_active": False}
        if i % 20 == 0:
            e["guide"] = {"name": "viewer", "is_active": True}
            prod["guide"] = "viewer"
        if e:
            ents[str(uid)] = e
        expect[uid] = {"role": role, "suspended": bool(u.get("suspended")),
                       "custom_role": {101: "Tier 1", 102: "Team lead",
                                       103: "Billing, \"special\""}.get(crid, ""),
                       "groups": groups, "products": prod, "email": u["email"],
                       "name": u["name"], "i": i}
    seed = {"custom_roles": ROLES, "groups": GROUPS, "users": users,
            "memberships": memberships, "entitlements": ents}
    return seed, expect


class Base(unittest.TestCase):
    zd = None

    @classmethod
    def make_config(cls, tmp, entitlements=True, base=None, custom_roles=None,
                    store=None, name="rolehook.json", policy=None):
        zd = cls.zd.config(entitlements=entitlements)
        if base is not None:
            zd["base_url"] = base
        doc = {"store": {"path": store or os.path.join(tmp, "absent.db")},
               "sources": {"gh": {"preset": "github", "secrets": ["env:RH_UNUSED"]}},
               "zendesk": zd}
        if custom_roles is not None:
            doc["custom_roles"] = custom_roles
        if policy is not None:
            doc["policy"] = policy
        path = os.path.join(tmp, name)
        with open(path, "w") as f:
            json.dump(doc, f)
        return path

    def run_rh(self, *args, env=None, timeout=600, text=True):
        e = dict(os.environ)
        e.update(self.zd.env())
        e.update(env or {})
        return subprocess.run([BIN] + list(args), env=e, capture_output=True, text=text,
                              timeout=timeout)

    def last_seq(self):
        reqs = self.zd.requests()["requests"]
        return reqs[-1]["seq"] if reqs else 0

    def writes_since(self, seq):
        return [(r["method"], r["path"]) for r in self.zd.requests(seq)["requests"]
                if r["method"] != "GET"]


class ReportSeats(Base, rhstack.FakeTmpCase):
    @classmethod
    def setUpClass(cls):
        cls.seed, cls.expect = make_seed()
        cls.zd = rhstack.FakeZendesk(seed=cls.seed, rate_limit=1000000)
        cls.tmp = tempfile.mkdtemp(prefix="rolehook-report-")
        cls.cfg = cls.make_config(cls.tmp)
        cls.cfg_off = cls.make_config(cls.tmp, entitlements=False, name="off.json")
        cls.staff = sorted(uid for uid, e in cls.expect.items())
        assert len(cls.staff) > 900

    def check_rows(self, rows, products=True, csv_cells=False):
        ids = [int(r["id"]) for r in rows]
        self.assertEqual(len(ids), len(set(ids)), "an agent is listed twice")
        self.assertEqual(sorted(ids), self.staff)
        for r in rows:
            uid = int(r["id"])
            e = self.expect[uid]
            self.assertEqual(r["role"], e["role"], uid)
            self.assertEqual(r["email"], e["email"])
            want_name = e["name"]
            if csv_cells and want_name[:1] in ("=", "+", "-", "@"):
                want_name = "'" + want_name   # neutralised for spreadsheets
            self.assertEqual(r["name"], want_name)
            self.assertEqual(r["custom_role"] or "", e["custom_role"], uid)
            groups = r["groups"] if isinstance(r["groups"], list) else \
                [g for g in r["groups"].split("; ") if g]
            self.assertEqual(sorted(groups), sorted(e["groups"]), uid)
            susp = r["suspended"] in (True, "true")
            self.assertEqual(susp, e["suspended"], uid)
            self.assertEqual(r["seat_held_by_suspended"] in (True, "true"), e["suspended"])
            for p in PRODUCTS:
                want = e["products"][p] if products else ""
                self.assertEqual(r[p] or "", want, (uid, p))

    def test_csv_lists_every_agent_once(self):
        mark = self.last_seq()
        r = self.run_rh("report", "seats", "--config", self.cfg, "--format", "csv", text=False)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        out, r.stderr = r.stdout.decode(), r.stderr.decode()
        # RFC 4180: every record ends in CRLF.
        self.assertTrue(out.endswith("\r\n"))
        self.assertEqual(out.count("\r\n"), len(self.staff) + 1)
        rows = list(csv.DictReader(io.StringIO(out, newline="")))
        self.assertEqual(list(rows[0].keys()), COLUMNS)
        self.check_rows(rows, csv_cells=True)
        self.assertIn("'=HYPERLINK(", out)
        # The quoted names survive the round trip.
        self.assertIn("Billing, \"special\"", {x["custom_role"] for x in rows})
        self.assertIn("EMEA, nights", "".join(x["groups"] for x in rows))
        # Totals on stderr, not in the CSV.
        want = {p: sum(1 for e in self.expect.values() if e["products"][p]) for p in PRODUCTS}
        line = "rolehook: products: " + ", ".join("%s %d" % (p, want[p]) for p in PRODUCTS)
        self.assertIn(line, r.stderr)
        self.assertNotIn("totals", out)
        # Cursor pagination: ceil(N/100) listing pages, and only reads.
        reqs = self.zd.requests(mark)["requests"]
        pages = [q for q in reqs if q["path"] == "/api/v2/users.json"]
        self.assertEqual(len(pages), math.ceil(len(self.staff) / 100))
        self.assertTrue(all(q["method"] == "GET" for q in reqs))
        # Products come from the official read, one per agent; the private
        # staff endpoint is never read (it is only written).
        full = [q["path"] for q in reqs if q["path"].endswith("/entitlements/full")]
        self.assertEqual(len(full), len(self.staff))
        self.assertFalse([q for q in reqs if q["path"].startswith("/api/admin/")])
        # No progress noise when stderr is not a terminal.
        self.assertNotIn("fetched", r.stderr)

    def test_json_totals_and_flags(self):
        r = self.run_rh("report", "seats", "--config", self.cfg, "--format", "json")
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        doc = json.loads(r.stdout)
        self.assertEqual(set(doc), {"agents", "totals", "flags", "entitlements_read"})
        self.check_rows(doc["agents"])
        tot = doc["totals"]
        self.assertEqual(tot["users"], len(self.staff))
        self.assertEqual(tot["admin"], sum(1 for e in self.expect.values() if e["role"] == "admin"))
        for p in PRODUCTS:
            self.assertEqual(tot[p], sum(1 for e in self.expect.values() if e["products"][p]), p)
        # The fake's own seat count agrees.
        self.assertEqual({p: tot[p] for p in PRODUCTS}, self.zd.state()["seats"])
        nsusp = sum(1 for e in self.expect.values() if e["suspended"])
        self.assertGreater(nsusp, 0)
        self.assertEqual(doc["flags"], {"seat_held_by_suspended": nsusp, "left_per_hr": 0})
        ids = {a["id"] for a in doc["agents"] if a["seat_held_by_suspended"]}
        self.assertEqual(ids, {u for u, e in self.expect.items() if e["suspended"]})

    def test_people_marks_leavers(self):
        agents = [u for u in self.staff if self.expect[u]["role"] == "agent"]
        by_email, by_xid, active = agents[0], agents[1], agents[2]
        people = [
            {"email": self.expect[by_email]["email"].upper(), "employment_status": "Terminated"},
            {"external_id": "E-%d" % self.expect[by_xid]["i"], "employment_status": "inactive"},
            {"email": self.expect[active]["email"], "employment_status": "active"},
            {"email": "gone@example.com", "employment_status": "terminated"},
        ]
        pf = os.path.join(self.tmp, "people.json")
        with open(pf, "w") as f:
            json.dump(people, f)
        r = self.run_rh("report", "seats", "--config", self.cfg, "--format", "json",
                        "--people", pf)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        doc = json.loads(r.stdout)
        left = {a["id"] for a in doc["agents"] if a["left_per_hr"]}
        self.assertEqual(left, {by_email, by_xid})
        self.assertEqual(doc["flags"]["left_per_hr"], 2)
        # A malformed people file is an input error: exit 2, nothing fetched.
        with open(pf, "w") as f:
            json.dump({"email": "x"}, f)
        mark = self.last_seq()
        r = self.run_rh("report", "seats", "--config", self.cfg, "--people", pf)
        self.assertEqual(r.returncode, 2)
        self.assertIn("expected a JSON array", r.stderr)
        self.assertEqual(self.zd.requests(mark)["requests"], [])

    def test_people_json_marks_leavers(self):
        # --people takes PEOPLE.json as simulate --all and reconcile
        # --people do: kind terminate or a leaving status; matched by
        # employee_id (Zendesk's external_id), external_id or e-mail.
        agents = [u for u in self.staff if self.expect[u]["role"] == "agent"]
        by_eid, by_mail, active = agents[3], agents[4], agents[5]
        people = [
            {"employee_id": "E-%d" % self.expect[by_eid]["i"], "name": "Gone",
             "department": "Support", "kind": "terminate"},
            {"email": self.expect[by_mail]["email"], "employment_status": "inactive",
             "custom": {"cost_center": "42"}},
            {"employee_id": "E-%d" % self.expect[active]["i"],
             "email": self.expect[active]["email"], "employment_status": "active",
             "kind": "update"},
        ]
        pf = os.path.join(self.tmp, "people2.json")
        with open(pf, "w") as f:
            json.dump(people, f)
        r = self.run_rh("report", "seats", "--config", self.cfg, "--format", "json",
                        "--people", pf)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        doc = json.loads(r.stdout)
        self.assertEqual({a["id"] for a in doc["agents"] if a["left_per_hr"]},
                         {by_eid, by_mail})
        # One reader for --people: an attribute PEOPLE.json does not know
        # is an input error naming it, before anything is fetched.
        with open(pf, "w") as f:
            json.dump([{"email": "x@example.com", "first_name": "X"}], f)
        mark = self.last_seq()
        r = self.run_rh("report", "seats", "--config", self.cfg, "--people", pf)
        self.assertEqual(r.returncode, 2)
        self.assertIn("[0].first_name: unknown attribute", r.stderr)
        self.assertEqual(self.zd.requests(mark)["requests"], [])

    def test_entitlements_off(self):
        mark = self.last_seq()
        r = self.run_rh("report", "seats", "--config", self.cfg_off, "--format", "json")
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        self.assertIn("zendesk.entitlements is off", r.stderr)
        doc = json.loads(r.stdout)
        self.check_rows(doc["agents"], products=False)
        self.assertFalse(doc["entitlements_read"])
        self.assertTrue(all(doc["totals"][p] is None for p in PRODUCTS))
        paths = [q["path"] for q in self.zd.requests(mark)["requests"]]
        self.assertFalse([p for p in paths if p.startswith("/api/admin/") or
                          p.endswith("/entitlements/full")])

    def test_table_format(self):
        r = self.run_rh("report", "seats", "--config", self.cfg, "--format", "table")
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        lines = r.stdout.splitlines()
        self.assertTrue(lines[0].startswith("ID"))
        self.assertEqual(len([l for l in lines if l[:1].isdigit()]), len(self.staff))
        self.assertIn("totals: %d users" % len(self.staff), r.stdout)
        # Names are user-editable: no control characters reach a terminal.
        self.assertIn('Ann "Q", Jr.?second line', r.stdout)

    def test_errors_and_exit_codes(self):
        mark = self.last_seq()
        r = self.run_rh("report", "seats", "--config", self.cfg, env={"RH_TEST_ZD_TOKEN": "wrong"})
        self.assertEqual(r.returncode, 1)
        self.assertIn(self.zd.base, r.stderr)
        self.assertIn("zendesk.auth", r.stderr)
        # The refusal said once, API-token advice for an API token, and no
        # request after the first 401 (none of the others could pass).
        said = "\n".join(l for l in r.stderr.splitlines() if l.startswith("rolehook: "))
        self.assertEqual(said.count("HTTP 401"), 1, r.stderr)
        self.assertIn("the API token and the admin e-mail", said)
        self.assertNotIn("OAuth", said)
        self.assertEqual([q["status"] for q in self.zd.requests(mark)["requests"]], [401])
        port = rhstack.free_port()
        dead = self.make_config(self.tmp, base="http://127.0.0.1:%d" % port, name="dead.json")
        r = self.run_rh("report", "seats", "--config", dead)
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot reach Zendesk", r.stderr)
        self.assertIn("127.0.0.1:%d" % port, r.stderr)
        for args in (["report"], ["report", "people"], ["report", "seats", "--format", "xml"],
                     ["report", "seats", "--bogus"]):
            r = self.run_rh(*args, "--config", self.cfg)
            self.assertEqual(r.returncode, 2, args)
            self.assertIn("rolehook report --help", r.stderr)
        r = self.run_rh("report", "--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("seat_held_by_suspended", r.stdout)
        r = self.run_rh("report", "seats", "--config", os.path.join(self.tmp, "nope.json"))
        self.assertEqual(r.returncode, 2)

    def report_under_fault(self, rule):
        """report seats (JSON) with one fault rule in place; checks every
        row and returns the requests it made."""
        mark = self.last_seq()
        self.zd.control("POST", "/__fake/faults", {"rules": [rule]})
        try:
            r = self.run_rh("report", "seats", "--config", self.cfg, "--format", "json")
        finally:
            self.zd.control("DELETE", "/__fake/faults")
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        self.check_rows(json.loads(r.stdout)["agents"])
        return self.zd.requests(mark)["requests"]

    def test_retries_a_failing_page(self):
        reqs = self.report_under_fault({"match": "GET /api/v2/group_memberships*",
                                        "kind": "503", "count": 2, "retry_after": 1})
        statuses = [q["status"] for q in reqs if q["path"].endswith("/group_memberships.json")]
        self.assertEqual(statuses.count(503), 2)

    def test_agent_listing_waits_retry_after(self):
        # A 429 on the agent listing: the listing starts again, and only
        # after the Retry-After Zendesk gave.  (The fake's early_requests
        # is not asserted: the membership listing runs beside it, and its
        # request already on the way may land after the 429.)
        reqs = self.report_under_fault({"match": "GET /api/v2/users.json*", "kind": "429",
                                        "count": 1, "retry_after": 2})
        listing = [q for q in reqs if q["path"] == "/api/v2/users.json"]
        self.assertEqual(listing[0]["status"], 429)
        self.assertGreaterEqual(listing[1]["time"] - listing[0]["time"], 1.9)

HR_SECRET = "whsec_" + "cmVwb3J0LXRlc3Qtc2VjcmV0LTAxMjM0NTY3ODk="
MAPPING = {"kind": "/type", "employee_id": "/data/id", "email": "/data/work_email",
           "name": "/data/name",
           "kinds": {"employee.hired": "hire", "employee.terminated": "terminate",
                     "employee.rehired": "rehire"}}


class ReportStoreLeavers(Base):
    """The store's newest HR event per person marks leavers (stored by
    serve, not yet worked)."""

    def test_store_terminate_marks_leaver(self):
        seed = {"custom_roles": ROLES[:1], "users": [
            {"id": 7001, "name": "A", "email": "a@example.com", "role": "agent",
             "custom_role_id": 101, "external_id": "E-A"},
            {"id": 7002, "name": "B", "email": "b@example.com", "role": "agent",
             "custom_role_id": 101},
            {"id": 7003, "name": "C", "email": "c@example.com", "role": "agent",
             "custom_role_id": 101},
            {"id": 7004, "name": "D", "email": "d@example.com", "role": "admin"}]}
        zd = rhstack.FakeZendesk(seed=seed)
        type(self).zd = zd
        sources = {"hr": {"preset": "standard-webhooks", "normalizer": "generic",
                          "mapping": MAPPING, "secret_values": [HR_SECRET]}}
        stack = rhstack.Stack(sources, extra={"zendesk": zd.config()})
        stack.env.update(zd.env())
        try:
            stack.start()
            n = [0]

            def hr(typ, emp, email):
                n[0] += 1
                body = json.dumps({"type": typ, "data": {"id": emp, "work_email": email,
                                                         "name": emp}}).encode()
                st, _, rb = stack.post("hr", body, sign("standard-webhooks", HR_SECRET, body,
                                                        msg_id="msg_rep_%d" % n[0]))
                self.assertEqual(st, 202, rb)
            hr("employee.terminated", "E-A", "someone-else@example.com")  # by external id
            hr("employee.hired", "E-B", "b@example.com")
            hr("employee.terminated", "E-B", "B@Example.com")             # by e-mail
            hr("employee.terminated", "E-C", "c@example.com")
            hr("employee.rehired", "E-C", "c@example.com")                # back: not a leaver
            r = stack.cli("report", "seats", "--format", "json", check=False)
            self.assertEqual(r.returncode, 0, r.stderr)
            doc = json.loads(r.stdout)
            left = {a["id"] for a in doc["agents"] if a["left_per_hr"]}
            self.assertEqual(left, {7001, 7002})
        finally:
            stack.stop()
            zd.stop()


class RolesSync(Base, rhstack.FakeTmpCase):
    SEED = {
        "custom_roles": [
            {"id": 101, "name": "Tier 1", "description": "first line",
             "configuration": {"ticket_editing": True}},
            {"id": 102, "name": "Team lead", "description": "leads",
             "configuration": {"ticket_editing": True, "view_access": "full"}},
            {"id": 103, "name": "Old unused", "description": "", "configuration": {}},
            {"id": 104, "name": "Legacy team", "description": "", "configuration": {}}],
        "users": [{"id": 9001, "name": "Owner", "email": "owner@example.com", "role": "admin"},
                  {"id": 9002, "name": "Lee", "email": "lee@example.com", "role": "agent",
                   "custom_role_id": 104},
                  {"id": 9003, "name": "Kim", "email": "kim@example.com", "role": "agent",
                   "custom_role_id": 101}]}
    DECLARED = [
        {"name": "Tier 1", "description": "First-line support",
         "configuration": {"ticket_editing": False, "ticket_access": "within-groups",
                           "voice_access": True}},
        {"name": "Team lead", "description": "leads",
         "configuration": {"ticket_editing": True, "view_access": "full"}},
        {"name": "Escalations", "description": "second line",
         "configuration": {"ticket_merge": True, "report_access": "readonly"}}]

    @classmethod
    def setUpClass(cls):
        cls.zd = rhstack.FakeZendesk()
        cls.tmp = tempfile.mkdtemp(prefix="rolehook-roles-")
        cls.cfg = cls.make_config(cls.tmp, custom_roles=cls.DECLARED)

    def setUp(self):
        self.zd.control("POST", "/__fake/reset")
        self.zd.control("POST", "/__fake/seed", self.SEED)

    def roles(self):
        return {r["name"]: r for r in self.zd.state()["custom_roles"]}

    def sync(self, *extra, cfg=None):
        return self.run_rh("roles", "sync", "--config", cfg or self.cfg, *extra)

    def test_dry_run_writes_nothing(self):
        before = self.roles()
        mark = self.last_seq()
        r = self.sync("--dry-run")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.writes_since(mark), [])
        self.assertEqual(self.roles(), before)
        lines = r.stdout.splitlines()
        self.assertTrue(lines[0].startswith("update    Tier 1 ("), lines)
        self.assertIn("configuration.ticket_editing: true -> false", lines[0])
        self.assertEqual(lines[1], "unchanged Team lead")
        self.assertEqual(lines[2], "create    Escalations")
        self.assertTrue(any(l.startswith("extra     Old unused") for l in lines))
        self.assertIn("nothing was written", r.stderr)
        # JSON: the same plan with a summary; --prune only plans deletes.
        r = self.sync("--dry-run", "--prune", "--format", "json")
        self.assertEqual(r.returncode, 1)   # Legacy team would be refused
        doc = json.loads(r.stdout)
        self.assertTrue(doc["dry_run"])
        self.assertEqual(doc["summary"], {"create": 1, "update": 1, "unchanged": 1, "extra": 0,
                                          "delete": 1, "refuse": 1, "failed": 0})
        acts = {x["name"]: x["action"] for x in doc["roles"]}
        self.assertEqual(acts["Old unused"], "delete")
        self.assertEqual(acts["Legacy team"], "refuse")
        self.assertEqual(self.writes_since(mark), [])

    def test_sync_creates_and_updates_then_converges(self):
        mark = self.last_seq()
        r = self.sync("--format", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        self.assertEqual(doc["summary"]["create"], 1)
        self.assertEqual(doc["summary"]["update"], 1)
        self.assertTrue(all(x["status"] in ("done", "planned") for x in doc["roles"]))
        self.assertEqual(sorted(self.writes_since(mark)), sorted([
            ("POST", "/api/v2/custom_roles.json"), ("PUT", "/api/v2/custom_roles/101.json")]))
        roles = self.roles()
        t1 = roles["Tier 1"]
        self.assertEqual(t1["description"], "First-line support")
        self.assertEqual(t1["configuration"]["ticket_editing"], False)
        self.assertEqual(t1["configuration"]["voice_access"], True)
        esc = roles["Escalations"]
        self.assertEqual(esc["configuration"]["report_access"], "readonly")
        created = [x for x in doc["roles"] if x["action"] == "create"][0]
        self.assertEqual(created["id"], esc["id"])
        # Extra roles are kept without --prune.
        self.assertIn("Old unused", roles)
        # A second run finds nothing to do and writes nothing.
        mark = self.last_seq()
        r = self.sync()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.writes_since(mark), [])
        self.assertEqual(sum(1 for l in r.stdout.splitlines() if l.startswith("unchanged")), 3)

    def test_prune_deletes_only_memberless_extras(self):
        mark = self.last_seq()
        r = self.sync("--prune")
        self.assertEqual(r.returncode, 1, r.stderr)   # Legacy team refused
        self.assertIn("Legacy team", r.stderr)
        self.assertIn("1 agent(s) hold it", r.stderr)
        self.assertIn(("DELETE", "/api/v2/custom_roles/103.json"), self.writes_since(mark))
        self.assertNotIn(("DELETE", "/api/v2/custom_roles/104.json"), self.writes_since(mark))
        roles = self.roles()
        self.assertNotIn("Old unused", roles)
        self.assertIn("Legacy team", roles)
        self.assertEqual(self.zd.state()["legacy_events"], [])

    def test_prune_keeps_roles_the_policy_names(self):
        # custom_roles declares Tier 1 and Escalations only; the policy's
        # rule "leads" still gives people "Team lead" (0 agents today).
        # Deleting it would make every later promotion to lead fail (work:
        # unknown custom role), so --prune refuses it like a role agents
        # hold (exit 1, also in a dry run) and names the rule; Old unused,
        # which nobody holds and no rule names, is still deleted.
        policy = {"rules": [
            {"name": "tier1", "when": {"department": "Support"},
             "then": {"role": "agent", "custom_role": "Tier 1"}},
            {"name": "leads", "when": {"title": "Team lead"},
             "then": {"role": "agent", "custom_role": "Team lead"}}]}
        cfg = self.make_config(self.tmp, name="policy.json", policy=policy,
                               custom_roles=[self.DECLARED[0], self.DECLARED[2]])
        why = "named by policy.rules[1] (leads); "
        mark = self.last_seq()
        r = self.sync("--dry-run", "--prune", cfg=cfg)
        self.assertEqual(r.returncode, 1, r.stderr)
        lines = r.stdout.splitlines()
        self.assertNotIn("delete    Team lead (0 agents)", lines)
        lead = [l for l in lines if l.startswith("refuse    Team lead: ")]
        self.assertEqual(len(lead), 1, lines)
        self.assertIn(why, lead[0])
        self.assertIn("remove it from the policy", lead[0])
        self.assertIn('rolehook: role "Team lead": refuse: ' + why, r.stderr)
        self.assertIn("delete    Old unused (0 agents)", lines)
        self.assertTrue(any(l.startswith("refuse    Legacy team: 1 agent(s) hold it")
                            for l in lines), lines)
        self.assertIn("1 to delete; nothing was written", r.stderr)
        self.assertEqual(self.writes_since(mark), [])
        r = self.sync("--dry-run", "--prune", "--format", "json", cfg=cfg)
        self.assertEqual(r.returncode, 1, r.stderr)
        doc = json.loads(r.stdout)
        steps = {x["name"]: x for x in doc["roles"]}
        self.assertEqual(steps["Team lead"]["action"], "refuse")
        self.assertEqual(steps["Team lead"]["members"], 0)
        self.assertIn(why, steps["Team lead"]["error"])
        self.assertEqual(steps["Old unused"]["action"], "delete")
        self.assertEqual(doc["summary"]["delete"], 1)
        self.assertEqual(doc["summary"]["refuse"], 2)
        self.assertEqual(self.writes_since(mark), [])
        # The real prune: Old unused goes, Team lead and Legacy team stay.
        r = self.sync("--prune", cfg=cfg)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn('rolehook: role "Team lead": refuse: ' + why, r.stderr)
        writes = self.writes_since(mark)
        self.assertIn(("DELETE", "/api/v2/custom_roles/103.json"), writes)
        self.assertNotIn(("DELETE", "/api/v2/custom_roles/102.json"), writes)
        self.assertNotIn(("DELETE", "/api/v2/custom_roles/104.json"), writes)
        roles = self.roles()
        self.assertIn("Team lead", roles)
        self.assertIn("Legacy team", roles)
        self.assertNotIn("Old unused", roles)
        # Without --prune the policy is not read: Team lead is an extra.
        r = self.sync("--dry-run", cfg=cfg)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("extra     Team lead (0 agents", r.stdout)

    def test_prune_needs_a_policy_that_compiles(self):
        # --prune cannot tell which roles a broken policy names: it stops
        # before any request (exit 2, a configuration error), naming the
        # path; without --prune the policy is not read.
        cfg = self.make_config(self.tmp, name="badpolicy.json",
                               custom_roles=[self.DECLARED[0]],
                               policy={"rules": [{"name": "x", "when": {},
                                                  "then": {"role": "boss"}}]})
        mark = self.last_seq()
        r = self.sync("--dry-run", "--prune", cfg=cfg)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("policy.rules[0].then.role", r.stderr)
        self.assertIn("--prune", r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertEqual(self.zd.requests(mark)["requests"], [])
        r = self.sync("--dry-run", cfg=cfg)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_read_only_key_refused(self):
        bad = [dict(self.DECLARED[0]), {"name": "Chatty", "configuration": {"chat_access": True}},
               {"name": "Notes", "configuration": {"organization_notes_editing": False,
                                                  "view_access": "everything"}}]
        bad[0]["configuration"] = dict(bad[0]["configuration"], light_agent=False)
        cfg = self.make_config(self.tmp, custom_roles=bad, name="bad.json")
        mark = self.last_seq()
        r = self.sync(cfg=cfg)
        self.assertEqual(r.returncode, 2)
        self.assertIn('("Chatty"): configuration.chat_access is read-only', r.stderr)
        self.assertIn('("Tier 1"): configuration.light_agent is read-only', r.stderr)
        self.assertIn('("Notes"): configuration.organization_notes_editing is read-only',
                      r.stderr)
        self.assertIn("configuration.view_access: expected one of", r.stderr)
        self.assertEqual(self.zd.requests(mark)["requests"], [])

    def test_exit_codes(self):
        for args in (["roles"], ["roles", "push"], ["roles", "sync", "--format", "xml"]):
            r = self.run_rh(*args, "--config", self.cfg)
            self.assertEqual(r.returncode, 2, args)
        none = self.make_config(self.tmp, custom_roles=None, name="none.json")
        r = self.sync("--prune", cfg=none)
        self.assertEqual(r.returncode, 2)
        self.assertIn("custom_roles: nothing declared", r.stderr)
        r = self.run_rh("roles", "sync", "--config", self.cfg, env={"RH_TEST_ZD_TOKEN": "wrong"})
        self.assertEqual(r.returncode, 1)
        self.assertIn(self.zd.base, r.stderr)
        r = self.run_rh("roles", "--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("--prune", r.stdout)

    def test_write_failure_is_exit_1(self):
        self.zd.control("POST", "/__fake/faults", {"rules": [
            {"match": "POST /api/v2/custom_roles*", "kind": "500", "count": 1}]})
        try:
            r = self.sync()
        finally:
            self.zd.control("DELETE", "/__fake/faults")
        self.assertEqual(r.returncode, 1)
        self.assertIn("create    Escalations: FAILED", r.stdout)
        # The update still went through.
        self.assertEqual(self.roles()["Tier 1"]["description"], "First-line support")


if __name__ == "__main__":
    unittest.main(verbosity=2)
