"""OAuth against the fake Zendesk.

1. A `work` daemon authenticated by client credentials applies a stream
   of signed HR events while the fake expires access tokens every 1.5 s
   (and revokes them all every few events, so only a 401 tells):
   every event ends done, nothing is dead, the fake saw several grants and
   never two at once, and no token reaches the log.
2. Refresh-token rotation: `report seats` runs repeatedly and is killed
   with SIGKILL at random points, also while the fake holds back its
   answer after it rotated the token (the crash window): afterwards the
   file holds a live token, or the window is detected (the fake knows the
   file's token was rotated and its successor never seen) and rolehook
   says clearly that a new token from the Admin Center is needed.
3. Two processes refreshing at once never use the same refresh token.
4. `rolehook check` warns about API tokens."""
import json
import os
import random
import signal
import subprocess
import sys
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rhstack  # noqa: E402
from rhstack import sign  # noqa: E402

HR_SECRET = "whsec_" + "b2F1dGgtdGVzdC1zZWNyZXQtMDEyMzQ1Njc4OWFiYw=="
CLIENT_ID = "rolehook_test"
CLIENT_SECRET = "oauth-client-SECRET-1234"

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
        {"name": "tier1", "when": {"department": "Support"},
         "then": {"role": "agent", "custom_role": "Tier 1", "groups": ["Tier 1"]}},
        {"name": "others", "when": {}, "then": {"role": "end-user"}},
    ],
    "leaver": {"steps": ["downgrade", "suspend"]},
}
MAPPING = {"kind": "/type", "employee_id": "/data/id", "email": "/data/work_email",
           "name": "/data/name", "department": "/data/department", "title": "/data/job_title",
           "kinds": {"employee.hired": "hire", "employee.updated": "update",
                     "employee.terminated": "terminate", "employee.rehired": "rehire"}}


def hr_sources():
    return {"hr": {"preset": "standard-webhooks", "normalizer": "generic",
                   "mapping": MAPPING, "secret_values": [HR_SECRET]}}


