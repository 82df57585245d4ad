-- wrk script for bench/ingress: 1 KiB signed bodies, a different body on
-- every request (a ten-digit sequence number inside it), so every request
-- is a fresh, fully verified, durably stored event.  The github preset
-- signs the body only and the store keys such a body by its hash (an
-- unsigned X-GitHub-Delivery is never the key), so the bodies must
-- differ; their signatures are computed beforehand by bench/ingress.py
-- with Python's hmac, one per line in BENCH_SIG_FILE.  Thread k takes
-- lines k*BENCH_PER_THREAD+1 .. (k+1)*BENCH_PER_THREAD.
-- Env: BENCH_PREFIX_FILE, BENCH_SUFFIX_FILE (the body around the number),
-- BENCH_SIG_FILE, BENCH_PER_THREAD.
local counter = 0
local prefix, suffix, sigs, first, per
tid = 0  -- global: setup() sets it per thread with thread:set
local threads = {}

function setup(thread)
  thread:set("tid", tid)
  tid = tid + 1
  table.insert(threads, thread)
end

local function slurp(name)
  local f = assert(io.open(os.getenv(name), "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

function init(args)
  prefix = slurp("BENCH_PREFIX_FILE")
  suffix = slurp("BENCH_SUFFIX_FILE")
  per = tonumber(os.getenv("BENCH_PER_THREAD"))
  first = tid * per
  sigs = {}
  local i = 0
  for line in io.lines(os.getenv("BENCH_SIG_FILE")) do
    if i >= first + per then break end
    if i >= first then sigs[#sigs + 1] = line end
    i = i + 1
  end
end

function request()
  -- Past the last signature the sequence wraps: those are duplicates
  -- (200), and the "events stored" line of the report says so.
  local k = counter % per
  counter = counter + 1
  return wrk.format("POST", "/hooks/bench", {
    ["Content-Type"] = "application/json",
    ["X-Hub-Signature-256"] = "sha256=" .. sigs[k + 1],
  }, prefix .. string.format("%010d", first + k) .. suffix)
end

function done(summary, latency, requests)
  local non2xx = summary.errors.status
  io.write(string.format(
    "RESULT {\"requests\":%d,\"duration_us\":%d,\"p50_us\":%d,\"p99_us\":%d,\"errors_status\":%d,\"errors_connect\":%d,\"errors_read\":%d,\"errors_timeout\":%d}\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    non2xx, summary.errors.connect, summary.errors.read, summary.errors.timeout))
end
