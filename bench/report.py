#!/usr/bin/env python3
"""bench/report.py -- how close `rolehook report seats` and `rolehook
reconcile` come to the rate-limit floor.

Seeds the fake Zendesk (tests/fakes/fake_zendesk.py) with N agents (each
with a custom role, a group and product entitlements), sets its rate
limit and an injected response latency (a "slow" fault on every /api
request), then runs

    rolehook report seats --format csv
    rolehook reconcile --people PEOPLE.json      (report mode, N people)

and prints for each: the requests it made (the fake's log), the elapsed
wall time, the floor (requests / rate limit) and elapsed / floor.  The
baseline row is the floor itself (1.00).  Target: <= 1.05.  The rate is
chosen so that the governor, not the fake, is the bottleneck: the run is
short, and latency would add to every request if only one were in
flight.

    ROLEHOOK_BIN=build-g/rolehook python3 bench/report.py \
        [--agents 5000] [--rate 12000] [--latency-ms 5]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import rhstack  # noqa: E402

BASE_ID = 360000200000
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


def seed(n):
    users, mems, ents, people = [], [], {}, []
    for i in range(n):
        uid = BASE_ID + i
        users.append({"id": uid, "name": "Agent %d" % i, "email": "a%d@example.com" % i,
                      "role": "agent", "custom_role_id": 101, "external_id": "E-%d" % i})
        mems.append({"id": 800000 + i, "user_id": uid, "group_id": 201})
        ents[str(uid)] = {"talk": {"name": "agent", "is_active": True},
                          "chat": {"name": "agent", "is_active": True}}
        people.append({"employee_id": "E-%d" % i, "email": "a%d@example.com" % i,
                       "department": "Support", "title": "Associate Agent"})
    return ({"custom_roles": [{"id": 101, "name": "Tier 1", "description": "first line",
                               "configuration": {"ticket_editing": True}}],
             "groups": [{"id": 201, "name": "Tier 1"}],
             "users": users, "memberships": mems, "entitlements": ents}, people)


def last_seq(zd):
    reqs = zd.requests()["requests"]
    return reqs[-1]["seq"] if reqs else 0


def run(zd, binary, args, env):
    seq = last_seq(zd)
    t0 = time.monotonic()
    r = subprocess.run([binary] + args, env=env, capture_output=True, text=True)
    el = time.monotonic() - t0
    reqs = [q for q in zd.requests(seq)["requests"] if q["path"].startswith("/api/")]
    if r.returncode != 0:
        sys.exit("rolehook %s failed (%d):\n%s" % (" ".join(args), r.returncode, r.stderr[-3000:]))
    est = [l for l in r.stderr.splitlines() if "at least" in l]
    return el, len(reqs), (est[0] if est else "(no estimate line)"), r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--agents", type=int, default=5000)
    ap.add_argument("--rate", type=int, default=12000, help="fake's limit, requests/min")
    ap.add_argument("--latency-ms", type=float, default=5.0)
    ap.add_argument("--no-oas-check", action="store_true",
                    help="let the fake accept requests outside the OpenAPI description "
                         "(to compare with an older binary)")
    ap.add_argument("--bin", default=os.environ.get("ROLEHOOK_BIN", os.path.join(
        HERE, "..", "build", "rolehook")))
    a = ap.parse_args()
    doc, people = seed(a.agents)
    zd = rhstack.FakeZendesk(seed=doc, rate_limit=a.rate)
    tmp = tempfile.mkdtemp(prefix="rolehook-bench-")
    try:
        if a.no_oas_check:
            zd.control("POST", "/__fake/config", {"oas_check": False})
        zd.control("POST", "/__fake/faults", {"rules": [
            {"match": "/api/*", "kind": "slow", "delay_s": a.latency_ms / 1000.0}]})
        cfg, env = zd.cli_config(tmp, POLICY)
        pfile = os.path.join(tmp, "people.json")
        with open(pfile, "w") as f:
            json.dump(people, f)
        print("%d agents, fake limit %d requests/min, %.1f ms injected latency, %s" % (
            a.agents, a.rate, a.latency_ms, os.path.basename(a.bin)))
        print("%-28s %9s %9s %9s %13s" % ("run", "requests", "elapsed", "floor", "elapsed/floor"))
        rows = []
        for name, args in (("report seats --format csv",
                            ["report", "seats", "--config", cfg, "--format", "csv"]),
                           ("reconcile --people",
                            ["reconcile", "--config", cfg, "--people", pfile])):
            # A fresh minute window each time, as for a run on its own.
            zd.control("POST", "/__fake/config", {"rate_limit": a.rate})
            el, n, est, _ = run(zd, a.bin, args, env)
            floor = n * 60.0 / a.rate
            rows.append((name, n, el, floor))
            print("%-28s %9d %8.2fs %8.2fs %13.3f" % (name, n, el, floor, el / floor))
            print("  %s" % est)
        for name, n, el, floor in rows:
            print("%-28s %9d %8.2fs %8.2fs %13.3f" % ("baseline (floor): " + name.split()[0],
                                                      n, floor, floor, 1.0))
        worst = max(el / floor for _, _, el, floor in rows)
        print("worst elapsed/floor %.3f (target <= 1.05): %s" % (worst, "ok" if worst <= 1.05
                                                                 else "MISSED"))
        return 0 if worst <= 1.05 else 1
    finally:
        zd.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
