"""PostgreSQL gone and back, through nginx and serve (issue 14: "503 +
Retry-After when the database is unreachable; /healthz says which"),
with a PostgreSQL 15 of this test's own (pgserver.py) that it stops and
starts again.

- The server stops while serve runs: deliveries answer 503 with
  Retry-After and the fixed body, /healthz answers 503 naming the engine
  and the reason, without traffic; once the server is back, /healthz
  turns 200 by itself and deliveries are stored again.  Every 2xx is in
  the store, each exactly once; what got 503 is not.
- work running through the outage keeps running and applies what
  arrives after it.
- serve started while the database is down exits non-zero, saying which
  setting failed (store.dsn) and never the password; systemd restarts it
  (Restart=on-failure).
"""
import json
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pgserver  # noqa: E402
import rhstack  # noqa: E402
from rhstack import sign  # noqa: E402

SECRET = "pg-unreachable-secret"


class PgUnreachable(unittest.TestCase):
    def setUp(self):
        self.pg = pgserver.PgServer(fsync=False).start()
        self.addCleanup(self.pg.stop)
        self.dsn = self.pg.new_schema()
        self.stack = rhstack.Stack({"gh": {"preset": "github", "secret_values": [SECRET]}},
                                   extra_store={"engine": "postgresql", "dsn": self.dsn,
                                                "password": "env:RH_TEST_PG_PASSWORD"},
                                   log_level="warn")
        self.stack.env["RH_TEST_PG_PASSWORD"] = self.pg.password
        self.n = 0

    def send(self):
        self.n += 1
        body = json.dumps({"n": self.n}).encode()
        return self.stack.post("gh", body, sign("github", SECRET, body, msg_id="d-%d" % self.n))

    def healthz(self):
        st, h, b = self.stack.request("GET", "/healthz")
        return st, h, json.loads(b)

    def test_down_then_back(self):
        self.stack.start()
        try:
            self.assertEqual(self.healthz()[::2], (200, {"status": "ok", "engine": "postgresql"}))
            acked = []
            for _ in range(3):
                self.assertEqual(self.send()[0], 202)
                acked.append(self.n)
            self.pg.halt()
            # The first delivery after the loss may find the connection
            # broken and reconnect (refused): 503 either way.
            for _ in range(3):
                st, h, b = self.send()
                self.assertEqual(st, 503, b)
                self.assertEqual(b, b'{"error":"unavailable"}\n')
                self.assertGreater(int(h["retry-after"]), 0)
            st, h, doc = self.healthz()
            self.assertEqual((st, doc), (503, {"status": "unavailable", "engine": "postgresql",
                                               "reason": "database unreachable"}))
            self.assertGreater(int(h["retry-after"]), 0)
            metrics = self.stack.request("GET", "/metrics")[2].decode()
            self.assertIn("rolehook_store_up 0", metrics)
            self.pg.launch()
            # The writer probes every second: healthy again without traffic.
            rhstack.wait_for(lambda: self.healthz()[0] == 200, timeout=15,
                             what="/healthz 200 after the database came back")
            self.assertEqual(self.healthz()[2], {"status": "ok", "engine": "postgresql"})
            for _ in range(3):
                self.assertEqual(self.send()[0], 202)
                acked.append(self.n)
            out = self.stack.cli("events", "list", "--format", "json", "--limit", "1000").stdout
            got = sorted(json.loads(self.stack.cli("events", "show", str(json.loads(ln)["id"]))
                                    .stdout)["body"]["n"] for ln in out.splitlines())
            self.assertEqual(got, acked)
            log = self.stack.log()
            self.assertNotIn(self.pg.password, log)
        finally:
            self.assertEqual(self.stack.stop(), 0)

    def test_work_rides_out_an_outage(self):
        from test_pipeline import MAPPING, POLICY, SEED
        zd = rhstack.FakeZendesk(seed=SEED)
        self.addCleanup(zd.stop)
        hr = "whsec_" + "cGctdW5yZWFjaGFibGUtd29yay1zZWNyZXQtMDEy"
        st = rhstack.Stack({"hr": {"preset": "standard-webhooks", "normalizer": "generic",
                                   "mapping": MAPPING, "secret_values": [hr]}},
                           extra_store=self.stack.extra_store, log_level="warn",
                           extra={"zendesk": zd.config(), "policy": POLICY})
        st.env.update(zd.env())
        st.env["RH_TEST_PG_PASSWORD"] = self.pg.password

        def hire(p):
            body = json.dumps({"type": "employee.hired", "data": {
                "id": "P-%d" % p, "work_email": "p%d@example.com" % p, "name": "P %d" % p,
                "department": "Support", "job_title": "Associate Agent"}}).encode()
            code, _, rb = st.post("hr", body, sign("standard-webhooks", hr, body, msg_id="h-%d" % p))
            self.assertEqual(code, 202, rb)

        def agent(p):
            return any(u["email"] == "p%d@example.com" % p and u["role"] == "agent"
                       for u in zd.state()["users"])
        st.start()
        logp = os.path.join(st.tmp, "work.log")
        log = open(logp, "ab")
        w = subprocess.Popen([st.bin, "work", "--config", st.cfg_path, "--log-level", "warn"],
                             env=st.env, stdout=log, stderr=log)
        try:
            hire(1)
            rhstack.wait_for(lambda: agent(1), timeout=30, what="the first hire applied")
            self.pg.halt()
            time.sleep(3)   # the worker polls a store that is not there
            self.assertIsNone(w.poll(), "work exited while the database was down")
            self.pg.launch()
            rhstack.wait_for(lambda: st.request("GET", "/healthz")[0] == 200, timeout=15,
                             what="serve healthy again")
            hire(2)
            rhstack.wait_for(lambda: agent(2), timeout=30, what="a hire after the outage applied")
            self.assertIsNone(w.poll())
        finally:
            w.terminate()
            rc = w.wait(30)
            log.close()
            with open(logp) as f:
                text = f.read()
            st.stop()
        self.assertEqual(rc, 0, text[-2000:])
        self.assertNotIn(self.pg.password, text)

    def test_serve_started_while_down(self):
        self.pg.halt()
        self.stack.write_config()
        r = subprocess.run([self.stack.bin, "serve", "--config", self.stack.cfg_path],
                           env=self.stack.env, capture_output=True, text=True, timeout=60)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("store.dsn", r.stderr)
        self.assertIn("Connection refused", r.stderr)
        self.assertNotIn(self.pg.password, r.stderr)
        self.assertFalse(os.path.exists(self.stack.sock))
        self.pg.launch()
        self.stack.start()
        try:
            self.assertEqual(self.send()[0], 202)
        finally:
            self.stack.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
