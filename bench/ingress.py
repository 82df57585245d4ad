#!/usr/bin/env python3
"""bench/ingress: nginx -> trivial libfcgi HMAC responder (baseline, a)
versus nginx -> rolehook serve with the real durable store (b), under the
same load in the same run: wrk, 32 connections, 1 KiB signed bodies, a
fixed duration.  Prints requests/s, p50 and p99 for both, the ratio b/a
and rolehook's peak RSS.  Targets (issue): ratio >= 0.80, p99 <= 5 ms,
RSS <= 16 MiB.

usage: bench/ingress.py [--build DIR] [--duration S] [--connections N] [--threads N]
"""
import argparse
import hashlib
import hmac
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
import rhstack  # noqa: E402

SECRET = "bench-secret"


def body_1k():
    doc = {"type": "employee.updated", "data": {"employeeId": "67890", "department": "Support",
                                               "title": "Associate", "pad": ""}}
    base = len(json.dumps(doc, separators=(",", ":")))
    doc["data"]["pad"] = "x" * (1024 - base)
    b = json.dumps(doc, separators=(",", ":")).encode()
    assert len(b) == 1024
    return b


def run_wrk(port, args, body_file, sig, run):
    env = dict(os.environ, BENCH_BODY_FILE=body_file, BENCH_SIG=sig, BENCH_RUN=run)
    out = subprocess.run(["wrk", "-t2", "-c%d" % args.connections, "-d%ds" % args.duration,
                          "--timeout", "5s", "-s", os.path.join(HERE, "ingress.lua"),
                          "http://127.0.0.1:%d/" % port], env=env, capture_output=True,
                         text=True, check=True).stdout
    line = [l for l in out.splitlines() if l.startswith("RESULT ")][0]
    r = json.loads(line[7:])
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
    return r


def peak_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return -1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(TOP, "build"))
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--threads", type=int, default=32, help="FastCGI threads for both servers")
    args = ap.parse_args()
    os.environ.setdefault("ROLEHOOK_BIN", os.path.join(args.build, "rolehook"))
    trivial = os.path.join(args.build, "bench_trivial_fcgi")

    body = body_1k()
    sig = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    with tempfile.NamedTemporaryFile("wb", delete=False, suffix=".json") as f:
        f.write(body)
        body_file = f.name
    src = {"bench": {"preset": "github", "secret_values": [SECRET]}}
    results = {}
    try:
        # (a) baseline
        st = rhstack.Stack(src, max_body=65536, threads=args.threads)
        base = subprocess.Popen([trivial, st.sock, str(args.threads)])
        rhstack.wait_for(lambda: os.path.exists(st.sock), what="baseline socket")
        try:
            st.start(rolehook=False)
            run_wrk(st.port, args, body_file, sig, "warm-a")  # warm-up is not counted
            results["a"] = run_wrk(st.port, args, body_file, sig, "a")
        finally:
            base.terminate()
            base.wait()
            st.stop()
        # (b) rolehook serve with the durable store
        st = rhstack.Stack(src, max_body=65536, threads=args.threads, log_level="warn",
                            extra_store={"batch_us": int(os.environ.get("BENCH_BATCH_US", "200"))})
        st.start()
        try:
            results["b"] = run_wrk(st.port, args, body_file, sig, "b")
            results["b"]["rss_kib"] = peak_rss_kib(st.rh.pid)
            stored = len(st.cli("events", "list", "--format", "json", "--limit", "1000000").stdout.splitlines())
        finally:
            st.stop()
    finally:
        os.unlink(body_file)

    a, b = results["a"], results["b"]
    print("bench/ingress: %d connections, 1 KiB signed bodies, %d s per run, %d FastCGI threads"
          % (args.connections, args.duration, args.threads))
    print("%-34s %10s %9s %9s %8s" % ("run", "req/s", "p50 ms", "p99 ms", "non-2xx"))
    for k, name in (("a", "(a) nginx -> trivial HMAC responder"), ("b", "(b) nginx -> rolehook serve")):
        r = results[k]
        print("%-34s %10.0f %9.2f %9.2f %8d" % (name, r["rps"], r["p50_us"] / 1000, r["p99_us"] / 1000,
                                               r["errors_status"]))
    print("ratio b/a: %.2f   (target >= 0.80)" % (b["rps"] / a["rps"]))
    print("rolehook p99: %.2f ms (target <= 5 ms)" % (b["p99_us"] / 1000))
    print("rolehook peak RSS: %.1f MiB (target <= 16 MiB)" % (b["rss_kib"] / 1024))
    print("events stored: %d (every 2xx is one stored event: %s)"
          % (stored, "yes" if stored >= b["requests"] - b["errors_status"] else "NO"))


if __name__ == "__main__":
    main()
