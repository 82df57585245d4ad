"""The rolehook command line: help for every command, exit codes 0/1/2,
and `check` errors that name the file, the field and what to do."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rhstack  # noqa: E402

BIN = os.environ.get("ROLEHOOK_BIN", os.path.join(rhstack.SRC, "build", "rolehook"))


def rh(*args, env=None):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([BIN] + list(args), capture_output=True, text=True, env=e, timeout=30)


class Cli(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="rolehook-cli-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def write(self, name, doc):
        p = os.path.join(self.tmp, name)
        with open(p, "w") as f:
            f.write(doc if isinstance(doc, str) else json.dumps(doc))
        return p

    def good(self):
        return {"store": {"path": os.path.join(self.tmp, "r.db")},
                "sources": {"gh": {"preset": "github", "secrets": ["env:RH_CLI_SECRET"]}}}

    def test_help(self):
        r = rh("--help")
        self.assertEqual(r.returncode, 0)
        for cmd in ("serve", "check", "events"):
            self.assertIn(cmd, r.stdout)
            h = rh(cmd, "--help")
            self.assertEqual(h.returncode, 0, cmd)
            self.assertIn("usage: rolehook " + cmd, h.stdout)
        self.assertEqual(rh().returncode, 2)
        self.assertRegex(rh("--version").stdout, r"^rolehook \d+\.\d+\.\d+\n$")

    def test_usage_errors_exit_2(self):
        r = rh("frobnicate")
        self.assertEqual(r.returncode, 2)
        self.assertIn("unknown command 'frobnicate'", r.stderr)
        self.assertEqual(rh("check", "--bogus").returncode, 2)
        self.assertEqual(rh("events").returncode, 2)
        r = rh("events", "show", "abc")
        self.assertEqual(r.returncode, 2)
        self.assertIn("positive number", r.stderr)
        self.assertEqual(rh("serve", "--log-level", "loud").returncode, 2)

    def test_bad_option_is_one_line_and_the_hint(self):
        """getopt's own message is off: one line naming the option, then
        the --help hint, as for every other usage error."""
        for args, said in ((["work", "--bogus"], "rolehook work: unknown option '--bogus'"),
                           (["events", "list", "-x"], "rolehook events: unknown option '-x'"),
                           (["work", "--threads"], "rolehook work: --threads: expected a value"),
                           (["report", "seats", "--config"],
                            "rolehook report: --config: expected a value")):
            r = rh(*args)
            self.assertEqual(r.returncode, 2, args)
            self.assertEqual(r.stderr.splitlines(),
                             [said, "run 'rolehook %s --help' for usage" % args[0]], args)

    def test_events_list_rejects_unknown_state_and_source(self):
        cfg = self.write("rolehook.json", self.good())
        r = rh("events", "list", "--state", "bogus", "--config", cfg)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("--state: expected pending, retry, waiting, held, dead, done, "
                      "ignored, stale or cancelled", r.stderr)
        r = rh("events", "list", "--source", "nosuch", "--config", cfg)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("--source: no source \"nosuch\" in %s (sources: gh)" % cfg, r.stderr)
        r = rh("events", "dead", "--source", "nosuch", "--config", cfg)
        self.assertEqual(r.returncode, 2, r.stderr)
        # Known ones pass (the store is absent here: exit 1, not a usage error).
        r = rh("events", "list", "--state", "dead", "--source", "gh", "--format", "json",
               "--config", cfg)
        self.assertIn(r.returncode, (0, 1), r.stderr)
        self.assertNotIn("expected", r.stderr)

    def test_work_and_reconcile_name_the_file_once(self):
        """Configuration errors of work and reconcile name the file once,
        whichever part finds them (policy, zendesk section); reconcile
        exits 2 for them (a configuration error), work 1 (rolehook(8))."""
        doc = self.good()
        doc["policy"] = {"rules": [{"name": "a", "when": {}, "then": {"role": "agent"}}]}
        bad_policy = self.write("bad-policy.json", doc)
        doc["policy"] = {"rules": [{"name": "a", "when": {}, "then": {"role": "end-user"}}]}
        no_zendesk = self.write("no-zendesk.json", doc)
        for cfg, said in ((bad_policy, "policy.rules[0].then: role agent needs a custom_role"),
                          (no_zendesk, "zendesk: missing")):
            for cmd, code in (("work", 1), ("reconcile", 2)):
                r = rh(cmd, "--config", cfg)
                self.assertEqual(r.returncode, code, (cmd, r.stderr))
                self.assertIn("rolehook: %s: %s: %s" % (cmd, cfg, said), r.stderr)
                self.assertEqual(r.stderr.count(cfg), 1, r.stderr)

    def test_check_valid(self):
        p = self.write("ok.json", self.good())
        r = rh("check", "--config", p, env={"RH_CLI_SECRET": "s3cret-value"})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("configuration is valid (1 source)", r.stdout)
        self.assertEqual(rh("check", "--config", p, "--quiet", env={"RH_CLI_SECRET": "x"}).stdout, "")

    def test_check_missing_secret_names_variable_not_value(self):
        p = self.write("ok.json", self.good())
        env = dict(os.environ)
        env.pop("RH_CLI_SECRET", None)
        r = subprocess.run([BIN, "check", "--config", p], capture_output=True, text=True, env=env)
        self.assertEqual(r.returncode, 2)
        self.assertIn(p + ": sources.gh.secrets[0]:", r.stderr)
        self.assertIn("RH_CLI_SECRET", r.stderr)
        # --no-secrets checks everything else without reading secrets.
        r = subprocess.run([BIN, "check", "--no-secrets", "--config", p], capture_output=True,
                           text=True, env=env)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_check_errors_name_file_and_path(self):
        cases = [
            ({"store": {"path": "/x.db"}, "server": {"threads": "8"},
              "sources": {"gh": {"preset": "github", "secrets": ["env:A"]}}}, "server.threads"),
            ({"store": {"path": "/x.db"},
              "sources": {"gh": {"preset": "gitlab", "secrets": ["env:A"]}}}, "sources.gh.preset"),
            ({"store": {"path": "/x.db"}, "sorces": {}}, "sorces"),
            ({"store": {"path": "/x.db"},
              "sources": {"gh": {"preset": "github", "secrets": ["hunter2"]}}}, "sources.gh.secrets[0]"),
        ]
        for doc, path in cases:
            with self.subTest(path=path):
                p = self.write("bad.json", doc)
                r = rh("check", "--no-secrets", "--config", p)
                self.assertEqual(r.returncode, 2, r.stdout)
                self.assertIn(p + ": " + path, r.stderr)
                self.assertNotIn("hunter2", r.stderr)
        p = self.write("syntax.json", '{"store": {"path": "/x.db"},\n "sources": {\n')
        r = rh("check", "--config", p)
        self.assertEqual(r.returncode, 2)
        self.assertIn(p + ":", r.stderr)
        self.assertIn("line", r.stderr)
        r = rh("check", "--config", os.path.join(self.tmp, "missing.json"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("missing.json", r.stderr)

    def test_serve_with_bad_config_exits_2(self):
        p = self.write("bad.json", {"store": {}})
        r = rh("serve", "--config", p)
        self.assertEqual(r.returncode, 2)
        self.assertIn("store.path", r.stderr)

    def test_check_normalizers_roles_and_zendesk(self):
        base = self.good()
        env = {"RH_CLI_SECRET": "s", "RH_CLI_ZD": "t"}
        cases = [
            ({"normalizer": "bamboo"}, None, "sources.gh.normalizer: unknown normaliser"),
            ({"normalizer": "generic"}, None, "sources.gh.mapping: missing"),
            ({"normalizer": "generic", "mapping": {"kind": "/type", "employee_id": "/id"}}, None,
             "sources.gh.mapping.kinds"),
            ({}, {"custom_roles": [{"name": "T1", "configuration": {"light_agent": True}}]},
             'custom_roles[0] ("T1")'),
            ({}, {"zendesk": {"base_url": "https://x.zendesk.com", "bogus": 1,
                              "auth": {"email": "a@x.com", "token": "env:RH_CLI_ZD"}}},
             "zendesk"),
        ]
        for src_extra, top_extra, want in cases:
            with self.subTest(want=want):
                doc = json.loads(json.dumps(base))
                doc["sources"]["gh"].update(src_extra)
                doc.update(top_extra or {})
                p = self.write("n.json", doc)
                r = rh("check", "--config", p, env=env)
                self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
                self.assertIn(want, r.stderr)
        # check validates the zendesk section but never reads its credential
        # (serve's user cannot): an unset variable is fine, an inline token is not.
        zd = {"base_url": "https://x.zendesk.com",
              "auth": {"email": "a@x.com", "token": "env:RH_CLI_NOT_SET_ANYWHERE"}}
        doc = dict(json.loads(json.dumps(base)), zendesk=zd)
        r = rh("check", "--config", self.write("z.json", doc), env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        zd["auth"]["token"] = "inline-token-value"
        doc = dict(json.loads(json.dumps(base)), zendesk=zd)
        r = rh("check", "--config", self.write("z.json", doc), env=env)
        self.assertEqual(r.returncode, 2)
        self.assertIn("zendesk.auth.token: secrets must be file: or env: references", r.stderr)
        self.assertNotIn("inline-token-value", r.stderr)
        # A preset with no normaliser of its own: valid, with a warning.
        r = rh("check", "--config", self.write("w.json", base), env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("warning: preset \"github\" has no normaliser", r.stderr)

    def test_check_warns_of_a_policy_role_custom_roles_does_not_declare(self):
        doc = self.good()
        doc["custom_roles"] = [{"name": "Tier 1", "configuration": {"ticket_editing": True}}]
        doc["policy"] = {"rules": [
            {"name": "t1", "when": {"title": "Agent"},
             "then": {"role": "agent", "custom_role": "tier 1"}},
            {"name": "leads", "when": {"title": "Lead"},
             "then": {"role": "agent", "custom_role": "Team lead"}}]}
        r = rh("check", "--no-secrets", "--config", self.write("u.json", doc))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('warning: policy.rules[1] (leads): custom role "Team lead" is not '
                      'declared in custom_roles', r.stderr)
        self.assertNotIn("rules[0]", r.stderr)      # declared, whatever the case
        del doc["custom_roles"]                     # nothing declared: no opinion
        r = rh("check", "--no-secrets", "--config", self.write("u.json", doc))
        self.assertNotIn("not declared", r.stderr)
        self.assertIn("policy is valid (2 rules", r.stdout)
        # Nothing is said valid before a later check fails.
        doc["sources"]["gh"]["normalizer"] = "bamboo"
        r = rh("check", "--no-secrets", "--config", self.write("u.json", doc))
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertEqual(r.stdout, "")

    # ------------------------------------------------ trust boundary

    def check_fails(self, doc, want, env=None, secrets=True):
        p = self.write("t.json", doc)
        args = ["check", "--config", p] + ([] if secrets else ["--no-secrets"])
        r = rh(*args, env=dict({"RH_CLI_SECRET": "s3cret-value"}, **(env or {})))
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn(p + ": " + want, r.stderr)
        return r

    def test_check_refuses_unsigned_timestamp(self):
        for scheme, want in (
                ({"header": "x-sig", "timestamp_header": "x-ts"},
                 'sources.c.scheme.template: timestamp_header "x-ts" is a timestamp source '
                 'but the template "{body}" does not sign it: the replay window would check '
                 'a value the sender did not sign'),
                ({"header": "x-sig", "timestamp_header": "x-ts", "template": "{body}",
                  "tolerance_s": 60},
                 "sources.c.scheme.template: timestamp_header"),
                ({"header": "x-sig", "format": "kv", "version": "v1"},
                 "sources.c.scheme.template: the kv format's t= is a timestamp source")):
            with self.subTest(scheme=scheme):
                doc = self.good()
                doc["sources"]["c"] = {"preset": "custom", "secrets": ["env:RH_CLI_SECRET"],
                                       "scheme": scheme}
                self.check_fails(doc, want)
                self.check_fails(doc, want, secrets=False)
        doc = self.good()
        doc["sources"]["c"] = {"preset": "custom", "secrets": ["env:RH_CLI_SECRET"],
                               "scheme": {"header": "x-sig", "timestamp_header": "x-ts",
                                          "template": "{timestamp}.{body}"}}
        r = rh("check", "--config", self.write("ok.json", doc), env={"RH_CLI_SECRET": "s"})
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_check_refuses_replay_window_off(self):
        for preset in ("zendesk", "standard-webhooks", "finch", "stripe", "bamboohr"):
            with self.subTest(preset=preset):
                secret = rhstack.SECRETS[preset]
                doc = self.good()
                doc["sources"]["s"] = {"preset": preset, "secrets": ["env:RH_CLI_S"]}
                # The default window passes (bamboohr: 300 s, as the others).
                r = rh("check", "--config", self.write("ok.json", doc),
                       env={"RH_CLI_SECRET": "s", "RH_CLI_S": secret})
                self.assertEqual(r.returncode, 0, r.stderr)
                doc["sources"]["s"]["tolerance_s"] = 0
                self.check_fails(doc, "sources.s.tolerance_s: 0 turns the replay window off "
                                 "for a scheme that signs a timestamp: anyone who captures one "
                                 "signed request could send it again",
                                 env={"RH_CLI_S": secret})
                doc["sources"]["s"]["insecure_no_replay_window"] = True
                r = rh("check", "--config", self.write("off.json", doc),
                       env={"RH_CLI_SECRET": "s", "RH_CLI_S": secret})
                self.assertEqual(r.returncode, 0, r.stderr)
        doc = self.good()
        doc["sources"]["gh"]["insecure_no_replay_window"] = True
        self.check_fails(doc, "sources.gh.insecure_no_replay_window: only allowed with "
                         "\"tolerance_s\": 0 on a scheme that signs a timestamp")

    def test_secret_files_owner_only(self):
        key = os.path.join(self.tmp, "gh.key")
        with open(key, "w") as f:
            f.write("file-secret-value\n")
        doc = self.good()
        doc["sources"]["gh"]["secrets"] = ["file:" + key]
        for mode in (0o640, 0o660, 0o620, 0o604, 0o644):
            with self.subTest(mode=oct(mode)):
                os.chmod(key, mode)
                r = self.check_fails(doc, "sources.gh.secrets[0]: secret file %s has mode %04o, "
                                     "which lets its group or other users read or change it; "
                                     "run: chmod 600 %s" % (key, mode, key))
                self.assertNotIn("file-secret-value", r.stderr)
        os.chmod(key, 0o600)
        r = rh("check", "--config", self.write("ok.json", doc))
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_zendesk_credential_file_owner_only(self):
        # check never reads the Zendesk credential (serve's user cannot);
        # the commands that do refuse a file its group may read.
        key = os.path.join(self.tmp, "zd.key")
        with open(key, "w") as f:
            f.write("zd-token-value\n")
        os.chmod(key, 0o640)
        doc = dict(self.good(), zendesk={
            "base_url": "https://x.zendesk.com",
            "auth": {"email": "a@x.com", "token": "file:" + key}})
        p = self.write("zd.json", doc)
        r = rh("check", "--config", p, env={"RH_CLI_SECRET": "s"})
        self.assertEqual(r.returncode, 0, r.stderr)
        r = rh("report", "seats", "--config", p, "--format", "csv")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("zendesk.auth.token: secret file %s has mode 0640, which lets its group "
                      "or other users read or change it; run: chmod 600 %s" % (key, key),
                      r.stderr)
        self.assertNotIn("zd-token-value", r.stderr)

    def test_listen_loopback_only(self):
        for listen in ("0.0.0.0:9000", "10.0.0.5:9000", "192.168.1.2:80"):
            with self.subTest(listen=listen):
                doc = dict(self.good(), server={"listen": listen})
                self.check_fails(doc, 'server.listen: "%s" is not a loopback address' % listen,
                                 secrets=False)
                r = rh("serve", "--config", self.write("s.json", doc),
                       env={"RH_CLI_SECRET": "s"})
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn("server.listen", r.stderr)
        doc = dict(self.good(), server={"listen": "[::1]:9000"})
        self.check_fails(doc, "server.listen: IPv6 addresses are not supported", secrets=False)
        for listen in ("127.0.0.1:9000", "127.8.9.10:9000", "localhost:9000"):
            with self.subTest(listen=listen):
                doc = dict(self.good(), server={"listen": listen})
                r = rh("check", "--no-secrets", "--config", self.write("ok.json", doc))
                self.assertEqual(r.returncode, 0, r.stderr)

    @unittest.skipUnless(os.path.exists("/proc/self/environ"), "needs /proc")
    def test_serve_drops_env_secrets(self):
        # Once read, an env: secret is neither in the environment a child
        # would inherit nor in /proc/PID/environ.
        secret = "Env-Secret-Value-4242"
        sock = os.path.join(self.tmp, "s.sock")
        doc = dict(self.good(), server={"listen": "unix:" + sock})
        p = self.write("serve.json", doc)
        env = dict(os.environ, RH_CLI_SECRET=secret, RH_CLI_OTHER="kept")
        proc = subprocess.Popen([BIN, "serve", "--config", p], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            rhstack.wait_for(lambda: os.path.exists(sock) or proc.poll() is not None,
                             what="serve's socket")
            self.assertIsNone(proc.poll(), "serve exited early")
            with open("/proc/%d/environ" % proc.pid, "rb") as f:
                environ = f.read()
            self.assertNotIn(secret.encode(), environ)
            self.assertNotIn(b"RH_CLI_SECRET=", environ)
            self.assertIn(b"RH_CLI_OTHER=kept", environ)
        finally:
            proc.terminate()
            _, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 0, err)

    def test_shipped_example_checks(self):
        r = rh("check", "--no-secrets", "--config", os.path.join(rhstack.SRC, "deploy", "rolehook.example.json"))
        self.assertEqual(r.returncode, 0, r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
