-- The audit writer's batch of 256 records, three ways, timed by psql as the
-- serving role (issue #18 scale; docs/performance.md, "second pass"):
--   1. one tenant: the multi-row INSERT a single-tenant batch runs;
--   2. fhirgate_insert_audit over 200 tenants (a set_config per tenant);
--   3. fhirgate_insert_audit over one tenant (the function's own cost).
-- Each in a transaction rolled back. On a migrated database:
--   psql -X -h 127.0.0.1 -U fhirgate_app -f bench/audit-batch.sql DBNAME
\timing on
BEGIN;
SELECT set_config('app.tenant','t001',true) \g /dev/null
INSERT INTO audit_events (tenant_id, id, recorded, key_id, body, type_code, subtype, action, outcome, address, entities, patients, agents, terms)
SELECT 't001', 'x'||g, now(), 1, '\x00'::bytea, 'rest','read','R','0', '127.0.0.1', ARRAY['Patient/'||g], ARRAY['Patient/'||g], ARRAY['Device/x'], ARRAY['term'||g, 'other'||g] FROM generate_series(1,256) g;
ROLLBACK;
BEGIN;
SELECT fhirgate_insert_audit(array_agg('t'||lpad(((g%200)+1)::text,3,'0') ORDER BY g%200), array_agg('y'||g ORDER BY g%200), array_agg(now()), array_agg(1), array_agg('\x00'::bytea), array_agg('rest'::text), array_agg('read'::text), array_agg('R'::text), array_agg('0'::text), array_agg('127.0.0.1'::text), array_agg('{"Patient/'||g||'"}'), array_agg('{"Patient/'||g||'"}'), array_agg('{"Device/x"}'::text), array_agg('{"term'||g||'","other'||g||'"}')) FROM generate_series(1,256) g;
ROLLBACK;
BEGIN;
SELECT fhirgate_insert_audit(array_agg('t001'::text), array_agg('y'||g), array_agg(now()), array_agg(1), array_agg('\x00'::bytea), array_agg('rest'::text), array_agg('read'::text), array_agg('R'::text), array_agg('0'::text), array_agg('127.0.0.1'::text), array_agg('{"Patient/'||g||'"}'), array_agg('{"Patient/'||g||'"}'), array_agg('{"Device/x"}'::text), array_agg('{"term'||g||'","other'||g||'"}')) FROM generate_series(1,256) g;
ROLLBACK;
