"""Two nodes on PostgreSQL (issue 14), with a real PostgreSQL 15 started
here (pgserver.py), real nginx, the real binary and the fake Zendesk.

serve: two `serve` processes on one PostgreSQL store behind one nginx
upstream (nginx/rolehook-upstream.conf: fastcgi_next_upstream error
timeout non_idempotent).  One is killed with SIGKILL under load; every
delivery that was answered 2xx is in the store, proved by sending it
again: 200, a duplicate, with the same id.

work: two `work` processes drain the same store; one is killed with
SIGKILL mid-run.  Its claims run out (store.lease_s 5) and the other
finishes them: every event ends done, every person is created once at
the fake Zendesk and ends in the state their last event gives, and no
successful write repeats within an event.

order: many events per person (more than one worker's classify batch,
all signed in the same second, so none is stale by time), two `work`
processes started together on them: never two events of one person
claimed at once, each person's audit rows in event order, and every
person ends in the state of their last event.  And a person's first
event still held unclassified by a worker that died classifying it
(its claim alive until the lease runs out) holds back their later
events: they wait for it instead of overtaking it.

prefetch: a worker's read of a person made before another worker
changed them is not used for that person's next event here (worker.c,
the prefetch): a worker SIGSTOPped holding such a read, the other
worker applies the person's next event, then the first gets the one
after and must plan it from Zendesk as it is now.

guard: policy.limits counted across workers: two `work` processes
started together on eight leavers with downgrades_per_hour 3 downgrade
three people in all (not three each) and hold the other five.
"""
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pgserver  # noqa: E402
import rhstack  # noqa: E402
from rhstack import sign  # noqa: E402
from test_faults import DEPTS, TITLES, agent_event, expected  # noqa: E402
from test_pipeline import MAPPING, POLICY, SEED  # noqa: E402

SECRET = "whsec_" + "dHdvLW5vZGVzLXBvc3RncmVzLXNlY3JldC0wMTIz"


def pg_store(dsn):
    return {"engine": "postgresql", "dsn": dsn, "password": "env:RH_TEST_PG_PASSWORD",
            "lease_s": 5}


class TwoNodeStack(rhstack.Stack):
    """rhstack.Stack with a second serve on serve2.sock and nginx passing
    /hooks/ to both through nginx/rolehook-upstream.conf's upstream."""

    def nginx_conf(self):
        super().nginx_conf()
        self.sock2 = os.path.join(self.tmp, "serve2.sock")
        with open(os.path.join(rhstack.SRC, "nginx", "rolehook-upstream.conf")) as f:
            upstream = f.read()
        upstream = upstream.replace("unix:/run/rolehook/serve.sock", "unix:" + self.sock)
        upstream = upstream.replace("unix:/run/rolehook/serve2.sock", "unix:" + self.sock2)
        conf = os.path.join(self.tmp, "rolehook.conf")
        with open(conf) as f:
            snippet = f.read()
        # The three lines the upstream file says to put in place of the
        # single socket, taken from its comment.
        tail = upstream[upstream.index("# In rolehook.conf"):]
        lines = [ln.strip()[1:].strip() for ln in tail.splitlines()
                 if ln.strip().startswith("#     fastcgi_")]
        self.assertions = lines
        snippet = snippet.replace("fastcgi_pass unix:%s;" % self.sock, "\n    ".join(lines), 1)
        with open(conf, "w") as f:
            f.write(snippet)
        # The upstream belongs in http { }, beside the server.
        with open(os.path.join(self.tmp, "upstream.conf"), "w") as f:
            f.write(upstream)
        main = os.path.join(self.tmp, "nginx.conf")
        with open(main) as f:
            text = f.read()
        with open(main, "w") as f:
            f.write(text.replace("    server {", "    include %s/upstream.conf;\n    server {"
                                 % self.tmp, 1))

    def start_second(self):
        doc = self.config()
        doc["server"]["listen"] = "unix:" + self.sock2
        self.cfg2 = os.path.join(self.tmp, "rolehook2.json")
        with open(self.cfg2, "w") as f:
            json.dump(doc, f)
        self.rh2_log = open(os.path.join(self.tmp, "rolehook2.log"), "ab")
        self.rh2 = subprocess.Popen([self.bin, "serve", "--config", self.cfg2, "--log-level", "warn"],
                                    env=self.env, stdout=self.rh2_log, stderr=self.rh2_log)
        rhstack.wait_for(lambda: os.path.exists(self.sock2) or self.rh2.poll() is not None,
                         what="second serve")
        if self.rh2.poll() is not None:
            raise RuntimeError("second serve exited")

    def stop(self):
        if getattr(self, "rh2", None) is not None and self.rh2.poll() is None:
            self.rh2.kill()
            self.rh2.wait()
        if getattr(self, "rh2_log", None) is not None:
            self.rh2_log.close()
        return super().stop()


