"""rolehook simulate and check --roles/--groups, run as a real binary on
the fixtures in tests/data/simulate/.

Single-event runs are compared with tests/data/simulate/expected/*.json:
everything but "event" exactly (rule, leaver, protected, desired, ordered
writes, seat_delta, notes, policy_hash), and the event's kind, subject and
attributes (the rest of the normalised event belongs to test_normalize).
ROLEHOOK_UPDATE_EXPECTED=1 rewrites the expected files from the binary
(review the diff before committing it).
"""
import copy
import json
import os
import shutil
import subprocess
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("ROLEHOOK_SRC", os.path.abspath(os.path.join(HERE, "..", "..")))
BIN = os.environ.get("ROLEHOOK_BIN", os.path.join(SRC, "build", "rolehook"))
DATA = os.path.join(SRC, "tests", "data", "simulate")
EXPECTED = os.path.join(DATA, "expected")
UPDATE = os.environ.get("ROLEHOOK_UPDATE_EXPECTED") == "1"


def d(name):
    return os.path.join(DATA, name)


def rh(*args):
    return subprocess.run([BIN] + list(args), capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)


def load_jsonc(path):
    """The fixture config has // comments (rolehook.json allows them)."""
    out = []
    with open(path) as f:
        for line in f:
            s = line.lstrip()
            if s.startswith("//"):
                continue
            out.append(line)
    return json.loads("".join(out))


def comparable(doc):
    doc = copy.deepcopy(doc)
    ev = doc.get("event")
    if isinstance(ev, dict):
        doc["event"] = {k: ev.get(k) for k in ("kind", "subject", "attributes")}
    return doc


# name -> simulate arguments (after --config)
CASES = {
    "hire_absent": ["--source", "hr", "--event", d("event_hire.json"),
                    "--roles", d("roles.json"), "--groups", d("groups.json")],
    "hire_no_change": ["--source", "hr", "--event", d("event_hire.json"),
                       "--current", d("current_tier1.json"),
                       "--roles", d("roles.json"), "--groups", d("groups.json")],
    "promote": ["--source", "hr", "--event", d("event_promote.json"),
                "--current", d("current_tier1.json"),
                "--roles", d("roles.json"), "--groups", d("groups.json")],
    "terminate": ["--source", "hr", "--event", d("event_terminate.json"),
                  "--current", d("current_tier1.json")],
    "terminate_absent": ["--source", "hr", "--event", d("event_terminate.json")],
    "terminate_done": ["--source", "hr", "--event", d("event_terminate.json"),
                       "--current", d("current_leaver.json")],
    "rehire_snapshot": ["--source", "hr", "--event", d("event_rehire.json"),
                        "--current", d("current_leaver.json"),
                        "--snapshot", d("current_tier1.json"),
                        "--roles", d("roles.json"), "--groups", d("groups.json")],
    "rehire_policy": ["--source", "hr", "--event", d("event_rehire.json"),
                      "--current", d("current_leaver.json"),
                      "--roles", d("roles.json"), "--groups", d("groups.json")],
    "protected": ["--source", "hr", "--event", d("event_owner.json"),
                  "--current", d("current_tier1.json")],
}


