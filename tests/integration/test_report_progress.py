"""report seats and reconcile on ~300 agents: the estimate line comes on
stderr before any per-agent request has finished; progress lines follow
on stderr (plain lines when it is not a terminal, one \\r-rewritten line
when it is); --quiet drops both; stdout (CSV) is byte for byte the same
either way; and a run makes no request beyond what its estimate counts.
How close a run gets to the rate-limit floor is measured by
bench/report.py, not here: a timed assertion fails on a loaded machine."""
import csv
import io
import json
import os
import pty
import re
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rhstack  # noqa: E402

BIN = os.environ.get("ROLEHOOK_BIN", os.path.join(rhstack.SRC, "build", "rolehook"))
N = 300
RATE = 12000          # requests/min: the governor, not the fake, sets the pace
BASE_ID = 360000300000
POLICY = {
    "match_users_by": ["external_id", "email"],
    "rules": [
        {"name": "tier1", "when": {"department": "Support", "title": {"prefix": "Associate"}},
         "then": {"role": "agent", "custom_role": "Tier 1", "groups": ["Tier 1"],
                  "entitlements": {"talk": "agent", "chat": "agent"}}},
        {"name": "others", "when": {}, "then": {"role": "end-user"}},
    ],
    "leaver": {"steps": ["entitlements_off", "downgrade", "suspend"]},
}
ESTIMATE = re.compile(r"^rolehook: (report seats|reconcile): ([\d,]+) (agents|people), about "
                      r"([\d,]+) requests: at least (.+) at ([\d,]+) requests/min$")
PROGRESS = re.compile(r"rolehook: (report seats|reconcile): ([\d,]+)/([\d,]+) (agents|people) "
                      r"\((\d+)%\)")


def num(s):
    return int(s.replace(",", ""))


