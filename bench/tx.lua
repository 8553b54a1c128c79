-- wrk script: POST a small transaction (issue #4): 1 Patient + 1 Observation
-- that references it by urn:uuid, distinct per request. Counts non-200s.
-- FHIRGATE_BENCH_TOKEN, when set, is sent as `Authorization: Bearer` (bench/lib.sh bench_token).
local token = os.getenv("FHIRGATE_BENCH_TOKEN")
local headers = { ["Content-Type"] = "application/fhir+json" }
if token and token ~= "" then headers["Authorization"] = "Bearer " .. token end
local counter = 0
local thread_id = 0
local threads = {}
setup = function(thread)
  thread:set("tid", thread_id)
  thread_id = thread_id + 1
  table.insert(threads, thread)
end
init = function()
  bad = 0
end
request = function()
  counter = counter + 1
  local urn = string.format("urn:uuid:00000000-0000-4000-8%03d-%012d", tid or 0, counter)
  local body = string.format(
    '{"resourceType":"Bundle","type":"transaction","entry":[' ..
    '{"fullUrl":"%s","resource":{"resourceType":"Patient","identifier":[{"system":"urn:benchtx","value":"T-%d-%d"}],' ..
    '"name":[{"family":"Tx%d","given":["Load"]}],"birthDate":"1970-01-01"},"request":{"method":"POST","url":"Patient"}},' ..
    '{"resource":{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},' ..
    '"subject":{"reference":"%s"},"effectiveDateTime":"2024-01-01T10:00:00Z",' ..
    '"valueQuantity":{"value":72,"unit":"/min","system":"http://unitsofmeasure.org","code":"/min"}},' ..
    '"request":{"method":"POST","url":"Observation"}}]}',
    urn, tid or 0, counter, counter, urn)
  return wrk.format("POST", "/fhir", headers, body)
end
response = function(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end
done = function(summary, latency, requests)
  local b = 0
  for _, t in ipairs(threads) do b = b + (t:get("bad") or 0) end
  io.write(string.format("RESULT tps=%.1f p50=%.2f p99=%.2f non200=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, b))
end
