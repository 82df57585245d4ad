#!/usr/bin/env python3
"""The rolehook demo: real nginx + rolehook serve on loopback, signed
webhooks from BambooHR, Zendesk and a Standard Webhooks HR sender, and
what rolehook answered.  Run through deploy/demo.sh."""
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


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bin", default="build/rolehook")
    args = ap.parse_args()
    os.environ["ROLEHOOK_BIN"] = os.path.abspath(args.bin)

    sources = {
        "bamboohr": {"preset": "bamboohr", "secret_values": [SECRETS["bamboohr"]]},
        "zendesk": {"preset": "zendesk", "secret_values": [SECRETS["zendesk"]]},
        "hr": {"preset": "standard-webhooks", "secret_values": [SECRETS["hr"]]},
    }
    stack = rhstack.Stack(sources, max_body=65536)
    print("== starting nginx on 127.0.0.1:%d -> rolehook serve (%s)" % (stack.port, stack.sock))
    stack.start()
    rows = []

    def send(what, source, body, headers, expect, **kw):
        st, _, rb = stack.post(source, body, headers, **kw)
        rows.append((what, "POST /hooks/" + source, st, rb.decode().strip(), st == expect))

    try:
        now = int(time.time())
        bamboo = json.dumps({"type": "employee.updated", "timestamp": "2026-11-29T09:00:00+0000",
                             "data": {"companyId": "12345", "employeeId": "67890",
                                      "changedFields": ["jobTitle", "department"]}}).encode()
        bh = sign("bamboohr", SECRETS["bamboohr"], bamboo, ts=now)
        send("BambooHR: employee moved to Support", "bamboohr", bamboo, bh, 202)
        send("BambooHR retries the same delivery", "bamboohr", bamboo, bh, 200)

        zd = json.dumps({"id": "01JDEMO0ROLECHANGED", "type": "zen:event-type:user.role_changed",
                         "subject": "zen:user:9001", "time": "2026-11-29T09:00:01Z",
                         "detail": {"id": "9001", "email": "ana@example.com", "role": "admin"},
                         "event": {"current": "admin", "previous": "agent"}}).encode()
        send("Zendesk: user.role_changed", "zendesk", zd, sign("zendesk", SECRETS["zendesk"], zd, ts=now), 202)

        hire = json.dumps({"type": "employee.hired", "data": {"id": "E-1001", "work_email": "lee@example.com",
                                                              "department": "Support",
                                                              "job_title": "Associate"}}).encode()
        sw = sign("standard-webhooks", SECRETS["hr"], hire, ts=now, msg_id="msg_demo_hire_1")
        send("HR (Standard Webhooks): hire", "hr", hire, sw, 202)

        send("tampered body (one byte)", "hr", hire.replace(b"Associate", b"Associatf"), sw, 401)
        send("signed with the wrong secret", "bamboohr", bamboo + b" ",
             sign("bamboohr", "not-the-secret", bamboo + b" ", ts=now), 401)
        old = sign("standard-webhooks", SECRETS["hr"], hire, ts=now - 3600, msg_id="msg_demo_replay")
        send("replay of an hour-old request", "hr", hire, old, 401)
        send("no signature at all", "zendesk", zd, {}, 401)
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
    finally:
        rc = stack.stop()
        print("\n== stopped nginx and rolehook (rolehook exit status %s)" % rc)
    bad = [r for r in rows if not r[4]]
    if bad:
        print("demo: %d answers were not what the contract says" % len(bad), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