class ReportProgress(rhstack.FakeZendeskCase):
    @classmethod
    def setUpClass(cls):
        users, mems, ents, people = [], [], {}, []
        for i in range(N):
            uid = BASE_ID + i
            users.append({"id": uid, "name": "Agent %d" % i, "email": "p%d@example.com" % i,
                          "role": "agent", "custom_role_id": 101, "external_id": "P-%d" % i})
            mems.append({"id": 700000 + i, "user_id": uid, "group_id": 201})
            ents[str(uid)] = {"talk": {"name": "agent", "is_active": True},
                              "chat": {"name": "agent", "is_active": True}}
            people.append({"employee_id": "P-%d" % i, "email": "p%d@example.com" % i,
                           "department": "Support", "title": "Associate Agent"})
        seed = {"custom_roles": [{"id": 101, "name": "Tier 1", "description": "first line",
                                  "configuration": {"ticket_editing": True}}],
                "groups": [{"id": 201, "name": "Tier 1"}],
                "users": users, "memberships": mems, "entitlements": ents}
        cls.start_fake(seed, RATE, POLICY, "rolehook-progress-")
        cls.people = os.path.join(cls.tmp, "people.json")
        with open(cls.people, "w") as f:
            json.dump(people, f)

    def setUp(self):
        super().setUp()
        # A few ms per answer: one request at a time would add it to each.
        self.zd.control("POST", "/__fake/faults", {"rules": [
            {"match": "/api/*", "kind": "slow", "delay_s": 0.004}]})
        self.zd.control("POST", "/__fake/config", {"rate_limit": RATE})

    def seq(self):
        reqs = self.zd.requests()["requests"]
        return reqs[-1]["seq"] if reqs else 0

    def timed(self, *args):
        """Runs rolehook; returns (result, elapsed, floor from the fake's log);
        self.paths: the paths it requested."""
        seq = self.seq()
        t0 = time.monotonic()
        r = subprocess.run([BIN] + list(args), env=self.env, capture_output=True, text=True,
                           timeout=120)
        el = time.monotonic() - t0
        self.paths = [q["path"] for q in self.zd.requests(seq)["requests"]
                      if q["path"].startswith("/api/")]
        return r, el, len(self.paths) * 60.0 / RATE

    def check_progress(self, err, cmd, what, total):
        lines = err.splitlines()
        est = [m for m in map(ESTIMATE.match, lines) if m]
        self.assertEqual(len(est), 1, err)
        m = est[0]
        self.assertEqual((m.group(1), num(m.group(2)), m.group(3)), (cmd, total, what))
        self.assertEqual(num(m.group(6)), RATE)    # learned from the headers
        first_progress = min(i for i, l in enumerate(lines) if PROGRESS.search(l))
        self.assertLess(lines.index(m.group(0)), first_progress)
        prog = [PROGRESS.search(l) for l in lines if PROGRESS.search(l)]
        # Not a terminal: plain lines, about one per 10 %, and a last one.
        self.assertGreaterEqual(len(prog), 5, err)
        self.assertLessEqual(len(prog), 12, err)
        done = [num(p.group(2)) for p in prog]
        self.assertEqual(done, sorted(done))
        self.assertEqual(done[-1], total)
        self.assertTrue(all(num(p.group(3)) == total for p in prog))
        self.assertIn("done in", lines[[i for i, l in enumerate(lines) if PROGRESS.search(l)][-1]])
        self.assertTrue(any("left" in l for l in lines if PROGRESS.search(l)), err)
        self.assertNotIn("\r", err)
        return num(m.group(4))

    def test_report_estimate_progress_and_clean_csv(self):
        r, el, floor = self.timed("report", "seats", "--config", self.cfg, "--format", "csv")
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        est = self.check_progress(r.stderr, "report seats", "agents", N)
        # The estimate counts what the run then does (plus the count itself).
        reqs = floor * RATE / 60.0
        self.assertLessEqual(abs(reqs - 1 - est), 2, (reqs, est))
        # No request wasted: groups come from one membership listing, so the
        # only per-agent read is the entitlements.
        per_user = [p for p in self.paths if p.startswith("/api/v2/users/") and
                    p.count("/") > 4]
        self.assertEqual(len(per_user), N, sorted(set(p.rsplit("/", 1)[-1] for p in per_user)))
        self.assertTrue(all("/entitlements" in p for p in per_user))
        self.assertEqual(self.paths.count("/api/v2/group_memberships.json"), 3)   # 300 / 100
        rows = list(csv.reader(io.StringIO(r.stdout)))
        self.assertEqual(rows[0][:3], ["id", "email", "name"])
        self.assertEqual(sorted(int(x[0]) for x in rows[1:]), [BASE_ID + i for i in range(N)])
        self.assertNotIn("rolehook", r.stdout)
        # --quiet: the same stdout, and neither estimate nor progress.
        q = subprocess.run([BIN, "report", "seats", "--config", self.cfg, "--format", "csv",
                            "--quiet"], env=self.env, capture_output=True, text=True, timeout=120)
        self.assertEqual(q.returncode, 0, q.stderr[-2000:])
        self.assertEqual(q.stdout, r.stdout)
        self.assertFalse([l for l in q.stderr.splitlines()
                          if ESTIMATE.match(l) or PROGRESS.search(l)], q.stderr)
        self.assertIn("totals:", q.stderr)

    def test_estimate_before_any_per_agent_answer(self):
        # Every per-agent read answers after 1 s at the earliest; the estimate
        # must be on stderr long before that.
        self.zd.control("POST", "/__fake/faults", {"replace": True, "rules": [
            {"match": "/api/v2/users/*/entitlements*", "kind": "slow", "delay_s": 1.0,
             "count": 16}]})
        seq = self.seq()
        p = subprocess.Popen([BIN, "report", "seats", "--config", self.cfg, "--format", "csv"],
                             env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             text=True)
        try:
            line = ""
            t0 = time.monotonic()
            while not ESTIMATE.match(line.rstrip("\n")):
                line = p.stderr.readline()
                self.assertTrue(line, "no estimate line")
            finished = [q for q in self.zd.requests(seq)["requests"]
                        if "/group_memberships" in q["path"] or "/entitlements" in q["path"]]
            self.assertFalse([q for q in finished if q["status"] is not None], finished)
            self.assertLess(time.monotonic() - t0, 1.0)
            p.stderr.read()
            self.assertEqual(p.wait(60), 0)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stderr.close()

    def test_membership_listing_refused_falls_back_per_agent(self):
        self.zd.control("POST", "/__fake/faults", {"replace": True, "rules": [
            {"match": "GET /api/v2/group_memberships*", "kind": "garbage"},
            {"match": "/api/*", "kind": "slow", "delay_s": 0.004}]})
        r, el, floor = self.timed("report", "seats", "--config", self.cfg, "--format", "csv")
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        self.assertIn("cannot list all group memberships", r.stderr)
        ests = [m for m in map(ESTIMATE.match, r.stderr.splitlines()) if m]
        self.assertEqual(len(ests), 2, r.stderr)            # again, per agent
        self.assertEqual(num(ests[1].group(4)), 2 * N)
        rows = list(csv.reader(io.StringIO(r.stdout)))[1:]
        self.assertEqual(len(rows), N)
        self.assertTrue(all(row[5] == "Tier 1" for row in rows))
        self.assertEqual(len([p for p in self.paths if p.endswith("/group_memberships.json")
                              and p.startswith("/api/v2/users/")]), N)

    def test_terminal_gets_one_rewritten_line(self):
        master, slave = pty.openpty()
        p = subprocess.Popen([BIN, "report", "seats", "--config", self.cfg, "--format", "csv"],
                             env=self.env, stdout=subprocess.PIPE, stderr=slave)
        os.close(slave)
        chunks = []
        while True:
            try:
                b = os.read(master, 65536)
            except OSError:
                break
            if not b:
                break
            chunks.append(b)
        out = p.stdout.read()
        p.stdout.close()
        self.assertEqual(p.wait(60), 0)
        os.close(master)
        tty = b"".join(chunks).decode()
        self.assertIn("\rrolehook: report seats: ", tty)
        # Progress rewrites one line: its updates are \r-separated, not lines.
        plines = [l for l in tty.split("\n") if PROGRESS.search(l)]
        self.assertEqual(len(plines), 1, tty)
        self.assertIn("done in", plines[0])
        self.assertNotIn(b"rolehook:", out)

    def test_reconcile_estimate_progress(self):
        r, el, floor = self.timed("reconcile", "--config", self.cfg, "--people", self.people)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        self.check_progress(r.stderr, "reconcile", "people", N)
        self.assertEqual(r.stdout, "")                  # no drift seeded
        self.assertIn("%d people checked, 0 with drift" % N, r.stderr)
        q = subprocess.run([BIN, "reconcile", "--config", self.cfg, "--people", self.people,
                            "--quiet"], env=self.env, capture_output=True, text=True, timeout=120)
        self.assertEqual(q.returncode, 0, q.stderr[-2000:])
        self.assertFalse([l for l in q.stderr.splitlines()
                          if ESTIMATE.match(l) or PROGRESS.search(l)], q.stderr)


if __name__ == "__main__":
    unittest.main()
