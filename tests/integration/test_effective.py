"""Effective dates: a termination dated in the future waits (events list
--pending), later changes of the same person still apply meanwhile, a
newer future termination moves it, `events cancel` drops one, and one
dated now is applied at once.  An event cancelled after `work` took it
from the store, but before a thread applied it, is not applied."""
import json
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rhstack  # noqa: E402
from rhstack import sign  # noqa: E402
from test_pipeline import MAPPING, POLICY, SEED  # noqa: E402

SECRET = "whsec_" + "ZWZmZWN0aXZlLWRhdGVzLXNlY3JldC0wMTIzNDU2Nzg="


def day(offset):
    return time.strftime("%Y-%m-%d", time.gmtime(time.time() + offset * 86400))


class Effective(unittest.TestCase):
    def test_effective_dates(self):
        zd = rhstack.FakeZendesk(seed=SEED)
        mapping = dict(MAPPING, effective_at="/data/effective_date")
        src = {"hr": {"preset": "standard-webhooks", "normalizer": "generic", "mapping": mapping,
                      "secret_values": [SECRET]}}
        st = rhstack.Stack(src, extra={"zendesk": zd.config(), "policy": POLICY})
        st.env.update(zd.env())
        st.start()
        n = [0]

        def hr(typ, **data):
            n[0] += 1
            data.update({"id": "X-1", "work_email": "x1@example.com", "name": "X One"})
            body = json.dumps({"type": typ, "data": data}).encode()
            code, _, rb = st.post("hr", body, sign("standard-webhooks", SECRET, body, msg_id="msg_eff_%d" % n[0]))
            self.assertEqual(code, 202, rb)
            return json.loads(rb)["id"]

        def work():
            self.assertEqual(st.cli("work", "--until-idle").returncode, 0)

        def user():
            return [u for u in zd.state()["users"] if u["email"] == "x1@example.com"][0]

        def show(eid):
            return json.loads(st.cli("events", "show", str(eid)).stdout)

        try:
            hr("employee.hired", department="Support", job_title="Associate Agent")
            work()
            leave1 = hr("employee.terminated", effective_date=day(10))
            work()
            self.assertEqual(user()["role"], "agent")
            ev = show(leave1)
            self.assertEqual(ev["state"], "waiting")
            self.assertIn("waits for its effective date " + day(10), ev["last_error"])
            pending = [json.loads(l) for l in st.cli("events", "list", "--pending", "--format", "json").stdout.splitlines()]
            self.assertEqual([p["id"] for p in pending], [leave1])
            self.assertEqual(pending[0]["effective_at"][:10], day(10))

            # A change today is not held back by the waiting termination.
            move = hr("employee.updated", department="Support", job_title="Lead", effective_date=day(0))
            work()
            self.assertEqual(show(move)["state"], "done")
            self.assertEqual(user()["custom_role_id"], 102)

            # HR moves the leaving date: the older waiting event is cancelled.
            leave2 = hr("employee.terminated", effective_date=day(20))
            work()
            self.assertEqual(show(leave1)["state"], "cancelled")
            self.assertIn("moved: superseded by event %d" % leave2, show(leave1)["last_error"])
            self.assertEqual(show(leave2)["state"], "waiting")

            # An operator cancels it; nothing is applied.
            r = st.cli("events", "cancel", str(leave2))
            self.assertIn("cancelled", r.stdout)
            self.assertEqual(st.cli("events", "cancel", str(leave2), check=False).returncode, 1)
            work()
            self.assertEqual(user()["role"], "agent")

            # A termination effective today goes through at once.
            leave3 = hr("employee.terminated", effective_date=day(0))
            work()
            self.assertEqual(show(leave3)["state"], "done")
            u = user()
            self.assertEqual((u["role"], u["suspended"]), ("end-user", True))
        finally:
            st.stop()
            zd.stop()

    def test_cancel_after_dispatch(self):
        zd = rhstack.FakeZendesk(seed=SEED)
        st = rhstack.hr_stack(zd, MAPPING, SECRET, POLICY)
        ids = {}
        for who in ("A", "B"):
            body = json.dumps({"type": "employee.hired", "data": {
                "id": "C-" + who, "work_email": "c-%s@example.com" % who.lower(),
                "name": "C " + who, "department": "Support",
                "job_title": "Associate Agent"}}).encode()
            code, _, rb = st.post("hr", body, sign("standard-webhooks", SECRET, body,
                                                   msg_id="msg_cancel_" + who))
            self.assertEqual(code, 202, rb)
            ids[who] = json.loads(rb)["id"]
        # One thread, held by a slow first read: B waits in work's queue.
        zd.control("POST", "/__fake/faults", {"rules": [
            {"match": "GET /api/v2/users*", "kind": "slow", "delay_s": 3, "count": 1}]})
        work = subprocess.Popen([st.bin, "work", "--until-idle", "--threads", "1",
                                 "--config", st.cfg_path], env=st.env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.time() + 30
            while not [q for q in zd.requests()["requests"] if q.get("fault") == "slow"]:
                self.assertLess(time.time(), deadline, "work made no request")
                time.sleep(0.05)
            r = st.cli("events", "cancel", str(ids["B"]))
            self.assertIn("cancelled", r.stdout)
            out, err = work.communicate(timeout=120)
            self.assertEqual(work.returncode, 0, err[-2000:])
            show = json.loads(st.cli("events", "show", str(ids["B"])).stdout)
            self.assertEqual(show["state"], "cancelled", show)
            emails = [u["email"] for u in zd.state()["users"]]
            self.assertIn("c-a@example.com", emails)
            self.assertNotIn("c-b@example.com", emails)
            self.assertFalse([q for q in zd.requests()["requests"]
                              if q["method"] != "GET" and "c-b" in json.dumps(q.get("body"))])
        finally:
            if work.poll() is None:
                work.kill()
                work.wait()
            st.stop()
            zd.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
