"""What the table output of `events list` and `why` shows of the store.

A compromised `serve` (or anyone who can write the store) can put escape
sequences into a delivery id, an outcome note or an audit row; none may
reach the operator's terminal raw: every store-sourced string printed in
table form has its control bytes as '?'.  Also: `why` takes a Zendesk
user id or a subject key, and says so for an e-mail address; report
totals say "1 agent", not "1 agents"."""
import json
import os
import sqlite3
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rhstack  # noqa: E402
from rhstack import sign  # noqa: E402
from test_oauth import SEED, POLICY, MAPPING  # noqa: E402

SECRET = "whsec_" + "Y2xpLW91dHB1dC10ZXN0LXNlY3JldC0wMTIzNDU2Nzg5"
ESC = "\x1b"


class TableOutput(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.zd = rhstack.FakeZendesk(seed=SEED)
        cls.stack = rhstack.hr_stack(cls.zd, MAPPING, SECRET, POLICY)
        body = json.dumps({"type": "employee.hired", "data": {
            "id": "E-2001", "work_email": "kim@example.com", "name": "Kim",
            "department": "Support", "job_title": "Associate"}}).encode()
        st, _, rb = cls.stack.post("hr", body, sign("standard-webhooks", SECRET, body,
                                                    msg_id="msg_cli_out_1"))
        assert st == 202, rb
        cls.stack.cli("work", "--until-idle")
        # A compromised writer plants terminal escapes in what is shown.
        db = sqlite3.connect(cls.stack.db)
        with db:
            db.execute("UPDATE events SET delivery_id = delivery_id || ?, last_error = ?",
                       (ESC + "]0;owned" + "\x07", "note " + ESC + "[2J" + ESC + "[31m"))
            db.execute("UPDATE audit SET action = action || ?, rule = ?, request = ?, "
                       "after = ?", (ESC + "[1m", "r" + ESC + "[8m",
                                     "PUT " + ESC + "[2K/x", "{}" + ESC + "c"))
            cls.zid = db.execute("SELECT zendesk_user FROM audit WHERE zendesk_user "
                                 "IS NOT NULL LIMIT 1").fetchone()[0]
        db.close()

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()
        cls.zd.stop()

    def table(self, *args):
        r = self.stack.cli(*args, "--format", "table", check=False)
        self.assertEqual(r.returncode, 0, (args, r.stderr))
        return r.stdout

    def test_events_list_cleans_delivery_id_and_note(self):
        out = self.table("events", "list")
        self.assertNotIn(ESC, out)
        self.assertNotIn("\x07", out)
        self.assertIn("?]0;owned?", out)
        self.assertIn("note ?[2J?[31m", out)

    def test_why_cleans_every_store_string(self):
        for user in ("generic:E-2001", str(self.zid)):
            out = self.table("why", user)
            self.assertNotIn(ESC, out, user)
            self.assertIn("?[1m", out)
            self.assertIn("rule r?[8m", out)
            self.assertIn("PUT ?[2K/x  {}?c", out)

    def test_report_totals_singular(self):
        """The owner (admin) and Kim (agent): "1 agent, 1 admin"."""
        out = self.table("report", "seats")
        self.assertIn("totals: 2 users (1 agent, 1 admin), 0 suspended", out)

    def test_why_by_email_says_what_user_is(self):
        r = self.stack.cli("why", "kim@example.com", check=False)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("rolehook why: USER: expected a Zendesk user id (digits) or a subject key "
                      "such as generic:E-2001", r.stderr)
        self.assertIn("run 'rolehook why --help' for usage", r.stderr)
        r = self.stack.cli("why", "generic:E-9999", check=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("no audit rows for generic:E-9999", r.stderr)


if __name__ == "__main__":
    unittest.main()
