"""The operator commands on a PostgreSQL store (issue 14: "events, why,
report, reconcile work the same on both engines"), with a real
PostgreSQL 15 started here (pgserver.py).

The scenarios are the SQLite tests' own, run again unchanged: every
rhstack.Stack these tests build gets a fresh PostgreSQL schema as its
store instead of a SQLite file (PgStore below).  What they cover:

- events list/show (test_ingress), dead/retry (a PostgreSQL copy of
  test_ingress's, which plants the dead letter with psql), --held and
  approve (test_guard), --pending and cancel (test_effective), replay and
  its --policy preview, dead letters from the worker, why (test_pipeline);
- report seats' stored-leavers scan (test_report_roles);
- reconcile, report mode and --fix queueing events that work applies
  (test_reconcile);
- check with a PostgreSQL configuration: DSN and password errors.

What differs by design: test_pipeline's "one worker per store" (SQLite's
lock file) becomes "two workers at once are allowed" here.
"""
import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pgserver  # noqa: E402
import rhstack  # noqa: E402
from rhstack import sign  # noqa: E402
import test_effective  # noqa: E402
import test_guard  # noqa: E402
import test_ingress  # noqa: E402
import test_pipeline  # noqa: E402
import test_reconcile  # noqa: E402
import test_report_roles  # noqa: E402

PG = None
PW_ENV = "RH_TEST_PG_PASSWORD"
BIN = os.environ.get("ROLEHOOK_BIN", os.path.join(rhstack.SRC, "build", "rolehook"))


def setUpModule():
    global PG
    PG = pgserver.PgServer(fsync=False).start()


def tearDownModule():
    PG.stop()


_stack_init = rhstack.Stack.__init__


def _pg_stack_init(self, sources, *args, **kw):
    """rhstack.Stack on a fresh PostgreSQL schema unless the test chose
    its own store."""
    if not kw.get("extra_store"):
        self.pg_dsn = PG.new_schema()
        kw["extra_store"] = {"engine": "postgresql", "dsn": self.pg_dsn,
                             "password": "env:" + PW_ENV, "lease_s": 5}
    _stack_init(self, sources, *args, **kw)
    self.env[PW_ENV] = PG.password


class PgStore:
    """Mixin: the test's stacks use PostgreSQL while it runs."""

    @classmethod
    def setUpClass(cls):
        rhstack.Stack.__init__ = _pg_stack_init
        try:
            super().setUpClass()
        except BaseException:
            rhstack.Stack.__init__ = _stack_init
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            rhstack.Stack.__init__ = _stack_init


# ----------------------------------------------- the SQLite scenarios again

class EventsPg(PgStore, test_ingress.IngressTest):
    """events list/show, and dead/retry with a dead letter planted."""

    def test_dead_letters_listed_and_retried(self):
        body = b'{"dead":"letter"}'
        st, _, rb = self.post("github", body, sign("github", rhstack.SECRETS["github"], body,
                                                   msg_id="dead-1"))
        eid = json.loads(rb)["id"]
        PG.psql("UPDATE events SET state='dead', attempts=1, last_error='HTTP 422: bad field'"
                " WHERE id=%d" % eid, dsn=self.stack.pg_dsn)
        dead = [json.loads(l) for l in self.stack.cli("events", "dead", "--format", "json").stdout.splitlines()]
        self.assertEqual([(d["id"], d["last_error"]) for d in dead], [(eid, "HTTP 422: bad field")])
        self.assertIn("HTTP 422: bad field", self.stack.cli("events", "dead", "--format", "table").stdout)
        r = self.stack.cli("events", "retry", str(eid))
        self.assertIn("event %d is pending again" % eid, r.stdout)
        shown = json.loads(self.stack.cli("events", "show", str(eid)).stdout)
        self.assertEqual((shown["state"], shown["attempts"]), ("pending", 0))
        self.assertEqual(self.stack.cli("events", "dead", "--format", "json").stdout, "")
        self.assertEqual(self.stack.cli("events", "retry", "999999", check=False).returncode, 1)


class PipelinePg(PgStore, test_pipeline.Pipeline):
    """Hire/move/leave/rehire, why, dead letters, replay and its preview."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # hr() counts on the base class and reads self.n: one counter.
        del cls.n
        test_pipeline.Pipeline.n = 0

    def second_worker_while_first_runs(self, r):
        # PostgreSQL: any number of workers (claims, not a lock file).
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        self.assertNotIn("another rolehook work is running", r.stderr)


class GuardPg(PgStore, test_guard.Guard):
    """events list --held, approve."""


class EffectivePg(PgStore, test_effective.Effective):
    """events list --pending, cancel."""


class ReconcilePg(PgStore, test_reconcile.Reconcile):
    """reconcile, --field, --fix then work, --people; a thin event is not
    drift (nor in replay --policy)."""


class ReportStoreLeaversPg(PgStore, test_report_roles.ReportStoreLeavers):
    """report seats marks leavers from the store's newest HR events."""


