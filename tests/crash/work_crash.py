#!/usr/bin/env python3
"""Crash run for rolehook work: events for 20 people are applied to the
fake Zendesk while `work` is killed with SIGKILL at random moments (mid
apply included) and restarted.  At the end every person is in the state
the policy gives their last event, each person was created once, no
successful write was repeated within an event, and no agent was ever
without a custom role.

usage: work_crash.py [--cycles N] [--seed S]
"""
import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import rhstack  # noqa: E402
from rhstack import sign  # noqa: E402
from test_faults import DEPTS, TITLES, agent_event, expected  # noqa: E402
from test_pipeline import MAPPING, POLICY, SEED  # noqa: E402

SECRET = "whsec_" + "d29yay1jcmFzaC1zZWNyZXQtMDEyMzQ1Njc4OWFi"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cycles", type=int, default=12)
    ap.add_argument("--people", type=int, default=20)
    ap.add_argument("--events", type=int, default=8)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    args = ap.parse_args()
    rnd = random.Random(args.seed)
    print("work crash run: seed %d, %d kills, %d people x %d events"
          % (args.seed, args.cycles, args.people, args.events))
    zd = rhstack.FakeZendesk(seed=SEED, rate_limit=100000)
    src = {"hr": {"preset": "standard-webhooks", "normalizer": "generic", "mapping": MAPPING,
                  "secret_values": [SECRET]}}
    st = rhstack.Stack(src, extra={"zendesk": zd.config(), "policy": POLICY}, log_level="warn",
                       keep=bool(os.environ.get("CRASH_KEEP")))
    st.env.update(zd.env())
    st.start()
    failures = []
    try:
        last, ever, n = {}, {}, 0
        for r in range(args.events):
            for p in range(args.people):
                pid = "C-%03d" % p
                data = {"id": pid, "work_email": "c%03d@example.com" % p, "name": "Crash %d" % p}
                typ = ("employee.hired" if r == 0 else
                       "employee.terminated" if r == args.events - 1 and p % 4 == 0 else
                       "employee.updated")
                if typ != "employee.terminated":
                    data["department"] = rnd.choice(DEPTS)
                    data["job_title"] = rnd.choice(TITLES)
                doc = {"type": typ, "data": data}
                body = json.dumps(doc).encode()
                n += 1
                code, _, rb = st.post("hr", body, sign("standard-webhooks", SECRET, body, msg_id="msg_wc_%d" % n))
                if code != 202:
                    failures.append("post %d: %d %r" % (n, code, rb))
                last[pid] = doc
                ever[pid] = ever.get(pid, False) or agent_event(doc)
        # Slow answers make kills land between a write and its audit row.
        zd.control("POST", "/__fake/faults", {"rules": [
            {"match": "* /api/*", "kind": "slow", "probability": 0.3, "delay_s": 0.05}]})
        cmd = [st.bin, "work", "--config", st.cfg_path, "--threads", "8", "--retry-base", "1",
               "--retry-max", "1", "--log-level", "error"]
        log = open(os.path.join(st.tmp, "work.log"), "ab")
        kills = 0
        for c in range(args.cycles):
            w = subprocess.Popen(cmd, env=st.env, stdout=log, stderr=log)
            time.sleep(rnd.uniform(0.2, 1.0))
            if w.poll() is None:
                w.send_signal(signal.SIGKILL)
                kills += 1
            w.wait()
        zd.control("DELETE", "/__fake/faults")
        # --until-idle stops once nothing is due now; a write a kill cut
        # off may come back as a retry (a 422 "already exists" re-plans)
        # due a second later: run again until none is left, as cron would.
        deadline = time.time() + 60
        while True:
            r = subprocess.run(cmd + ["--until-idle"], env=st.env, stdout=log, stderr=log,
                               timeout=300)
            db = sqlite3.connect(st.db)
            waiting = db.execute("SELECT count(*) FROM events WHERE state IN"
                                 " ('pending', 'retry')").fetchone()[0]
            db.close()
            if r.returncode != 0 or waiting == 0 or time.time() > deadline:
                break
            time.sleep(1)
        log.close()
        if r.returncode != 0:
            failures.append("final work exited %d" % r.returncode)

        db = sqlite3.connect(st.db)
        states = dict(db.execute("SELECT state, count(*) FROM events GROUP BY state").fetchall())
        if set(states) != {"done"}:
            failures.append("event states %r" % states)
        dup = db.execute("SELECT event_id, request, after, count(*) FROM audit WHERE http_status"
                         " BETWEEN 200 AND 299 GROUP BY 1, 2, 3 HAVING count(*) > 1").fetchall()
        if dup:
            failures.append("repeated writes %r" % dup[:3])
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
        if integrity != "ok":
            failures.append("integrity_check " + integrity)
        db.close()
        zs = zd.state()
        by_email = {u["email"]: u for u in zs["users"]}
        for p in range(args.people):
            pid = "C-%03d" % p
            role, crid, susp, ents = expected(last[pid])
            u = by_email.get("c%03d@example.com" % p)
            if not ever[pid]:
                if u is not None:
                    failures.append("%s never had agent access but has a user" % pid)
                continue
            if u is None:
                failures.append("%s missing" % pid)
                continue
            got = {k: v["name"] for k, v in zs["entitlements"].get(str(u["id"]), {}).items()
                   if v.get("is_active") and k != "support"}
            if (u["role"], u.get("custom_role_id"), bool(u.get("suspended")), got) != (role, crid, susp, ents):
                failures.append("%s: %r != %r" % (pid, (u["role"], u.get("custom_role_id"), u.get("suspended"), got),
                                                  (role, crid, susp, ents)))
        # A create whose answer a kill cut off is not in the fake's log as
        # a 201, so count the users themselves (e-mails are unique).
        creates = [u for u in zs["users"] if u["email"].startswith("c") and
                   u["email"].endswith("@example.com")]
        if len(creates) != sum(ever.values()):
            failures.append("%d users for %d people given agent access"
                            % (len(creates), sum(ever.values())))
        if zs["legacy_events"]:
            failures.append("legacy agents %r" % zs["legacy_events"][:3])
        print("events %d, kills %d, states %r, users created %d" % (n, kills, states, len(creates)))
    finally:
        st.stop()
        zd.stop()
    if failures:
        print("FAIL (seed %d):\n  %s" % (args.seed, "\n  ".join(failures[:20])))
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
