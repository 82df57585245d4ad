#!/usr/bin/env python3
"""The rolehook demo, on loopback only: real nginx + rolehook serve, a
fake Zendesk (tests/fakes/fake_zendesk.py), and rolehook work.

Part 1, the front door: signed webhooks from BambooHR, Zendesk and a
Standard Webhooks HR sender, and what rolehook answered to each.
Part 2, the story: an HR system hires, promotes, lets go and rehires Lee;
rolehook work applies each event to Zendesk; seat counts before and
after, and `rolehook why` for Lee.  Run through deploy/demo.sh."""
import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import rhstack  # noqa: E402
from rhstack import sign  # noqa: E402

SECRETS = {
    "bamboohr": "demo-bamboohr-private-key",
    "zendesk": "ZGVtby16ZW5kZXNrLXdlYmhvb2stc2lnbmluZy1zZWNyZXQ=",
    "hr": "whsec_ZGVtby1zdGFuZGFyZC13ZWJob29rcy1zZWNyZXQ=",
}


SEED = {
    "custom_roles": [{"id": 101, "name": "Tier 1", "description": "first line"},
                     {"id": 102, "name": "Team lead", "description": "leads"}],
    "groups": [{"id": 201, "name": "Tier 1"}, {"id": 202, "name": "Leads"}],
    "users": [{"id": 9001, "name": "Owner", "email": "owner@example.com", "role": "admin"},
              {"id": 9002, "name": "Sam Agent", "email": "sam@example.com", "role": "agent",
               "custom_role_id": 101, "external_id": "E-900"}],
    "entitlements": {"9002": {"talk": {"name": "agent", "is_active": True}}},
}

POLICY = {
    "protected": ["owner@example.com"],
    "rules": [
        {"name": "tier1", "when": {"department": "Support", "title": {"prefix": "Associate"}},
         "then": {"role": "agent", "custom_role": "Tier 1", "groups": ["Tier 1"],
                  "entitlements": {"talk": "agent", "chat": "agent"}}},
        {"name": "leads", "when": {"department": "Support", "title": {"in": ["Lead", "Manager"]}},
         "then": {"role": "agent", "custom_role": "Team lead", "groups": ["Leads"],
                  "entitlements": {"explore": "editor", "chat": "agent"}}},
        {"name": "others", "when": {}, "then": {"role": "end-user"}},
    ],
    "leaver": {"steps": ["entitlements_off", "downgrade", "suspend"]},
}

MAPPING = {"kind": "/type", "employee_id": "/data/id", "email": "/data/work_email",
           "name": "/data/name", "department": "/data/department", "title": "/data/job_title",
           "kinds": {"employee.hired": "hire", "employee.updated": "update",
                     "employee.terminated": "terminate", "employee.rehired": "rehire"}}


def seats_line(state):
    s = state["seats"]
    return "  ".join("%s %d" % (p, s.get(p, 0)) for p in ("support", "chat", "talk", "guide", "explore"))


def lee(zd):
    st = zd.state()
    for u in st["users"]:
        if u["email"] == "lee@example.com":
            ents = {p: v["name"] for p, v in st["entitlements"].get(str(u["id"]), {}).items()
                    if v.get("is_active")}
            roles = {r["id"]: r["name"] for r in st["custom_roles"]}
            return "%s, custom role %s, %s, products: %s" % (
                u["role"], roles.get(u.get("custom_role_id"), "-"),
                "suspended" if u.get("suspended") else "active",
                ", ".join("%s=%s" % kv for kv in sorted(ents.items())) or "none")
    return "no Zendesk user"