def load_tests(loader, tests, pattern):
    suite = unittest.TestSuite()
    suite.addTests(loader.loadTestsFromNames([
        "EventsPg.test_events_cli_shows_no_secrets",
        "EventsPg.test_dead_letters_listed_and_retried",
        "GuardPg.test_downgrades_held_then_approved",
        "EffectivePg.test_effective_dates",
        "ReconcilePg.test_reconcile",
        "ReconcilePg.test_thin_event_is_not_drift",
        "ReportStoreLeaversPg.test_store_terminate_marks_leaver",
        "CheckPg",
    ], sys.modules[__name__]))
    suite.addTests(loader.loadTestsFromTestCase(PipelinePg))
    return suite


# ----------------------------------------------------- check, PostgreSQL

class CheckPg(unittest.TestCase):
    def setUp(self):
        self.tmp = os.path.join(PG.dir, "check-%s" % self.id().rsplit(".", 1)[-1])
        os.makedirs(self.tmp, exist_ok=True)

    def doc(self, **store):
        s = {"engine": "postgresql", "dsn": PG.dsn, "password": "env:" + PW_ENV}
        s.update(store)
        for k in [k for k, v in s.items() if v is None]:
            del s[k]
        return {"store": s, "sources": {"gh": {"preset": "github", "secrets": ["env:RH_CLI_SECRET"]}}}

    def check(self, doc, *extra, env=None):
        p = os.path.join(self.tmp, "c.json")
        with open(p, "w") as f:
            json.dump(doc, f)
        e = dict(os.environ, RH_CLI_SECRET="s3cret", **{PW_ENV: PG.password})
        e.update(env or {})
        for k in [k for k, v in e.items() if v is None]:
            del e[k]
        return p, subprocess.run([BIN, "check", "--config", p] + list(extra), env=e,
                                 capture_output=True, text=True, timeout=60)

    def test_valid(self):
        for store in ({}, {"lease_s": 30}, {"password": None}):
            with self.subTest(store=store):
                _, r = self.check(self.doc(**store))
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn("configuration is valid", r.stdout)
                self.assertNotIn(PG.password, r.stdout + r.stderr)

    def test_errors(self):
        cases = [
            ({"dsn": None}, "store.dsn: missing"),
            ({"dsn": "host=127.0.0.1 port=x = y"}, "store.dsn: expected a libpq connection string"),
            ({"dsn": PG.dsn.replace("rolehook@", "rolehook:Inline-Pw-77@")},
             "store.dsn: holds a password"),
            ({"password": "Inline-Pw-77"}, "store.password: secrets must be file: or env:"),
            ({"path": "/tmp/x.db"}, "store.path: not used with store.engine \"postgresql\""),
            ({"lease_s": 1}, "store.lease_s"),
            ({"engine": "mysql"}, "store.engine"),
        ]
        for store, want in cases:
            with self.subTest(want=want):
                p, r = self.check(self.doc(**store))
                self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
                self.assertIn(p + ": " + want, r.stderr)
                self.assertNotIn("Inline-Pw-77", r.stderr)
        # SQLite keys on PostgreSQL's side and back.
        doc = {"store": {"path": "/tmp/x.db", "dsn": PG.dsn},
               "sources": self.doc()["sources"]}
        p, r = self.check(doc)
        self.assertEqual(r.returncode, 2)
        self.assertIn(p + ": store.dsn: not used with store.engine \"sqlite\"", r.stderr)

    def test_password_sources(self):
        # env: unset names the variable; --no-secrets checks the rest.
        p, r = self.check(self.doc(), env={PW_ENV: None})
        self.assertEqual(r.returncode, 2, r.stdout)
        self.assertIn(p + ": store.password:", r.stderr)
        self.assertIn(PW_ENV, r.stderr)
        _, r = self.check(self.doc(), "--no-secrets", env={PW_ENV: None})
        self.assertEqual(r.returncode, 0, r.stderr)
        # file: owner only, with the chmod to run; never the password.
        pw = os.path.join(self.tmp, "db.password")
        with open(pw, "w") as f:
            f.write(PG.password + "\n")
        os.chmod(pw, 0o640)
        p, r = self.check(self.doc(password="file:" + pw))
        self.assertEqual(r.returncode, 2, r.stdout)
        self.assertIn(p + ": store.password: secret file %s has mode 0640" % pw, r.stderr)
        self.assertIn("run: chmod 600 %s" % pw, r.stderr)
        self.assertNotIn(PG.password, r.stderr)
        os.chmod(pw, 0o600)
        _, r = self.check(self.doc(password="file:" + pw))
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_wrong_password_at_open(self):
        # check does not connect; the commands that open the store say
        # what failed, naming store.dsn, never the password.
        p, r = self.check(self.doc())
        self.assertEqual(r.returncode, 0, r.stderr)
        e = dict(os.environ, **{PW_ENV: "Wrong-Pw-31"})
        r = subprocess.run([BIN, "events", "list", "--config", p], env=e,
                           capture_output=True, text=True, timeout=60)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertIn("store.dsn", r.stderr)
        self.assertIn("password authentication failed", r.stderr)
        self.assertNotIn("Wrong-Pw-31", r.stderr)
        self.assertNotIn(PG.password, r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