def oauth_on(zd, **kw):
    doc = {"enabled": True, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    doc.update(kw)
    zd.control("POST", "/__fake/config", {"oauth": doc})


class ClientCredentials(unittest.TestCase):
    def hire(self, stack, emp, email, name, msg_id):
        """A signed Support hire posted through nginx; its event id."""
        body = json.dumps({"type": "employee.hired", "data": {
            "id": emp, "work_email": email, "name": name,
            "department": "Support", "job_title": "Associate"}}).encode()
        st, _, rb = stack.post("hr", body, sign("standard-webhooks", HR_SECRET, body,
                                                msg_id=msg_id))
        self.assertEqual(st, 202, rb)
        return json.loads(rb)["id"]

    def test_work_daemon_across_expiries(self):
        zd = rhstack.FakeZendesk(seed=SEED)
        oauth_on(zd, access_ttl_s=1.5)
        zconf = {"base_url": zd.base, "allow_http_loopback": True,
                 "auth": {"oauth": {"client_id": CLIENT_ID,
                                    "client_secret": "env:RH_TEST_ZD_OAUTH",
                                    "scope": "read write"}}}
        sources = {"hr": {"preset": "standard-webhooks", "normalizer": "generic",
                          "mapping": MAPPING, "secret_values": [HR_SECRET]}}
        stack = rhstack.Stack(sources, extra={"zendesk": zconf, "policy": POLICY})
        stack.env["RH_TEST_ZD_OAUTH"] = CLIENT_SECRET
        work = None
        wlog_path = os.path.join(stack.tmp, "work.log")
        try:
            stack.start()
            with open(wlog_path, "ab") as wl:
                work = subprocess.Popen([stack.bin, "work", "--config", stack.cfg_path,
                                         "--threads", "4", "--retry-base", "1",
                                         "--log-level", "debug"],
                                        env=stack.env, stdout=wl, stderr=wl)
            ids = []
            for i in range(24):
                ids.append(self.hire(stack, "E-%d" % i, "p%d@example.com" % i,
                                     "Person %d" % i, "msg_oauth_%d" % i))
                if i % 4 == 3:
                    # Revoked before its time: only a 401 tells rolehook.
                    zd.control("POST", "/__fake/oauth/expire")
                time.sleep(0.3)

            def states():
                return [json.loads(stack.cli("events", "show", str(e)).stdout)["state"]
                        for e in ids]
            deadline = time.time() + 60
            while time.time() < deadline and any(s != "done" for s in states()):
                time.sleep(0.5)
            self.assertEqual(states(), ["done"] * len(ids))
            dead = stack.cli("events", "dead", "--format", "json").stdout.strip()
            self.assertEqual(dead, "")
            self.assertIsNone(work.poll())
            o = zd.state()["oauth"]
            self.assertGreaterEqual(o["grants"]["client_credentials"], 3, o)
            self.assertEqual(o["max_inflight"], 1, o)
            self.assertEqual(o["denied"], 0)
            self.assertGreaterEqual(o["rejected"], 1, o)   # 401s were met
            print("grants %d, 401s %d" % (o["grants"]["client_credentials"], o["rejected"]))
            agents = [u for u in zd.state()["users"] if u["role"] == "agent"]
            self.assertEqual(len(agents), len(ids))
            reqs = zd.requests()["requests"]
            self.assertTrue(all(r["auth"] in ("bearer", None) for r in reqs))

            # The client is refused (secret rotated in Zendesk first): the
            # event waits, it is not a dead letter; fixed, it goes through.
            oauth_on(zd, client_secret="rotated-in-zendesk")
            zd.control("POST", "/__fake/oauth/expire")
            late = self.hire(stack, "E-late", "late@example.com", "Late", "msg_oauth_late")

            def late_state():
                return json.loads(stack.cli("events", "show", str(late)).stdout)["state"]
            rhstack.wait_for(lambda: zd.state()["oauth"]["denied"] >= 1, timeout=20,
                             what="a refused grant")
            time.sleep(1)
            self.assertIn(late_state(), ("pending", "retry"))
            oauth_on(zd, client_secret=CLIENT_SECRET)
            rhstack.wait_for(lambda: late_state() == "done", timeout=30, what="late event done")
            self.assertEqual(stack.cli("events", "dead", "--format", "json").stdout.strip(), "")
        finally:
            if work is not None and work.poll() is None:
                work.send_signal(signal.SIGTERM)
                work.wait(20)
            with open(wlog_path, "rb") as f:
                wlog = f.read().decode("utf-8", "replace")
            stack.stop()
            zd.stop()
        self.assertEqual(work.returncode, 0, wlog[-3000:])
        self.assertNotIn(CLIENT_SECRET, wlog)
        self.assertNotIn('"at-', wlog)
        self.assertNotIn("Bearer ", wlog)

    def test_refused_client_at_start_and_mid_run(self):
        """What docs/configuration.md (OAuth) says: a refused client stops
        work at start (exit 1, cannot read custom roles); once running, its
        events wait and retry (will retry) until the credential is fixed."""
        zd = rhstack.FakeZendesk(seed=SEED)
        oauth_on(zd)
        zconf = {"base_url": zd.base, "allow_http_loopback": True,
                 "auth": {"oauth": {"client_id": CLIENT_ID,
                                    "client_secret": "env:RH_TEST_ZD_OAUTH"}}}
        stack = rhstack.Stack(hr_sources(), extra={"zendesk": zconf, "policy": POLICY})
        stack.env["RH_TEST_ZD_OAUTH"] = CLIENT_SECRET
        work = None
        try:
            stack.start()
            stack.env["RH_TEST_ZD_OAUTH"] = "wrong"
            r = stack.cli("work", "--until-idle", check=False, timeout=60)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn("rolehook: work: Zendesk: cannot read custom roles: "
                          "POST /oauth/tokens: HTTP 401: invalid_client", r.stderr)
            stack.env["RH_TEST_ZD_OAUTH"] = CLIENT_SECRET
            wlog_path = os.path.join(stack.tmp, "work.log")
            with open(wlog_path, "ab") as wl:
                work = subprocess.Popen([stack.bin, "work", "--config", stack.cfg_path,
                                         "--retry-base", "1"], env=stack.env,
                                        stdout=wl, stderr=wl)

            def started():
                with open(wlog_path) as f:
                    return "worker started" in f.read()
            rhstack.wait_for(started, what="worker started")
            # The client's secret changes in Zendesk and the token dies.
            oauth_on(zd, client_secret="rotated-elsewhere")
            zd.control("POST", "/__fake/oauth/expire")
            eid = str(self.hire(stack, "E-77", "p77@example.com", "P 77",
                                "msg_refused_mid_run"))

            def event():
                return json.loads(stack.cli("events", "show", eid).stdout)
            rhstack.wait_for(lambda: event()["state"] == "retry", timeout=30,
                             what="event retried")
            self.assertIn("invalid_client", event()["last_error"])
            self.assertIsNone(work.poll())
            oauth_on(zd, client_secret=CLIENT_SECRET)    # fixed: it goes through
            rhstack.wait_for(lambda: event()["state"] == "done", timeout=60,
                             what="event done")
        finally:
            if work is not None:
                work.terminate()
                work.wait(timeout=30)
            stack.stop()
            zd.stop()

    def test_wrong_secret_is_unauthorized(self):
        zd = rhstack.FakeZendesk(seed=SEED)
        oauth_on(zd)
        try:
            stack = rhstack.Stack(hr_sources(), extra={"zendesk": {
                "base_url": zd.base, "allow_http_loopback": True,
                "auth": {"oauth": {"client_id": CLIENT_ID, "client_secret": "env:RH_T_BAD"}}}})
            stack.env["RH_T_BAD"] = "wrong"
            stack.write_config()
            r = stack.cli("report", "seats", "--format", "json", check=False)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("invalid_client", r.stderr)
            self.assertNotIn("wrong", r.stderr.replace("wrong-", ""))
            stack.stop()
        finally:
            zd.stop()


class RefreshRotation(unittest.TestCase):
    def setUp(self):
        self.zd = rhstack.FakeZendesk(seed=SEED)
        oauth_on(self.zd, access_ttl_s=1800)
        self.stack = rhstack.Stack(hr_sources(), extra={"zendesk": {
            "base_url": self.zd.base, "allow_http_loopback": True,
            "auth": {"oauth": {"client_id": CLIENT_ID, "client_secret": "env:RH_TEST_ZD_OAUTH",
                               "refresh_token_file": None}}}})
        self.dir = os.path.join(self.stack.tmp, "oauth")
        os.mkdir(self.dir, 0o700)
        self.rfile = os.path.join(self.dir, "refresh_token")
        self.stack.extra["zendesk"]["auth"]["oauth"]["refresh_token_file"] = self.rfile
        self.stack.env["RH_TEST_ZD_OAUTH"] = CLIENT_SECRET
        self.stack.write_config()
        self.admin_center()

    def tearDown(self):
        self.stack.stop()
        self.zd.stop()

    def admin_center(self):
        """The manual recovery: a new token from the Admin Center, 0600."""
        tok = self.zd.control("POST", "/__fake/oauth/refresh_token")["refresh_token"]
        fd = os.open(self.rfile + ".new", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, (tok + "\n").encode())
        os.close(fd)
        os.rename(self.rfile + ".new", self.rfile)
        return tok

    def file_token(self):
        with open(self.rfile) as f:
            return f.read().strip()

    def seats(self, **kw):
        return subprocess.Popen([self.stack.bin, "report", "seats", "--format", "json",
                                 "--config", self.stack.cfg_path], env=self.stack.env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)

    def test_rotation_survives_kill_9(self):
        rng = random.Random(7)
        windows = recovered = 0
        for i in range(14):
            # Half the runs: the fake holds its answer back after rotating.
            delay = 0.4 if i % 2 else 0
            oauth_on(self.zd, delay_s=delay)
            p = self.seats()
            time.sleep(rng.uniform(0.0, 0.6))
            p.send_signal(signal.SIGKILL)
            p.communicate()
            oauth_on(self.zd, delay_s=0)
            time.sleep(0.5)    # let an answer held back by the fake finish
            tok = self.file_token()
            o = self.zd.state()["oauth"]
            info = o["refresh"][tok]
            if info["state"] == "live":
                continue
            # Dead token: only allowed when the kill fell in the window: the
            # fake rotated it and its successor was never used or seen.
            self.assertEqual(info["state"], "used", info)
            nxt = o["refresh"][info["next"]]
            self.assertEqual((nxt["used"], nxt["reused"]), (0, 0), nxt)
            tmp = self.rfile + ".tmp"
            left = None
            if os.path.exists(tmp):
                with open(tmp) as f:
                    left = f.read().strip()
            r = self.seats()
            out, err = r.communicate(timeout=60)
            if left == info["next"]:
                # Killed after writing FILE.tmp, before the rename: the
                # next run takes the live token from there.
                self.assertEqual(r.returncode, 0, err)
                self.assertIn("interrupted rotation", err)
                self.assertEqual(self.zd.state()["oauth"]["refresh"][self.file_token()]["state"], "live")
                self.assertFalse(os.path.exists(tmp))
                recovered += 1
                continue
            windows += 1
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("invalid_grant", err)
            self.assertIn("Admin Center", err)
            self.assertIn(self.rfile, err)
            self.assertNotIn(tok, err)
            self.admin_center()
        # A run to the end always leaves a live token, mode 0600.
        r = self.seats()
        out, err = r.communicate(timeout=60)
        self.assertEqual(r.returncode, 0, err)
        o = self.zd.state()["oauth"]
        self.assertEqual(o["refresh"][self.file_token()]["state"], "live")
        self.assertEqual(os.stat(self.rfile).st_mode & 0o777, 0o600)
        self.assertFalse(os.path.exists(self.rfile + ".tmp"))
        self.assertEqual(o["max_inflight"], 1, o)
        print("kill -9 runs in the crash window: %d; after FILE.tmp, recovered: %d"
              % (windows, recovered))

    def test_token_left_in_tmp_is_taken(self):
        """The state a kill between writing FILE.tmp and the rename leaves:
        the file's token rotated away (dead), its successor in FILE.tmp.
        The next run takes the live one from FILE.tmp and goes on."""
        old = self.file_token()
        body = json.dumps({"grant_type": "refresh_token", "refresh_token": old,
                           "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}).encode()
        req = urllib.request.Request(self.zd.base + "/oauth/tokens", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req) as resp:
            new = json.loads(resp.read())["refresh_token"]
        fd = os.open(self.rfile + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, (new + "\n").encode())
        os.close(fd)
        self.assertEqual(self.zd.state()["oauth"]["refresh"][old]["state"], "used")
        r = self.seats()
        out, err = r.communicate(timeout=60)
        self.assertEqual(r.returncode, 0, err)
        self.assertIn("interrupted rotation", err)
        self.assertNotIn(new, err)
        tok = self.file_token()
        self.assertNotIn(tok, (old, new))
        self.assertEqual(self.zd.state()["oauth"]["refresh"][tok]["state"], "live")
        self.assertFalse(os.path.exists(self.rfile + ".tmp"))

    def test_revoked_refresh_token_is_said_whole(self):
        """A refresh token Zendesk refuses: report seats, work and reconcile
        say so whole -- the file named (a long path), what to do -- with
        OAuth advice, not the API token's."""
        d = os.path.join(self.dir, "a-long-directory-name-" + "x" * 100)
        os.mkdir(d, 0o700)
        rfile = os.path.join(d, "refresh_token")
        fd = os.open(rfile, os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, b"rt-revoked-by-an-admin\n")
        os.close(fd)
        self.stack.extra["zendesk"]["auth"]["oauth"]["refresh_token_file"] = rfile
        self.stack.extra["policy"] = POLICY
        self.stack.write_config()
        whole = ("Zendesk refused the refresh token in %s (invalid_grant: used already or "
                 "revoked): put a new one from the Admin Center into that file "
                 "(docs/operations.md, OAuth)" % rfile)
        for args in (["report", "seats", "--format", "json"], ["work", "--until-idle"],
                     ["reconcile", "--quiet"]):
            r = self.stack.cli(*args, check=False, timeout=60)
            self.assertEqual(r.returncode, 1, (args, r.stderr))
            said = [l for l in r.stderr.splitlines() if l.startswith("rolehook: ")]
            self.assertTrue(said and whole in said[-1], (args, r.stderr))
            self.assertNotIn("API token", r.stderr)
            if args[0] == "report":
                self.assertIn("check zendesk.auth.oauth: client_id and client_secret",
                              said[-1])

    def test_concurrent_processes_share_the_file(self):
        oauth_on(self.zd, delay_s=0.2)
        ps = [self.seats() for _ in range(4)]
        for p in ps:
            out, err = p.communicate(timeout=120)
            self.assertEqual(p.returncode, 0, err)
        o = self.zd.state()["oauth"]
        self.assertEqual(o["grants"]["refresh_token"], 4, o)
        self.assertEqual(o["invalid_grants"], 0, o)
        self.assertEqual(o["max_inflight"], 1, o)
        self.assertTrue(all(r["reused"] == 0 for r in o["refresh"].values()))
        self.assertEqual(o["refresh"][self.file_token()]["state"], "live")


class Check(unittest.TestCase):
    def test_api_token_warning(self):
        zd = rhstack.FakeZendesk(seed=SEED)
        try:
            stack = rhstack.Stack(hr_sources(), extra={"zendesk": zd.config()})
            stack.env.update(zd.env())
            stack.write_config()
            r = stack.cli("check", check=False)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("warning: zendesk.auth: API tokens stop working on 2027-04-30; "
                          "use OAuth (docs/operations.md)", r.stderr)
            stack.extra["zendesk"] = {"base_url": zd.base, "allow_http_loopback": True,
                                      "auth": {"oauth": {"client_id": CLIENT_ID,
                                                         "client_secret": "env:X_SECRET",
                                                         "scope": "read write"}}}
            stack.env["X_SECRET"] = "x"
            stack.write_config()
            r = stack.cli("check", check=False)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertNotIn("API tokens", r.stderr)
            stack.stop()
        finally:
            zd.stop()

    def test_check_reads_the_refresh_file(self):
        """check looks at the refresh-token file as work will: missing,
        too open, empty, or in a directory work cannot write to are errors
        (exit 2) naming the field and what to do; never the token."""
        zd = rhstack.FakeZendesk(seed=SEED)
        stack = rhstack.Stack(hr_sources(), extra={"zendesk": zd.config()})
        try:
            d = os.path.join(stack.tmp, "oauth")
            os.mkdir(d, 0o700)
            rf = os.path.join(d, "refresh")
            stack.extra["zendesk"] = {"base_url": zd.base, "allow_http_loopback": True,
                                      "auth": {"oauth": {"client_id": CLIENT_ID,
                                                         "client_secret": "env:X_SECRET",
                                                         "refresh_token_file": rf}}}
            stack.env["X_SECRET"] = "x"
            stack.write_config()

            def check():
                return stack.cli("check", check=False)
            r = check()
            self.assertEqual(r.returncode, 2)
            self.assertIn("zendesk.auth.oauth.refresh_token_file: cannot open refresh token file", r.stderr)
            self.assertIn("Admin Center", r.stderr)
            with open(rf, "w") as f:
                f.write("rt-secret-value-1\n")
            os.chmod(rf, 0o644)
            r = check()
            self.assertEqual(r.returncode, 2)
            self.assertIn("chmod 600 %s" % rf, r.stderr)
            os.chmod(rf, 0o600)
            self.assertEqual(check().returncode, 0)
            with open(rf, "w") as f:
                f.write("")
            r = check()
            self.assertEqual(r.returncode, 2)
            self.assertIn("does not hold one", r.stderr)
            with open(rf, "w") as f:
                f.write("rt-secret-value-1\n")
            # --no-secrets does not read it.
            os.unlink(rf)
            self.assertEqual(stack.cli("check", "--no-secrets", check=False).returncode, 0)
            with open(rf, "w") as f:
                f.write("rt-secret-value-1\n")
            os.chmod(rf, 0o600)
            if os.geteuid() != 0:  # root may write anywhere
                os.chmod(d, 0o500)
                r = check()
                os.chmod(d, 0o700)
                self.assertEqual(r.returncode, 2)
                self.assertIn("renaming it", r.stderr)
            for out in (r.stdout, r.stderr):
                self.assertNotIn("rt-secret-value-1", out)
        finally:
            stack.stop()
            zd.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
