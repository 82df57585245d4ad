#!/usr/bin/env python3
"""bench/drain: how close rolehook work gets to Zendesk's rate limit.

N events (default 1000: hires and moves of N/2 people) are stored through
nginx + serve, then `rolehook work --until-idle` applies them to the fake
Zendesk limited to R requests per minute.  The floor is the time the
requests rolehook actually needed take at exactly R/min; the ratio is
drain time / floor (target <= 1.05) and the 429 count must be 0.

usage: bench/drain.py [--build DIR] [--events N] [--rate R] [--threads T]
"""
import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
import rhstack  # noqa: E402
from rhstack import sign  # noqa: E402
from test_pipeline import MAPPING, POLICY, SEED  # noqa: E402

SECRET = "whsec_" + "ZHJhaW4tYmVuY2gtc2VjcmV0LTAxMjM0NTY3ODlhYg=="


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(TOP, "build"))
    ap.add_argument("--events", type=int, default=1000)
    ap.add_argument("--rate", type=int, default=6000, help="fake Zendesk limit, requests per minute")
    ap.add_argument("--threads", type=int, default=8)
    args = ap.parse_args()
    os.environ.setdefault("ROLEHOOK_BIN", os.path.join(args.build, "rolehook"))

    zd = rhstack.FakeZendesk(seed=SEED, rate_limit=args.rate)
    st = rhstack.hr_stack(zd, MAPPING, SECRET, POLICY, log_level="warn")
    try:
        people = max(1, args.events // 2)
        n = 0
        for r in range(2):
            for p in range(people):
                if n >= args.events:
                    break
                data = {"id": "D-%05d" % p, "work_email": "d%05d@example.com" % p, "name": "Drain %d" % p,
                        "department": "Support", "job_title": "Associate Agent" if r == 0 else "Lead"}
                body = json.dumps({"type": "employee.hired" if r == 0 else "employee.updated",
                                   "data": data}).encode()
                n += 1
                code, _, _ = st.post("hr", body, sign("standard-webhooks", SECRET, body, msg_id="msg_drain_%d" % n))
                assert code == 202, code
        # A fresh rate window for the timed part.
        zd.control("POST", "/__fake/config", {"rate_limit": args.rate})
        seq0 = (zd.requests()["requests"] or [{"seq": 0}])[-1]["seq"]
        t0 = time.time()
        r = st.cli("work", "--until-idle", "--threads", str(args.threads), "--log-level", "error",
                   check=False, timeout=3600)
        elapsed = time.time() - t0
        reqs = zd.requests(seq0)["requests"]
        writes = sum(1 for q in reqs if q["method"] != "GET")
        state = zd.state()
        print("bench/drain: %d events, fake Zendesk limit %d requests/min, %d worker threads"
              % (n, args.rate, args.threads))
        print("requests made: %d (%d writes, %d reads); rolehook work exit status %d"
              % (len(reqs), writes, len(reqs) - writes, r.returncode))
        user_reads = sum(1 for q in reqs if q["method"] == "GET" and
                         q["path"].startswith("/api/v2/users") and "/group_memberships" not in q["path"]
                         and "/entitlements" not in q["path"])
        print("requests per event: %.2f (%.2f writes, %.2f reads; user reads %d)   (target <= 3.0)"
              % (len(reqs) / max(n, 1), writes / max(n, 1), (len(reqs) - writes) / max(n, 1), user_reads))
        floor = len(reqs) / (args.rate / 60.0)
        print("drain time %.1f s, floor %.1f s (requests / limit)" % (elapsed, floor))
        print("ratio drain/floor: %.3f   (target <= 1.05)" % (elapsed / floor))
        print("429 answers: %d (target 0); requests before a Retry-After passed: %d"
              % (state["rate"]["rate_limited"], state["rate"]["early_requests"]))
    finally:
        st.stop()
        zd.stop()


if __name__ == "__main__":
    main()
