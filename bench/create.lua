-- wrk script: POST a new Patient (distinct identifier per request).
-- FHIRGATE_BENCH_TOKEN, when set, is sent as `Authorization: Bearer` (bench/lib.sh bench_token).
local token = os.getenv("FHIRGATE_BENCH_TOKEN")
local headers = { ["Content-Type"] = "application/fhir+json", ["Prefer"] = "return=minimal" }
if token and token ~= "" then headers["Authorization"] = "Bearer " .. token end
local counter = 0
local thread_id = 0
setup = function(thread)
  thread:set("tid", thread_id)
  thread_id = thread_id + 1
end
request = function()
  counter = counter + 1
  local body = string.format(
    '{"resourceType":"Patient","identifier":[{"system":"urn:bench","value":"B-%d-%d-%d"}],' ..
    '"name":[{"family":"Bench%d","given":["Load"]}],"gender":"female","birthDate":"1970-01-01",' ..
    '"telecom":[{"system":"phone","value":"+1 555 %07d"}],"address":[{"line":["%d Bench St"],"city":"Loadville"}]}',
    tid or 0, counter, math.random(1000000), counter, counter, counter)
  return wrk.format("POST", "/fhir/Patient", headers, body)
end