class Simulate(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="rolehook-sim-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def write(self, name, doc):
        p = os.path.join(self.tmp, name)
        with open(p, "w") as f:
            f.write(doc if isinstance(doc, str) else json.dumps(doc))
        return p

    def run_ok(self, *args):
        r = rh("simulate", *args)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.count("\n"), 1, "one JSON object on one line")
        return json.loads(r.stdout)

    def test_cases_match_expected(self):
        for name, args in CASES.items():
            with self.subTest(case=name):
                got = comparable(self.run_ok("--config", d("config.json"), *args))
                path = os.path.join(EXPECTED, name + ".json")
                if UPDATE:
                    os.makedirs(EXPECTED, exist_ok=True)
                    with open(path, "w") as f:
                        json.dump(got, f, indent=2)
                        f.write("\n")
                with open(path) as f:
                    want = json.load(f)
                self.assertEqual(got, want)

    def test_contract_shape(self):
        out = self.run_ok("--config", d("config.json"), *CASES["promote"])
        for key in ("event", "rule", "desired", "writes", "seat_delta", "policy_hash"):
            self.assertIn(key, out)
        self.assertEqual(set(out["desired"]),
                         {"role", "custom_role", "groups", "entitlements", "suspended"})
        self.assertEqual(set(out["seat_delta"]), {"support", "chat", "talk", "guide", "explore"})
        for w in out["writes"]:
            self.assertEqual(set(w), {"method", "path", "body"})
        self.assertRegex(out["policy_hash"], r"^[0-9a-f]{64}$")
        # an agent is never written without its custom role, in the same write
        for w in out["writes"]:
            user = (w["body"] or {}).get("user", {})
            if user.get("role") == "agent":
                self.assertIn("custom_role_id", user)

    def test_leaver_order_and_seats(self):
        out = self.run_ok("--config", d("config.json"), *CASES["terminate"])
        self.assertTrue(out["leaver"])
        # Products off, then one PUT that downgrades (frees the seat) and
        # suspends at once (was: a downgrade PUT, then a suspend PUT).
        self.assertEqual([(w["method"], w["path"]) for w in out["writes"]], [
            ("PUT", "/api/admin/private/staff/9001/entitlements"),
            ("PUT", "/api/v2/users/9001.json")])
        self.assertEqual(out["writes"][1]["body"], {"user": {"role": "end-user", "suspended": True}})
        self.assertEqual(out["seat_delta"]["support"], -1)

    def test_configured_leaver_order(self):
        cfg = load_jsonc(d("config.json"))
        cfg["policy"]["leaver"]["steps"] = ["suspend", "downgrade"]
        p = self.write("cfg.json", cfg)
        out = self.run_ok("--config", p, *CASES["terminate"])
        # Adjacent suspend and downgrade are one PUT, whatever their order.
        self.assertEqual([w["body"] for w in out["writes"]], [
            {"user": {"role": "end-user", "suspended": True}}])
        # Apart, each is its own PUT, in the configured order.
        cfg["policy"]["leaver"]["steps"] = ["suspend", "entitlements_off", "downgrade"]
        p = self.write("cfg2.json", cfg)
        out = self.run_ok("--config", p, *CASES["terminate"])
        self.assertEqual([w["path"].startswith("/api/admin/") or w["body"] for w in out["writes"]], [
            {"user": {"suspended": True}}, True, {"user": {"role": "end-user"}}])

    def test_entitlements_switch_off_means_no_private_endpoint(self):
        cfg = load_jsonc(d("config.json"))
        cfg["zendesk"]["entitlements"] = False
        p = self.write("cfg.json", cfg)
        for name in ("hire_absent", "promote", "terminate"):
            with self.subTest(case=name):
                out = self.run_ok("--config", p, *CASES[name])
                self.assertTrue(out["writes"], name)
                for w in out["writes"]:
                    self.assertNotIn("/api/admin/private", w["path"])
                self.assertTrue(any("zendesk.entitlements is off" in n for n in out["notes"]),
                                out["notes"])

    def test_policy_hash_follows_policy_not_layout(self):
        base = self.run_ok("--config", d("config.json"), *CASES["terminate"])["policy_hash"]
        cfg = load_jsonc(d("config.json"))
        # same policy, keys in another order and other formatting
        pol = cfg.pop("policy")
        cfg["policy"] = dict(reversed(list(pol.items())))
        p = self.write("cfg.json", json.dumps(cfg, indent=4))
        self.assertEqual(self.run_ok("--config", p, *CASES["terminate"])["policy_hash"], base)
        cfg["policy"]["rules"][3]["then"]["entitlements"]["chat"] = False
        p = self.write("cfg2.json", cfg)
        self.assertNotEqual(self.run_ok("--config", p, *CASES["terminate"])["policy_hash"], base)

    def test_population(self):
        out = self.run_ok("--config", d("config.json"), "--all", "--users", d("users.json"),
                          "--people", d("people.json"), "--roles", d("roles.json"),
                          "--groups", d("groups.json"))
        people = {p["subject"]: p for p in out["people"]}
        self.assertEqual(len(out["people"]), 6)
        # matched by external_id; already right
        self.assertEqual(people["people:E100"]["user_id"], 9001)
        self.assertEqual(people["people:E100"]["writes"], [])
        # matched by e-mail ignoring case (no external id in Zendesk)
        self.assertEqual(people["people:E200"]["user_id"], 9002)
        self.assertEqual(people["people:E200"]["rule"], "tier2")
        self.assertEqual(people["people:E200"]["writes"][0]["body"],
                         {"user": {"role": "agent", "custom_role_id": 360002}})
        # a leaver in the list
        self.assertTrue(people["people:E300"]["leaver"])
        # products off + one PUT {end-user, suspended}
        self.assertEqual(len(people["people:E300"]["writes"]), 2)
        # protected
        self.assertTrue(people["people:E001"]["protected"])
        self.assertEqual(people["people:E001"]["writes"], [])
        # a contractor not yet in Zendesk: created as a light agent
        self.assertIsNone(people["people:E400"]["user_id"])
        self.assertEqual(people["people:E400"]["writes"][0]["body"]["user"]["custom_role_id"],
                         360004)
        # not an agent by policy and not in Zendesk: nothing
        self.assertEqual(people["people:E500"]["writes"], [])
        # agents nobody accounts for are reported, not changed
        self.assertEqual(out["unmatched_users"],
                         [{"id": 9005, "email": "ghost@example.com", "role": "agent"}])
        self.assertEqual(out["seat_delta"],
                         {"support": 0, "chat": -1, "talk": 0, "guide": 0, "explore": 0})
        # 7, was 9: E300's downgrade and suspension are one PUT, and E400's
        # group comes with the create (group_ids) instead of a POST.
        self.assertEqual(out["writes"], 7)
        self.assertEqual(out["errors"], 0)
        total = {k: sum(p["seat_delta"][k] for p in out["people"]) for k in out["seat_delta"]}
        self.assertEqual(total, out["seat_delta"])

    def test_population_unknown_role_is_per_person_error(self):
        roles = {"custom_roles": [{"id": 360001, "name": "Tier 1"}]}
        r = rh("simulate", "--config", d("config.json"), "--all", "--users", d("users.json"),
               "--people", d("people.json"), "--roles", self.write("roles.json", roles),
               "--groups", d("groups.json"))
        self.assertEqual(r.returncode, 1, r.stderr)
        out = json.loads(r.stdout)
        errs = [p for p in out["people"] if "error" in p]
        self.assertEqual({p["subject"] for p in errs}, {"people:E200", "people:E400"})
        self.assertIn('custom role "Tier 2" (rule tier2) is not in the list', errs[0]["error"])
        self.assertIn("could not be planned", r.stderr)

    def test_errors(self):
        cfg = d("config.json")
        nopolicy = load_jsonc(cfg)
        del nopolicy["policy"]
        nopolicy = self.write("nopolicy.json", nopolicy)
        badpolicy = load_jsonc(cfg)
        badpolicy["policy"]["rules"][2]["when"]["title"] = {"regex": "^Senior"}
        badpolicy = self.write("badpolicy.json", badpolicy)
        agentnorole = load_jsonc(cfg)
        del agentnorole["policy"]["rules"][3]["then"]["custom_role"]
        agentnorole = self.write("agentnorole.json", agentnorole)
        notjson = self.write("notjson.json", '{"type": "employee.hired"')
        people_bad = self.write("people.json", [{"employee_id": "1", "dept": "x"}])
        cases = [
            # (args, exit status, phrases in stderr)
            (["--config", cfg], 2, ["--source NAME and --event FILE are required"]),
            (["--config", cfg, "--source", "hr", "--event", d("event_hire.json"), "extra"], 2,
             ["unexpected argument"]),
            (["--config", cfg, "--bogus"], 2, ["unknown option"]),
            (["--config", cfg, "--all", "--users", d("users.json")], 2,
             ["--all needs --users FILE and --people FILE"]),
            (["--config", cfg, "--source", "hr", "--event", d("event_hire.json"),
              "--users", d("users.json")], 2, ["need --all"]),
            (["--config", os.path.join(self.tmp, "missing.json"), "--source", "hr",
              "--event", d("event_hire.json")], 2, ["missing.json", "cannot open"]),
            (["--config", nopolicy, "--source", "hr", "--event", d("event_hire.json")], 2,
             [nopolicy + ": policy: missing"]),
            (["--config", badpolicy, "--source", "hr", "--event", d("event_hire.json")], 2,
             [badpolicy + ": policy.rules[2].when.title: unknown operator \"regex\""]),
            (["--config", agentnorole, "--source", "hr", "--event", d("event_hire.json")], 2,
             [agentnorole + ": policy.rules[3].then:", "never an agent without a custom role"]),
            (["--config", cfg, "--source", "payroll", "--event", d("event_hire.json")], 2,
             [cfg + ": sources: no source named \"payroll\""]),
            (["--config", cfg, "--source", "hr", "--event", os.path.join(self.tmp, "none.json")],
             2, ["none.json: cannot read"]),
            (["--config", cfg, "--source", "hr", "--event", notjson], 1, [notjson + ":"]),
            (["--config", cfg, "--source", "hr", "--event", d("event_hire.json"),
              "--current", d("roles.json")], 2,
             [d("roles.json") + ": user: missing; --current expects"]),
            (["--config", cfg, "--source", "hr", "--event", d("event_hire.json"),
              "--current", notjson], 2, [notjson + ": invalid JSON"]),
            (["--config", cfg, "--source", "hr", "--event", d("event_hire.json")], 1,
             ['custom role "Tier 1" (rule tier1) needs the custom roles list', "--roles"]),
            (["--config", cfg, "--source", "hr", "--event", d("event_promote.json"),
              "--roles", self.write("r.json", {"custom_roles": [{"id": 1, "name": "Tier 1"}]})],
             1, ['r.json: custom role "Team lead" (rule leads) is not in the list']),
            (["--config", cfg, "--source", "hr", "--event", d("event_hire.json"),
              "--roles", d("roles.json"), "--current",
              self.write("c.json", {"user": {"id": "9001"}})], 1,
             ["c.json: user.id: expected a positive integer"]),
            (["--config", cfg, "--all", "--users", d("users.json"), "--people", people_bad], 2,
             [people_bad + ": [0].dept: unknown attribute"]),
            (["--config", cfg, "--all", "--users", d("roles.json"), "--people",
              d("people.json")], 2, ["users: expected {\"users\": [...]}"]),
        ]
        for args, status, phrases in cases:
            with self.subTest(args=args[2:]):
                r = rh("simulate", *args)
                self.assertEqual(r.returncode, status, r.stderr)
                self.assertEqual(r.stdout, "")
                for ph in phrases:
                    self.assertIn(ph, r.stderr)

    def test_current_in_both_entitlement_shapes(self):
        """--current takes "entitlements" as the official GET
        /api/v2/users/{id}/entitlements/full returns it (no "support": derived
        from role and custom_role_id) or in the private GET's older shape
        (with "support"): the same person plans the same writes."""
        with open(d("current_tier1.json")) as f:
            old = json.load(f)
        new = copy.deepcopy(old)
        ents = new["entitlements"]["entitlements"]
        del ents["support"]
        ents["explore"] = {"name": "viewer", "is_active": False}
        cur_new = self.write("current_full.json", new)
        for case in ("hire_no_change", "promote", "terminate"):
            args = ["--config", d("config.json")] + CASES[case]
            a = self.run_ok(*args)
            b = self.run_ok(*[cur_new if x == d("current_tier1.json") else x for x in args])
            self.assertEqual(a["writes"], b["writes"], case)
            self.assertEqual(a.get("seat_delta"), b.get("seat_delta"), case)

    def test_thin_event_is_ignored_as_work_ignores_it(self):
        """A thin event (completeness ids_only: the sender said who changed,
        not what) that is not a terminate is finished "ignored" by work
        (decide_is_thin); simulate prints it the same way: no rule, no
        writes, no seat change, the reason as its note -- not the catch-all
        rule's downgrade of an agent.  A thin terminate is still planned."""
        norm = os.path.join(SRC, "tests", "data", "normalize")
        cfg = load_jsonc(d("config.json"))
        cfg["sources"]["gusto"] = {"preset": "gusto", "secrets": ["env:RH_SIM_GUSTO_SECRET"]}
        cfg["sources"]["hibob"] = {"preset": "hibob", "secrets": ["env:RH_SIM_HIBOB_SECRET"]}
        cfg = self.write("thin.json", cfg)
        thin = ("thin event (ids only): the sender did not say what changed; "
                "nothing to apply")
        zero = {"support": 0, "chat": 0, "talk": 0, "guide": 0, "explore": 0}
        for source, event, current in (
                ("gusto", "gusto/updated.json", d("current_tier1.json")),
                ("gusto", "gusto/onboarded.json", d("current_tier1.json")),
                ("hibob", "hibob/joined.json", None)):
            with self.subTest(event=event, current=current is not None):
                args = ["--config", cfg, "--source", source, "--event",
                        os.path.join(norm, event), "--roles", d("roles.json"),
                        "--groups", d("groups.json")]
                if current:
                    args += ["--current", current]
                out = self.run_ok(*args)
                # The event as normalised: its kind is the sender's.
                self.assertEqual(out["event"]["completeness"], "ids_only")
                self.assertNotEqual(out["event"]["kind"], "terminate")
                self.assertEqual(out["writes"], [])
                self.assertIsNone(out["rule"])
                self.assertFalse(out["leaver"])
                self.assertIsNone(out["desired"]["role"])
                self.assertEqual(out["seat_delta"], zero)
                self.assertEqual(out["notes"], [thin])
                self.assertRegex(out["policy_hash"], r"^[0-9a-f]{64}$")
        out = self.run_ok("--config", cfg, "--source", "gusto", "--event",
                          os.path.join(norm, "gusto", "terminated_effective.json"),
                          "--current", d("current_tier1.json"))
        self.assertEqual(out["event"]["completeness"], "ids_only")
        self.assertTrue(out["leaver"])
        self.assertEqual(out["seat_delta"]["support"], -1)
        self.assertNotIn(thin, out["notes"])

    def test_help(self):
        r = rh("simulate", "--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("usage: rolehook simulate", r.stdout)
        for opt in ("--config", "--source", "--event", "--current", "--roles", "--groups",
                    "--all", "--users", "--people"):
            self.assertIn(opt, r.stdout)
        self.assertIn("simulate", rh("--help").stdout)

    def test_check_policy(self):
        cfg = d("config.json")
        r = rh("check", "--no-secrets", "--config", cfg, "--roles", d("roles.json"),
               "--groups", d("groups.json"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("policy is valid (5 rules, 0 warnings, sha256 ", r.stdout)
        self.assertIn("configuration is valid (1 source)", r.stdout)
        roles = self.write("roles.json", {"custom_roles": [{"id": 1, "name": "Tier 1"}]})
        r = rh("check", "--no-secrets", "--config", cfg, "--roles", roles)
        self.assertEqual(r.returncode, 2)
        self.assertIn(cfg + ': policy.rules[0] (contractors): custom role "Light agent" '
                      "does not exist in Zendesk", r.stderr)
        groups = self.write("groups.json", {"groups": [{"id": 1, "name": "Tier 1"}]})
        r = rh("check", "--no-secrets", "--config", cfg, "--groups", groups)
        self.assertEqual(r.returncode, 2)
        self.assertIn('(leads): group "Leads" does not exist', r.stderr)
        r = rh("check", "--no-secrets", "--config", cfg, "--roles", d("users.json"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("users.json: custom_roles: expected", r.stderr)
        # dead rules are warnings, not errors
        c = load_jsonc(cfg)
        c["policy"]["rules"].append({"name": "late", "when": {"title": "X"},
                                     "then": {"role": "end-user"}})
        c["policy"]["rules"].insert(1, dict(c["policy"]["rules"][0], name="copy"))
        p = self.write("dead.json", c)
        r = rh("check", "--no-secrets", "--config", p)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("warning: policy.rules[1] (copy): shadowed: rules[0] (contractors)",
                      r.stderr)
        self.assertIn("warning: policy.rules[6] (late): unreachable: rules[5] (everyone-else)",
                      r.stderr)
        self.assertIn("2 warnings", r.stdout)
        # a bad policy fails check with the path
        c = load_jsonc(cfg)
        c["policy"]["leaver"]["steps"] = ["downgrade", "delete"]
        p = self.write("bad.json", c)
        r = rh("check", "--no-secrets", "--config", p)
        self.assertEqual(r.returncode, 2)
        self.assertIn(p + ": policy.leaver.steps[1]: unknown step", r.stderr)
        self.assertNotIn("configuration is valid", r.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
