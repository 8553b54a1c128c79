-- wrk script: POST client_credentials grants to /fhir/auth/token, each with a
-- fresh client assertion (bench/assertions.py make: one form body a line, in
-- the file FHIRGATE_BENCH_ASSERTIONS). Thread t of n (script arguments:
-- `-- n`) sends lines t+1, t+1+n, ... once each, then only a slow trickle of
-- GET /healthz until its grants are answered, then stops: a fixed number of
-- grants, no assertion sent twice. Prints one line that bench/auth.sh parses:
--   RESULT grants=.. ok=.. failed=.. lost=.. seconds=.. rate=.. p50=.. p99=.. errors=..
-- (failed = non-2xx, or a 200 without an access_token; lost = never
-- answered; rate = 2xx grants per second over the whole run; latencies in ms,
-- of all requests, the few trailing /healthz ones included).
local thread_id = 0
local threads = {}
setup = function(thread)
  thread:set("tid", thread_id)
  thread_id = thread_id + 1
  threads[#threads + 1] = thread
end

t_start, t_end = 0, 0
local bodies = {}
local sent = 0
local verify_call = false
local last_answer = 0
ok, bad, first_bad = 0, 0, ""
local headers = { ["Content-Type"] = "application/x-www-form-urlencoded", ["Accept"] = "application/json" }

-- Wall-clock seconds (wrk's Lua has only os.time, whole seconds); called
-- twice per thread.
local function now()
  local p = io.popen("date +%s.%N")
  local t = tonumber(p:read("*l"))
  p:close()
  return t
end

init = function(args)
  -- args[0] is the URL, args[1] the first argument after `--`.
  local n = tonumber(args[1]) or 1
  local i = 0
  for line in io.lines(os.getenv("FHIRGATE_BENCH_ASSERTIONS")) do
    if line ~= "" then
      if i % n == tid then bodies[#bodies + 1] = line end
      i = i + 1
    end
  end
  mine = #bodies
  -- wrk 4 calls request() once in the first thread, after init, to check
  -- the script (script_verify_request), and never sends that request.
  verify_call = (tid == 0)
  last_answer = os.time()
end

local health = nil
request = function()
  -- Formatted here, not at load: wrk sets the Host header only before init.
  health = health or wrk.format("GET", "/healthz")
  if verify_call then
    verify_call = false
    return health
  end
  if sent < #bodies then
    if sent == 0 then t_start = now() end
    sent = sent + 1
    return wrk.format("POST", "/fhir/auth/token", headers, bodies[sent])
  end
  return health
end

-- Once this thread's grants are all sent, its connections only poll /healthz,
-- ten times a second each, while the last answers come in.
delay = function()
  if sent < #bodies then return 0 end
  return 100
end

local finished = false
local function finish()
  if finished then return end
  finished = true
  t_end = now()
  -- wrk's main thread sleeps out the whole -d whatever its threads do:
  -- bench/auth.sh interrupts it (SIGINT) once every thread is listed here.
  local f = io.open(os.getenv("FHIRGATE_BENCH_DONE"), "a")
  f:write(tid .. "\n")
  f:close()
  wrk.thread:stop()
end

response = function(status, hdrs, body)
  if body == '{"status":"ok"}' then
    -- A grant never answered (should not happen): give up 10 s after the last answer.
    if sent >= #bodies and os.time() - last_answer > 10 then finish() end
    return
  end
  last_answer = os.time()
  if status == 200 and string.find(body, '"access_token"', 1, true) then
    ok = ok + 1
  else
    bad = bad + 1
    if first_bad == "" then first_bad = status .. " " .. string.sub(body or "", 1, 200) end
  end
  if ok + bad >= #bodies then finish() end
end

done = function(summary, latency, requests)
  local o, b, n, sample, t0, t1 = 0, 0, 0, "", nil, 0
  for _, t in ipairs(threads) do
    o = o + t:get("ok")
    b = b + t:get("bad")
    n = n + t:get("mine")
    if sample == "" then sample = t:get("first_bad") end
    local s, e = t:get("t_start"), t:get("t_end")
    if s > 0 and (t0 == nil or s < t0) then t0 = s end
    if e > t1 then t1 = e end
  end
  local e = summary.errors
  -- From the first grant sent to the last answered, over all threads.
  local secs = (t0 and t1 > t0) and (t1 - t0) or summary.duration / 1e6
  io.write(string.format("RESULT grants=%d ok=%d failed=%d lost=%d seconds=%.2f rate=%.1f p50=%.2f p99=%.2f errors=%d\n",
    n, o, b, n - o - b, secs, o / secs, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.connect + e.read + e.write + e.timeout))
  if sample ~= "" then io.write("FIRST_FAILED " .. sample .. "\n") end
end