class TwoNodes(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = pgserver.PgServer().start()

    @classmethod
    def tearDownClass(cls):
        cls.pg.stop()

    def count(self, dsn, sql):
        return int(self.pg.psql(sql, dsn=dsn).stdout.strip())

    @staticmethod
    def stop_all(workers, st, zd):
        """Kills the workers still running, stops the stack and the fake."""
        for w in workers:
            if w.poll() is None:
                w.kill()
                w.wait()
        st.stop()
        zd.stop()

    def hr_stack(self, policy=POLICY):
        """A fake Zendesk and a Stack (not started) on a new schema with
        the hr source applying policy: (zd, dsn, st)."""
        dsn = self.pg.new_schema()
        zd = rhstack.FakeZendesk(seed=SEED, rate_limit=100000)
        src = {"hr": {"preset": "standard-webhooks", "normalizer": "generic", "mapping": MAPPING,
                      "secret_values": [SECRET]}}
        st = rhstack.Stack(src, extra_store=pg_store(dsn),
                           extra={"zendesk": zd.config(), "policy": policy}, log_level="warn")
        st.env.update(zd.env())
        st.env["RH_TEST_PG_PASSWORD"] = self.pg.password
        return zd, dsn, st

    def test_serve_node_killed_under_load(self):
        dsn = self.pg.new_schema()
        src = {"hr": {"preset": "standard-webhooks", "normalizer": "generic", "mapping": MAPPING,
                      "secret_values": [SECRET]}}
        st = TwoNodeStack(src, extra_store=pg_store(dsn), log_level="warn", threads=4)
        st.env["RH_TEST_PG_PASSWORD"] = self.pg.password
        try:  # not "with": a failed start must stop what did start
            st.start()
            st.start_second()
            self.assertIn("fastcgi_next_upstream error timeout non_idempotent;", st.assertions)
            st_, _, b = st.request("GET", "/healthz")
            self.assertEqual((st_, json.loads(b)), (200, {"status": "ok", "engine": "postgresql"}))
            sent, lock, stop = [], threading.Lock(), threading.Event()

            def load(k):
                i = 0
                while not stop.is_set():
                    i += 1
                    mid = "msg_2n_%d_%d" % (k, i)
                    body = json.dumps({"type": "employee.updated",
                                       "data": {"id": "E-%d-%d" % (k, i), "n": i}}).encode()
                    hdrs = sign("standard-webhooks", SECRET, body, msg_id=mid)
                    try:
                        code, _, rb = st.post("hr", body, hdrs)
                    except OSError:
                        code, rb = 0, b""
                    with lock:
                        sent.append((mid, body, hdrs, code, rb))
            threads = [threading.Thread(target=load, args=(k,)) for k in range(8)]
            for t in threads:
                t.start()
            time.sleep(1.5)
            with lock:
                before = len(sent)
            st.rh2.send_signal(signal.SIGKILL)   # node 2 dies mid-load
            st.rh2.wait()
            time.sleep(1.5)
            stop.set()
            for t in threads:
                t.join()
            acked = [s for s in sent if 200 <= s[3] < 300]
            after_kill = [s for s in sent[before:] if 200 <= s[3] < 300]
            self.assertGreater(before, 50, "too little load before the kill")
            self.assertGreater(len(after_kill), 50, "node 1 did not carry the load alone")
            # nginx retried what node 2 dropped: at most a handful failed.
            failed = [s[3] for s in sent if not 200 <= s[3] < 300]
            self.assertLessEqual(len(failed), 16, "answers %r" % failed[:16])
            for code in failed:
                self.assertIn(code, (0, 502, 503, 504))
            # Every acknowledged delivery survived: a resend is a duplicate
            # (200 with the first copy's id), answered by the surviving node.
            for mid, body, hdrs, code, rb in acked:
                c2, _, rb2 = st.post("hr", body, hdrs)
                self.assertEqual(c2, 200, "%s acked %d, resend got %d %r" % (mid, code, c2, rb2))
                self.assertEqual(json.loads(rb2)["id"], json.loads(rb)["id"])
            stored = self.count(dsn, "SELECT count(*) FROM events")
            self.assertGreaterEqual(stored, len(acked))
            self.assertLessEqual(stored, len(sent))
            print("sent %d, acked %d (%d after the kill), failed %d, stored %d"
                  % (len(sent), len(acked), len(after_kill), len(failed), stored))
        finally:
            st.stop()

    def test_two_workers_one_killed(self):
        zd, dsn, st = self.hr_stack()
        rnd = random.Random(14)
        people, rounds = 24, 4
        w1 = w2 = None
        try:
            st.start()
            last, ever, n = {}, {}, 0
            for r in range(rounds):
                for p in range(people):
                    pid = "W-%03d" % p
                    data = {"id": pid, "work_email": "w%03d@example.com" % p, "name": "Worker %d" % p}
                    typ = ("employee.hired" if r == 0 else
                           "employee.terminated" if r == rounds - 1 and p % 4 == 0 else
                           "employee.updated")
                    if typ != "employee.terminated":
                        data["department"] = rnd.choice(DEPTS)
                        data["job_title"] = rnd.choice(TITLES)
                    doc = {"type": typ, "data": data}
                    body = json.dumps(doc).encode()
                    n += 1
                    code, _, rb = st.post("hr", body,
                                          sign("standard-webhooks", SECRET, body, msg_id="msg_w_%d" % n))
                    self.assertEqual(code, 202, rb)
                    last[pid] = doc
                    ever[pid] = ever.get(pid, False) or agent_event(doc)
            # Slow answers: the kill lands mid-event (between writes).
            zd.control("POST", "/__fake/faults", {"rules": [
                {"match": "* /api/*", "kind": "slow", "probability": 0.5, "delay_s": 0.08}]})
            cmd = [st.bin, "work", "--config", st.cfg_path, "--threads", "4", "--retry-base", "1",
                   "--retry-max", "1", "--log-level", "warn"]
            logs = [open(os.path.join(st.tmp, "work%d.log" % i), "ab") for i in (1, 2)]
            # The first worker holds claims when it is killed (a worker
            # claims every due event it sees, so with both started at once
            # the other may hold them all); the second runs beside it.
            w1 = subprocess.Popen(cmd, env=st.env, stdout=logs[0], stderr=logs[0])
            rhstack.wait_for(lambda: self.count(dsn, "SELECT count(DISTINCT claimed_by) FROM events"
                                                " WHERE claimed_by IS NOT NULL") >= 1,
                             timeout=60, what="the first worker holding claims")
            w2 = subprocess.Popen(cmd, env=st.env, stdout=logs[1], stderr=logs[1])
            time.sleep(1.0)
            held = self.count(dsn, "SELECT count(*) FROM events WHERE claimed_by IS NOT NULL")
            w1.send_signal(signal.SIGKILL)
            w1.wait()
            self.assertEqual(w2.poll(), None, "the second worker stopped")
            # w1's claims run out after lease_s; w2 finishes everything.
            rhstack.wait_for(lambda: self.count(dsn, "SELECT count(*) FROM events WHERE state"
                                                " NOT IN ('done')") == 0,
                             timeout=120, what="all events done")
            zd.control("DELETE", "/__fake/faults")
            w2.send_signal(signal.SIGTERM)
            self.assertEqual(w2.wait(30), 0)
            for f in logs:
                f.close()
            self.assertEqual(self.count(dsn, "SELECT count(*) FROM events WHERE claimed_by IS NOT NULL"), 0)
            dup = self.pg.psql("SELECT event_id, request, after, count(*) FROM audit WHERE http_status"
                               " BETWEEN 200 AND 299 GROUP BY 1, 2, 3 HAVING count(*) > 1",
                               dsn=dsn).stdout.strip()
            self.assertEqual(dup, "", "repeated writes")
            zs = zd.state()
            by_email = {u["email"]: u for u in zs["users"]}
            # Creates that took effect: answered 2xx, or cut off by the
            # kill (no status); and none refused as a duplicate (a second
            # worker creating someone who already exists).
            creates, refused = {}, []
            for rq in zd.requests()["requests"]:
                if rq["method"] != "POST" or rq["path"] != "/api/v2/users.json":
                    continue
                body = rq["body"] if isinstance(rq["body"], dict) else json.loads(rq["body"])
                email = body["user"]["email"]
                if rq["status"] is None or 200 <= rq["status"] < 300:
                    creates[email] = creates.get(email, 0) + 1
                else:
                    refused.append((email, rq["status"]))
            self.assertEqual(refused, [], "repeated creates")
            for p in range(people):
                pid = "W-%03d" % p
                email = "w%03d@example.com" % p
                u = by_email.get(email)
                if not ever[pid]:
                    self.assertIsNone(u, pid)
                    continue
                self.assertEqual(creates.get(email), 1, "%s created %r times" % (pid, creates.get(email)))
                role, crid, susp, ents = expected(last[pid])
                got = {k: v["name"] for k, v in zs["entitlements"].get(str(u["id"]), {}).items()
                       if v.get("is_active") and k != "support"}
                self.assertEqual((u["role"], u.get("custom_role_id"), bool(u.get("suspended")), got),
                                 (role, crid, susp, ents), pid)
            self.assertEqual(zs["legacy_events"], [])
            # events and why read the same store.
            out = st.cli("events", "list", "--format", "json", "--limit", "1000").stdout
            self.assertEqual(len([ln for ln in out.splitlines() if ln.strip()]), n)
            subj = self.pg.psql("SELECT subject FROM events WHERE delivery_id = 'msg_w_2'",
                                dsn=dsn).stdout.strip()
            self.assertIn('"action": "create"', st.cli("why", subj).stdout.replace('":"', '": "'))
            print("events %d, claims held at the kill %d, users created %d"
                  % (n, held, sum(creates.values())))
        finally:
            for w in (w1, w2):   # a failure above must not leave them running
                if w is not None and w.poll() is None:
                    w.kill()
                    w.wait()
            st.stop()
            zd.stop()

    def test_two_workers_keep_each_persons_order(self):
        zd, dsn, st = self.hr_stack()
        # 30 people x 20 events: more than a worker's two classify
        # batches (worker.c BATCH, 256), so the two classify side by side.  One
        # signed second for all: an event applied after a later one of
        # the same person would not be "stale", it would win.
        people = int(os.environ.get("ORDER_PEOPLE", 30))
        rounds = int(os.environ.get("ORDER_ROUNDS", 20))
        ts, ws = int(time.time()), []
        try:
            st.start()
            n = 0
            for r in range(rounds):
                for p in range(people):
                    data = {"id": "O-%03d" % p, "work_email": "o%03d@example.com" % p,
                            "name": "Order %d" % p, "department": "Support",
                            "job_title": "Lead" if r % 2 else "Associate Agent"}
                    body = json.dumps({"type": "employee.hired" if r == 0 else "employee.updated",
                                       "data": data}).encode()
                    n += 1
                    code, _, rb = st.post("hr", body, sign("standard-webhooks", SECRET, body,
                                                           ts=ts, msg_id="msg_o_%d" % n))
                    self.assertEqual(code, 202, rb)
            zd.control("POST", "/__fake/faults", {"rules": [
                {"match": "* /api/*", "kind": "slow", "probability": 0.3, "delay_s": 0.03}]})
            cmd = [st.bin, "work", "--config", st.cfg_path, "--threads", "4", "--log-level", "warn"]
            logs = [open(os.path.join(st.tmp, "order%d.log" % i), "ab") for i in (1, 2)]
            ws += [subprocess.Popen(cmd, env=st.env, stdout=f, stderr=f) for f in logs]
            both, overlap, end = set(), [], time.time() + 180
            while time.time() < end:
                # One person's events claimed at once (by either worker).
                rows = self.pg.psql("SELECT subject, string_agg(id::text || '@' || claimed_by, ' ')"
                                    " FROM events WHERE claimed_by IS NOT NULL AND subject IS NOT"
                                    " NULL GROUP BY subject HAVING count(*) > 1",
                                    dsn=dsn).stdout.strip()
                if rows:
                    overlap.append(rows)
                both |= set(self.pg.psql("SELECT DISTINCT claimed_by FROM events WHERE claimed_by"
                                         " IS NOT NULL", dsn=dsn).stdout.split())
                if self.count(dsn, "SELECT count(*) FROM events WHERE state <> 'done'") == 0:
                    break
                time.sleep(0.05)
            for w in ws:
                w.send_signal(signal.SIGTERM)
            for w in ws:
                self.assertEqual(w.wait(30), 0)
            for f in logs:
                f.close()
            zd.control("DELETE", "/__fake/faults")
            left = self.pg.psql("SELECT state, count(*) FROM events GROUP BY 1 ORDER BY 1",
                                dsn=dsn).stdout.split()
            self.assertEqual(left, ["done|%d" % n])
            self.assertGreaterEqual(len(both), 2, "only one worker ever claimed")
            self.assertEqual(overlap, [], "one person's events claimed at once")
            # Each person's audit rows follow their events' order.
            rows = self.pg.psql("SELECT subject, event_id FROM audit ORDER BY id", dsn=dsn).stdout
            last_ev, backwards = {}, []
            for ln in rows.split():
                subj, eid = ln.split("|")
                if int(eid) < last_ev.get(subj, 0):
                    backwards.append((subj, last_ev[subj], int(eid)))
                last_ev[subj] = max(last_ev.get(subj, 0), int(eid))
            self.assertEqual(backwards, [], "events applied out of order (subject, after, before)")
            # Every person ends where their last event (a Lead) puts them.
            users = {u["email"]: u for u in zd.state()["users"]}
            wrong = {p: users.get("o%03d@example.com" % p, {}).get("custom_role_id")
                     for p in range(people)
                     if users.get("o%03d@example.com" % p, {}).get("custom_role_id") != 102}
            if wrong:   # what happened to them, for the failure message
                for p in wrong:
                    subj = "generic:O-%03d" % p
                    print(self.pg.psql("SELECT id, state, last_error, attempts FROM events WHERE"
                                       " subject = '%s' ORDER BY id" % subj, dsn=dsn).stdout)
                    print(self.pg.psql("SELECT id, event_id, action, http_status, after, request"
                                       " FROM audit WHERE subject = '%s' ORDER BY id" % subj,
                                       dsn=dsn).stdout)
            self.assertEqual(wrong, {}, "not in their last event's state")
            print("events %d, workers %d" % (n, len(both)))
        finally:
            self.stop_all(ws, st, zd)

    def test_claims_what_threads_can_run(self):
        # 80 people with an event each: a worker with one thread claims
        # at most 16 due events (worker.c CLAIM_PER_THREAD), so a second worker
        # started later finds people of its own while the first works.
        zd, dsn, st = self.hr_stack()
        ws = []
        try:
            st.start()
            for p in range(80):
                body = json.dumps({"type": "employee.hired", "data": {
                    "id": "K-%03d" % p, "work_email": "k%03d@example.com" % p,
                    "name": "Claim %d" % p, "department": "Support",
                    "job_title": "Associate Agent"}}).encode()
                code, _, rb = st.post("hr", body, sign("standard-webhooks", SECRET, body,
                                                       msg_id="msg_k_%d" % p))
                self.assertEqual(code, 202, rb)
            zd.control("POST", "/__fake/faults", {"rules": [
                {"match": "* /api/*", "kind": "slow", "delay_s": 0.05}]})
            cmd = [st.bin, "work", "--config", st.cfg_path, "--threads", "1", "--log-level", "warn"]
            claimed = "SELECT count(*) FROM events WHERE claimed_by IS NOT NULL"
            ws.append(subprocess.Popen(cmd, env=st.env, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL))
            # Classifying claims a batch for a moment (worker.c BATCH):
            # count the claims of due events once every event has its
            # person.
            rhstack.wait_for(lambda: self.count(dsn, "SELECT count(*) FROM events WHERE"
                                                " subject IS NULL") == 0 and
                             self.count(dsn, claimed) > 0, timeout=60,
                             what="the first worker classifying and holding claims")
            most = max(self.count(dsn, claimed) for _ in range(10))
            self.assertLessEqual(most, 16)
            ws.append(subprocess.Popen(cmd, env=st.env, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL))
            rhstack.wait_for(lambda: self.count(dsn, "SELECT count(DISTINCT claimed_by) FROM"
                                                " events WHERE claimed_by IS NOT NULL") == 2,
                             timeout=60, what="both workers holding claims at once")
            zd.control("DELETE", "/__fake/faults")
            rhstack.wait_for(lambda: self.count(dsn, "SELECT count(*) FROM events WHERE state"
                                                " <> 'done'") == 0,
                             timeout=120, what="all events done")
            for w in ws:
                w.send_signal(signal.SIGTERM)
            for w in ws:
                self.assertEqual(w.wait(30), 0)
            emails = {u["email"] for u in zd.state()["users"]}
            self.assertTrue({"k%03d@example.com" % p for p in range(80)} <= emails)
        finally:
            self.stop_all(ws, st, zd)

    def test_unclassified_claim_holds_later_events(self):
        zd, dsn, st = self.hr_stack()
        ts = int(time.time())
        try:
            st.start()
            ids = []
            for i, (typ, title) in enumerate((("employee.hired", "Lead"),
                                              ("employee.updated", "Associate Agent"))):
                body = json.dumps({"type": typ, "data": {
                    "id": "U-1", "work_email": "u1@example.com", "name": "U One",
                    "department": "Support", "job_title": title}}).encode()
                code, _, rb = st.post("hr", body, sign("standard-webhooks", SECRET, body, ts=ts,
                                                       msg_id="msg_u_%d" % i))
                self.assertEqual(code, 202, rb)
                ids.append(json.loads(rb)["id"])
            # A worker died classifying the first event: its claim holds
            # for a few seconds more (lease_s).
            self.pg.psql("UPDATE events SET claimed_by = 'dead-worker', lease_until ="
                         " EXTRACT(EPOCH FROM now())::bigint + 4 WHERE id = %d" % ids[0], dsn=dsn)
            logp = os.path.join(st.tmp, "work.log")
            with open(logp, "ab") as log:
                w = subprocess.Popen([st.bin, "work", "--config", st.cfg_path, "--log-level",
                                      "warn"], env=st.env, stdout=log, stderr=log)
                try:
                    rhstack.wait_for(lambda: self.count(dsn, "SELECT count(*) FROM events WHERE"
                                                       " state <> 'done'") == 0,
                                     timeout=60, what="both events done")
                finally:
                    w.send_signal(signal.SIGTERM)
                    self.assertEqual(w.wait(30), 0)
            order = [int(x) for x in self.pg.psql("SELECT event_id FROM audit ORDER BY id",
                                                  dsn=dsn).stdout.split()]
            self.assertEqual(order, sorted(order), "the second event overtook the first")
            u = [u for u in zd.state()["users"] if u["email"] == "u1@example.com"][0]
            self.assertEqual(u["custom_role_id"], 101, "not the last event's state")
        finally:
            st.stop()
            zd.stop()

    def test_guard_counts_across_workers(self):
        policy = dict(POLICY, limits={"downgrades_per_hour": 3})
        zd, dsn, st = self.hr_stack(policy)
        people = 8
        try:
            st.start()

            def hr(typ, p, n, **extra):
                data = {"id": "G-%d" % p, "work_email": "g%d@example.com" % p, "name": "G %d" % p}
                data.update(extra)
                body = json.dumps({"type": typ, "data": data}).encode()
                code, _, rb = st.post("hr", body, sign("standard-webhooks", SECRET, body,
                                                       msg_id="msg_g_%d" % n))
                self.assertEqual(code, 202, rb)
            for p in range(people):
                hr("employee.hired", p, p, department="Support", job_title="Associate Agent")
            self.assertEqual(st.cli("work", "--until-idle").returncode, 0)
            for p in range(people):
                hr("employee.terminated", p, 100 + p)
            # Slow answers: both workers are mid-plan at the same time.
            zd.control("POST", "/__fake/faults", {"rules": [
                {"match": "* /api/*", "kind": "slow", "probability": 1.0, "delay_s": 0.05}]})
            cmd = [st.bin, "work", "--until-idle", "--threads", "4", "--config", st.cfg_path]
            ws = [subprocess.Popen(cmd, env=st.env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE) for _ in range(2)]
            errs = [w.communicate(timeout=120)[1].decode() for w in ws]
            self.assertEqual([w.returncode for w in ws], [0, 0], errs)
            zd.control("DELETE", "/__fake/faults")
            roles = {u["email"]: u["role"] for u in zd.state()["users"]}
            down = [p for p in range(people) if roles["g%d@example.com" % p] == "end-user"]
            self.assertEqual(len(down), 3, "downgraded %r" % down)
            held = [json.loads(ln) for ln in st.cli("events", "list", "--held", "--format",
                                                     "json").stdout.splitlines()]
            self.assertEqual(len(held), people - 3)
        finally:
            st.stop()
            zd.stop()

    def test_prefetch_not_stale_across_workers(self):
        zd, dsn, st = self.hr_stack()
        n = [0]

        def hr(p, title, typ="employee.updated"):
            n[0] += 1
            body = json.dumps({"type": typ, "data": {
                "id": "F-%d" % p, "work_email": "f%d@example.com" % p, "name": "F %d" % p,
                "department": "Support", "job_title": title}}).encode()
            code, _, rb = st.post("hr", body, sign("standard-webhooks", SECRET, body,
                                                   msg_id="msg_f_%d" % n[0]))
            self.assertEqual(code, 202, rb)
            return json.loads(rb)["id"]

        def done(*ids):
            return self.count(dsn, "SELECT count(*) FROM events WHERE state = 'done' AND id IN (%s)"
                              % ",".join(map(str, ids))) == len(ids)

        def role(p):
            return [u for u in zd.state()["users"]
                    if u["email"] == "f%d@example.com" % p][0]["custom_role_id"]
        workers = []

        def work(name):
            log = open(os.path.join(st.tmp, name + ".log"), "ab")
            w = subprocess.Popen([st.bin, "work", "--config", st.cfg_path, "--threads", "4",
                                  "--log-level", "warn"], env=st.env, stdout=log, stderr=log)
            workers.append((w, log))
            return w
        try:
            st.start()
            people = range(8)
            ids = [hr(p, "Associate Agent", "employee.hired") for p in people]
            self.assertEqual(st.cli("work", "--until-idle").returncode, 0)
            self.assertTrue(done(*ids))
            b = work("b")
            uid0 = [u for u in zd.state()["users"] if u["email"] == "f0@example.com"][0]["id"]
            # F-0's event changes nothing, and its reads are slow: while b
            # holds it, the other people's events make b's other threads
            # fetch F-0 again ("in hand") -- a read nobody takes.
            zd.control("POST", "/__fake/faults", {"rules": [
                {"match": "GET /api/v2/users/%d/*" % uid0, "kind": "slow", "delay_s": 1.0,
                 "count": 1}]})
            e1 = hr(0, "Associate Agent")
            time.sleep(0.4)
            others = [hr(p, "Associate Agent") for p in people if p]
            rhstack.wait_for(lambda: done(e1, *others), timeout=30, what="b's events")
            # Another worker applies F-0's next event while b sleeps.
            b.send_signal(signal.SIGSTOP)
            a = work("a")
            e2 = hr(0, "Lead")
            rhstack.wait_for(lambda: done(e2), timeout=30, what="a's event")
            self.assertEqual(role(0), 102)
            a.send_signal(signal.SIGTERM)
            self.assertEqual(a.wait(30), 0)
            # b again, within the prefetch's 5 s: F-0 back to Tier 1.
            b.send_signal(signal.SIGCONT)
            e3 = hr(0, "Associate Agent")
            rhstack.wait_for(lambda: done(e3), timeout=30, what="b's last event")
            note = self.pg.psql("SELECT last_error FROM events WHERE id = %d" % e3,
                                dsn=dsn).stdout.strip()
            self.assertEqual(role(0), 101, "planned from a read older than a's write: %s" % note)
        finally:
            for w, log in workers:
                if w.poll() is None:
                    w.send_signal(signal.SIGCONT)
                    w.terminate()
                    w.wait(30)
                log.close()
            st.stop()
            zd.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
