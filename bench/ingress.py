#!/usr/bin/env python3
"""bench/ingress: nginx -> trivial libfcgi HMAC responder (baseline, a)
versus nginx -> rolehook serve with the real durable store (b), under the
same load in the same run: wrk, 32 connections, 1 KiB signed bodies (each
one different: the store keys a GitHub-style body by its hash), a fixed
duration.  Prints requests/s, p50 and p99 for both, the ratio b/a
and rolehook's peak RSS.  Targets (issue): ratio >= 0.80, p99 <= 5 ms,
RSS <= 16 MiB.

--engine postgresql adds (c): the same rolehook serve on the PostgreSQL
store (a PostgreSQL 15 started for the run, tests/integration/pgserver.py:
loopback TCP, SCRAM password, fsync on), and prints its figures beside
SQLite's.

usage: bench/ingress.py [--build DIR] [--duration S] [--connections N] [--threads N]
                        [--engine sqlite|postgresql]
"""
import argparse
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
import pgserver  # noqa: E402
import rhstack  # noqa: E402

SECRET = "bench-secret"


PER_THREAD_RATE = 40000  # signatures per wrk thread and second of run


def body_parts():
    """A 1 KiB body as prefix + ten-digit sequence number + suffix."""
    doc = {"type": "employee.updated", "data": {"employeeId": "67890", "department": "Support",
                                               "title": "Associate", "seq": "@", "pad": ""}}
    base = len(json.dumps(doc, separators=(",", ":"))) - 1 + 10
    doc["data"]["pad"] = "x" * (1024 - base)
    text = json.dumps(doc, separators=(",", ":")).encode()
    prefix, suffix = text.split(b"@")
    assert len(prefix) + 10 + len(suffix) == 1024
    return prefix, suffix


def write_sigs(path, prefix, suffix, n):
    """One hex HMAC-SHA256 per sequence number 0..n-1 (Python's hmac)."""
    key = SECRET.encode()
    with open(path, "w") as f:
        for i in range(n):
            body = prefix + b"%010d" % i + suffix
            f.write(hmac.new(key, body, hashlib.sha256).hexdigest() + "\n")


def run_wrk(port, args, files, run):
    env = dict(os.environ, BENCH_RUN=run, **files)
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


