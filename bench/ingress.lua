-- wrk script for bench/ingress: the same signed 1 KiB body on every
-- request, a unique X-GitHub-Delivery per request (the github preset signs
-- the body only and takes the delivery id from that header), so every
-- request is a fresh, fully verified, durably stored event.
-- Env: BENCH_SIG (the body's sha256= signature), BENCH_BODY_FILE.
local counter = 0
local body, sig
tid = 0  -- global: setup() sets it per thread with thread:set
local threads = {}

function setup(thread)
  tid = tid + 1
  thread:set("tid", tid)
  table.insert(threads, thread)
end

function init(args)
  local f = assert(io.open(os.getenv("BENCH_BODY_FILE"), "rb"))
  body = f:read("*a")
  f:close()
  sig = os.getenv("BENCH_SIG")
  run = os.getenv("BENCH_RUN") or "r"
end

function request()
  counter = counter + 1
  return wrk.format("POST", "/hooks/bench", {
    ["Content-Type"] = "application/json",
    ["X-Hub-Signature-256"] = sig,
    ["X-GitHub-Delivery"] = run .. "-" .. tid .. "-" .. counter,
  }, body)
end

function done(summary, latency, requests)
  local non2xx = summary.errors.status
  io.write(string.format(
    "RESULT {\"requests\":%d,\"duration_us\":%d,\"p50_us\":%d,\"p99_us\":%d,\"errors_status\":%d,\"errors_connect\":%d,\"errors_read\":%d,\"errors_timeout\":%d}\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    non2xx, summary.errors.connect, summary.errors.read, summary.errors.timeout))
end