def story(stack, zd, rows):
    print("\n== part 2: hire, move, leave, rehire (HR -> nginx -> serve -> store -> work -> Zendesk)")
    before = zd.state()
    print("  seats before:  " + seats_line(before))
    steps = [
        ("hire: Lee joins Support as Associate", "employee.hired",
         {"department": "Support", "job_title": "Associate Agent"}),
        ("move: Lee is promoted to Lead", "employee.updated",
         {"department": "Support", "job_title": "Lead"}),
        ("leave: Lee leaves the company", "employee.terminated", {}),
        ("rehire: Lee comes back", "employee.rehired",
         {"department": "Support", "job_title": "Lead"}),
    ]
    per_step = []
    for n, (what, typ, extra) in enumerate(steps, 1):
        data = {"id": "E-1001", "work_email": "lee@example.com", "name": "Lee Example"}
        data.update(extra)
        body = json.dumps({"type": typ, "data": data}).encode()
        hdrs = sign("standard-webhooks", SECRETS["hr"], body, msg_id="msg_story_%d" % n)
        st, _, rb = stack.post("hr", body, hdrs)
        mark = (zd.requests()["requests"] or [{"seq": 0}])[-1]["seq"]
        r = stack.cli("work", "--until-idle", check=False)
        reqs = zd.requests(mark)["requests"]
        writes = [r2 for r2 in reqs if r2["method"] != "GET"]
        per_step.append((what.split(":")[0], len(writes), len(reqs) - len(writes)))
        rows.append((what, "work", r.returncode, "", r.returncode == 0 and st == 202))
        print("\n  %s  (HTTP %d, then rolehook work: %d Zendesk write%s)" % (
            what, st, len(writes), "" if len(writes) == 1 else "s"))
        for w in writes:
            print("      %-6s %-48s %s" % (w["method"], w["path"], json.dumps(w["body"]) if w["body"] else ""))
        print("    Lee in Zendesk: " + lee(zd))
        print("    Zendesk calls for this step: %d write%s, %d read%s" % (
            per_step[-1][1], "" if per_step[-1][1] == 1 else "s",
            per_step[-1][2], "" if per_step[-1][2] == 1 else "s"))
    print("\n  Zendesk writes per step: " + ", ".join("%s %d" % (k, w) for k, w, _ in per_step))
    after = zd.state()
    print("\n  seats after:   " + seats_line(after))
    print("  legacy agents created (must be none): %s" % (after["legacy_agents"] or "none"))
    uid = [u["id"] for u in after["users"] if u["email"] == "lee@example.com"][0]
    print("\n== rolehook why %d  (the audit lineage of Lee's access)" % uid)
    print(stack.cli("why", str(uid), "--format", "table").stdout.rstrip())


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bin", default="build/rolehook")
    args = ap.parse_args()
    os.environ["ROLEHOOK_BIN"] = os.path.abspath(args.bin)

    sources = {
        "bamboohr": {"preset": "bamboohr", "secret_values": [SECRETS["bamboohr"]]},
        "zendesk": {"preset": "zendesk", "secret_values": [SECRETS["zendesk"]]},
        "hr": {"preset": "standard-webhooks", "normalizer": "generic", "mapping": MAPPING,
               "secret_values": [SECRETS["hr"]]},
    }
    zd = rhstack.FakeZendesk(seed=SEED)
    print("== fake Zendesk on %s (custom roles Tier 1 and Team lead, groups, one protected admin)" % zd.base)
    stack = rhstack.Stack(sources, max_body=65536, extra={"zendesk": zd.config(), "policy": POLICY})
    stack.env.update(zd.env())
    print("== starting nginx on 127.0.0.1:%d -> rolehook serve (%s)" % (stack.port, stack.sock))
    stack.start()
    rows = []

    def send(what, source, body, headers, expect, **kw):
        st, _, rb = stack.post(source, body, headers, **kw)
        rows.append((what, "POST /hooks/" + source, st, rb.decode().strip(), st == expect))

    try:
        now = int(time.time())
        # A field-based BambooHR webhook batches the people it changed:
        # work splits it and applies each (an event-based one carries ids
        # only: "thin", nothing to apply, docs/normalizers.md).
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime(now))
        bamboo = json.dumps({"employees": [
            {"action": "Updated", "changedFields": ["Job Title", "Department"], "id": "67890",
             "timestamp": stamp,
             "fields": {"First Name": "Sam", "Last Name": "Okafor",
                        "Work Email": "sam@example.com", "Department": "Support",
                        "Job Title": "Associate Support Specialist"}},
            {"action": "Updated", "changedFields": ["Job Title"], "id": "67891",
             "timestamp": stamp,
             "fields": {"First Name": "Ines", "Last Name": "Costa",
                        "Work Email": "ines@example.com", "Department": "Finance",
                        "Job Title": "Controller"}}]}).encode()
        bh = sign("bamboohr", SECRETS["bamboohr"], bamboo, ts=now)
        send("BambooHR: 2 changes, Sam to Support", "bamboohr", bamboo, bh, 202)
        send("BambooHR retries the same delivery", "bamboohr", bamboo, bh, 200)

        zbody = json.dumps({"id": "01JDEMO0ROLECHANGED", "type": "zen:event-type:user.role_changed",
                         "subject": "zen:user:9001", "time": "2026-11-29T09:00:01Z",
                         "detail": {"id": "9001", "email": "ana@example.com", "role": "admin"},
                         "event": {"current": "admin", "previous": "agent"}}).encode()
        send("Zendesk: user.role_changed", "zendesk", zbody,
             sign("zendesk", SECRETS["zendesk"], zbody, ts=now), 202)

        hire = json.dumps({"type": "employee.hired", "data": {"id": "E-1002", "work_email": "kim@example.com",
                                                              "department": "Support",
                                                              "job_title": "Associate"}}).encode()
        sw = sign("standard-webhooks", SECRETS["hr"], hire, ts=now, msg_id="msg_demo_hire_1")
        send("HR (Standard Webhooks): hire", "hr", hire, sw, 202)

        send("tampered body (one byte)", "hr", hire.replace(b"Associate", b"Associatf"), sw, 401)
        send("signed with the wrong secret", "bamboohr", bamboo + b" ",
             sign("bamboohr", "not-the-secret", bamboo + b" ", ts=now), 401)
        old = sign("standard-webhooks", SECRETS["hr"], hire, ts=now - 3600, msg_id="msg_demo_replay")
        send("replay of an hour-old request", "hr", hire, old, 401)
        send("no signature at all", "zendesk", zbody, {}, 401)
        send("unknown source", "workday", b"{}", {}, 404)
        send("not JSON", "hr", b"hello", sw, 415, content_type="text/plain")
        big = b'{"pad":"' + b"x" * 70000 + b'"}'
        send("body over max_body", "hr", big, sign("standard-webhooks", SECRETS["hr"], big, ts=now), 413)
        st, _, rb = stack.request("GET", "/hooks/hr")
        rows.append(("GET instead of POST", "GET /hooks/hr", st, rb.decode().strip(), st == 405))

        print("\n== what the senders got")
        w = max(len(r[0]) for r in rows)
        for what, req, st, body, ok in rows:
            print("  %-*s  %-20s %d  %s%s" % (w, what, req, st, body, "" if ok else "   <-- unexpected"))

        print("\n== rolehook events list (the durable inbox)")
        print(stack.cli("events", "list", "--format", "table").stdout.rstrip())

        print("\n== GET /metrics (excerpt)")
        _, _, m = stack.request("GET", "/metrics")
        for line in m.decode().splitlines():
            if line.startswith(("rolehook_requests_total", "rolehook_verify_failures_total")):
                print("  " + line)
        print("\n== GET /healthz ->", stack.request("GET", "/healthz")[2].decode().strip())

        print("\n== rolehook work --until-idle: what became of part 1's events")
        r = stack.cli("work", "--until-idle", check=False)
        rows.append(("work on part 1's events", "work", r.returncode, "", r.returncode == 0))
        print(stack.cli("events", "list", "--format", "table").stdout.rstrip())

        story(stack, zd, rows)
    finally:
        rc = stack.stop()
        zd.stop()
        print("\n== stopped nginx, rolehook serve and the fake Zendesk (rolehook exit status %s)" % rc)
    bad = [r for r in rows if not r[4]]
    if bad:
        print("demo: %d answers were not what the contract says" % len(bad), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