def cpu_s(pids):
    """User + system CPU seconds of pids (all their threads), so far."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
    return total / tick


def pg_pids(pg):
    """The postmaster and its children (the backends serve holds open)."""
    with open(os.path.join(pg.dir, "data", "postmaster.pid")) as f:
        master = int(f.readline())
    pids = [master]
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == master:
                        pids.append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    return pids


def pg_counters(pg):
    """Commits of the database and the WAL's writes and syncs so far."""
    out = pg.psql("SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname ="
                  " current_database()), wal_records, wal_bytes, wal_write, wal_sync,"
                  " wal_sync_time FROM pg_stat_wal").stdout.strip().split("|")
    return dict(zip(("commits", "records", "bytes", "writes", "syncs", "sync_ms"),
                    (float(x) for x in out)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(TOP, "build"))
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--threads", type=int, default=32, help="FastCGI threads for both servers")
    ap.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite",
                    help="postgresql: also run rolehook on a PostgreSQL store, side by side")
    args = ap.parse_args()
    os.environ.setdefault("ROLEHOOK_BIN", os.path.join(args.build, "rolehook"))
    trivial = os.path.join(args.build, "bench_trivial_fcgi")

    prefix, suffix = body_parts()
    tmp = tempfile.mkdtemp(prefix="rolehook-bench-")
    per = PER_THREAD_RATE * args.duration
    files = {"BENCH_PREFIX_FILE": os.path.join(tmp, "prefix"),
             "BENCH_SUFFIX_FILE": os.path.join(tmp, "suffix"),
             "BENCH_SIG_FILE": os.path.join(tmp, "sigs"), "BENCH_PER_THREAD": str(per)}
    with open(files["BENCH_PREFIX_FILE"], "wb") as f:
        f.write(prefix)
    with open(files["BENCH_SUFFIX_FILE"], "wb") as f:
        f.write(suffix)
    write_sigs(files["BENCH_SIG_FILE"], prefix, suffix, 2 * per)
    src = {"bench": {"preset": "github", "secret_values": [SECRET]}}
    results = {}
    try:
        # (a) baseline
        st = rhstack.Stack(src, max_body=65536, threads=args.threads)
        base = subprocess.Popen([trivial, st.sock, str(args.threads)])
        rhstack.wait_for(lambda: os.path.exists(st.sock), what="baseline socket")
        try:
            st.start(rolehook=False)
            run_wrk(st.port, args, files, "warm-a")  # warm-up is not counted
            results["a"] = run_wrk(st.port, args, files, "a")
        finally:
            base.terminate()
            base.wait()
            st.stop()
        # (b) rolehook serve with the durable store
        st = rhstack.Stack(src, max_body=65536, threads=args.threads, log_level="warn",
                            extra_store={"batch_us": int(os.environ.get("BENCH_BATCH_US", "200"))})
        st.start()
        try:
            cpu0 = cpu_s([st.rh.pid])
            results["b"] = run_wrk(st.port, args, files, "b")
            results["b"]["cpu_rh"] = cpu_s([st.rh.pid]) - cpu0
            results["b"]["rss_kib"] = peak_rss_kib(st.rh.pid)
            results["b"]["stored"] = len(st.cli("events", "list", "--format", "json", "--limit",
                                                "1000000").stdout.splitlines())
        finally:
            st.stop()
        # (c) the same on PostgreSQL: same bodies, a fresh store
        if args.engine == "postgresql":
            with pgserver.PgServer() as pg:
                st = rhstack.Stack(src, max_body=65536, threads=args.threads, log_level="warn",
                                    extra_store={"engine": "postgresql", "dsn": pg.new_schema(),
                                                 "password": "env:BENCH_PG_PASSWORD",
                                                 "batch_us": int(os.environ.get("BENCH_BATCH_US",
                                                                                "200"))})
                st.env["BENCH_PG_PASSWORD"] = pg.password
                # WAL fsync time for the breakdown below (superuser role).
                pg.psql("ALTER SYSTEM SET track_wal_io_timing = on")
                pg.psql("SELECT pg_reload_conf()")
                st.start()
                try:
                    pids = pg_pids(pg)
                    cpu0, pcpu0, k0 = cpu_s([st.rh.pid]), cpu_s(pids), pg_counters(pg)
                    results["c"] = run_wrk(st.port, args, files, "b")
                    time.sleep(2)  # backends report their statistics within a second or so
                    k1 = pg_counters(pg)
                    results["c"]["cpu_rh"] = cpu_s([st.rh.pid]) - cpu0
                    results["c"]["cpu_pg"] = cpu_s(pids) - pcpu0
                    results["c"]["pg"] = {k: k1[k] - k0[k] for k in k0}
                    results["c"]["rss_kib"] = peak_rss_kib(st.rh.pid)
                    results["c"]["stored"] = len(st.cli("events", "list", "--format", "json",
                                                        "--limit", "1000000").stdout.splitlines())
                finally:
                    st.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    a = results["a"]
    print("bench/ingress: %d connections, 1 KiB signed bodies, %d s per run, %d FastCGI threads"
          % (args.connections, args.duration, args.threads))
    print("%-40s %10s %9s %9s %8s" % ("run", "req/s", "p50 ms", "p99 ms", "non-2xx"))
    runs = [("a", "(a) nginx -> trivial HMAC responder"), ("b", "(b) nginx -> rolehook serve, sqlite")]
    if "c" in results:
        runs.append(("c", "(c) nginx -> rolehook serve, postgresql"))
    for k, name in runs:
        r = results[k]
        print("%-40s %10.0f %9.2f %9.2f %8d" % (name, r["rps"], r["p50_us"] / 1000, r["p99_us"] / 1000,
                                               r["errors_status"]))
    # The same figures for each engine, side by side.
    engines = [k for k in ("b", "c") if k in results]
    print("%-40s" % "" + "".join("%14s" % ("sqlite" if k == "b" else "postgresql") for k in engines))
    print("%-40s" % "ratio to (a)   (target >= 0.80)" +
          "".join("%14.2f" % (results[k]["rps"] / a["rps"]) for k in engines))
    print("%-40s" % "rolehook p99 ms   (target <= 5 ms)" +
          "".join("%14.2f" % (results[k]["p99_us"] / 1000) for k in engines))
    print("%-40s" % "peak RSS MiB   (target <= 16 MiB)" +
          "".join("%14.1f" % (results[k]["rss_kib"] / 1024) for k in engines))
    print("%-40s" % "events stored" + "".join("%14d" % results[k]["stored"] for k in engines))
    print("%-40s" % "every 2xx is one stored event" +
          "".join("%14s" % ("yes" if results[k]["stored"] >= results[k]["requests"] -
                            results[k]["errors_status"] else "NO") for k in engines))

    # Where the time goes: CPU per request of rolehook serve (all its
    # threads) and, on PostgreSQL, of the server (postmaster and the
    # backends serve holds), and how the rows were committed.
    print("%-40s" % "rolehook CPU us per request" +
          "".join("%14.0f" % (1e6 * results[k]["cpu_rh"] / max(results[k]["requests"], 1))
                  for k in engines))
    if "c" in results:
        c, g = results["c"], results["c"]["pg"]
        n = max(c["requests"], 1)
        print("%-40s%14s%14.0f" % ("PostgreSQL server CPU us per request", "-", 1e6 * c["cpu_pg"] / n))
        print("%-40s%14s%14.1f" % ("rows per commit (group commit)", "-", n / max(g["commits"], 1)))
        print("%-40s%14s%14.0f" % ("WAL fsyncs per second", "-", g["syncs"] / args.duration))
        print("%-40s%14s%14.0f" % ("WAL fsync us each (track_wal_io_timing)", "-",
                                   1000 * g["sync_ms"] / max(g["syncs"], 1)))
        print("%-40s%14s%14.0f" % ("WAL bytes per request", "-", g["bytes"] / n))


if __name__ == "__main__":
    main()
