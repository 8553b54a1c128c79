-- The audit writer's batch of 256 records, three ways, timed by psql as the
-- serving role (issue #18 scale; docs/performance.md):
--   1. one tenant: the multi-row INSERT a single-tenant batch runs;
--   2. 200 tenants: the same INSERT under the batch's declared tenants
--      (app.audit_tenants, migrations/..000016_audit_writer_policy), the
--      writer's statement when a batch holds several tenants;
--   3. one tenant, declared: the policy's own cost.
-- Each in a transaction rolled back. On a migrated database:
--   psql -X -h 127.0.0.1 -U fhirgate_app -f bench/audit-batch.sql DBNAME
\timing on
BEGIN;
SELECT set_config('app.tenant','t001',true) \g /dev/null
INSERT INTO audit_events (tenant_id, id, recorded, key_id, body, type_code, subtype, action, outcome, address, entities, patients, agents, terms)
SELECT 't001', 'x'||g, now(), 1, '\x00'::bytea, 'rest','read','R','0', '127.0.0.1', ARRAY['Patient/'||g], ARRAY['Patient/'||g], ARRAY['Device/x'], ARRAY['term'||g, 'other'||g] FROM generate_series(1,256) g;
ROLLBACK;
BEGIN;
SELECT set_config('app.audit_tenants', ',' || string_agg('t'||lpad(g::text,3,'0'), ',') || ',', true) FROM generate_series(1,200) g \g /dev/null
INSERT INTO audit_events (tenant_id, id, recorded, key_id, body, type_code, subtype, action, outcome, address, entities, patients, agents, terms)
SELECT 't'||lpad(((g%200)+1)::text,3,'0'), 'y'||g, now(), 1, '\x00'::bytea, 'rest','read','R','0', '127.0.0.1', ARRAY['Patient/'||g], ARRAY['Patient/'||g], ARRAY['Device/x'], ARRAY['term'||g, 'other'||g] FROM generate_series(1,256) g ORDER BY g%200;
ROLLBACK;
BEGIN;
SELECT set_config('app.audit_tenants', ',t001,', true) \g /dev/null
INSERT INTO audit_events (tenant_id, id, recorded, key_id, body, type_code, subtype, action, outcome, address, entities, patients, agents, terms)
SELECT 't001', 'z'||g, now(), 1, '\x00'::bytea, 'rest','read','R','0', '127.0.0.1', ARRAY['Patient/'||g], ARRAY['Patient/'||g], ARRAY['Device/x'], ARRAY['term'||g, 'other'||g] FROM generate_series(1,256) g;
ROLLBACK;
