-- EXPLAIN (ANALYZE, BUFFERS) of what a tenant's read by id and search send,
-- as the serving role (row-level security applies), in one transaction that
-- has set the tenant as the gateway does (store/pool.rs). The statements are
-- the gateway's own (PostgreSQL's log_statement), with the values inlined.
--   psql postgres://fhirgate_app@127.0.0.1:5432/DB -v tenant=t042 -v id=PATIENT_ID -f bench/tenancy-explain.sql
\set ON_ERROR_STOP 1
\pset pager off
SELECT current_user, rolbypassrls FROM pg_roles WHERE rolname = current_user;
BEGIN;
SELECT set_config('app.tenant', :'tenant', true);

\echo '=== read by id (store/resources.rs read: resources JOIN resource_versions)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT "resource_versions"."resource_type", "resource_versions"."id", "resource_versions"."version_id",
       "resource_versions"."last_updated", "resource_versions"."method", "resource_versions"."body"
FROM ("resources" INNER JOIN "resource_versions" ON (((("resource_versions"."tenant_id" = "resources"."tenant_id")
  AND ("resource_versions"."resource_type" = "resources"."resource_type")) AND ("resource_versions"."id" = "resources"."id"))
  AND ("resource_versions"."version_id" = "resources"."version_id")))
WHERE ((("resources"."tenant_id" = :'tenant') AND ("resources"."resource_type" = 'Patient')) AND ("resources"."id" = :'id')) LIMIT 1;

\echo '=== read by id that sets its tenant itself (store/tenant_reads.rs), generic plan, on a session set to another tenant'
SELECT set_config('app.tenant', 'another', true) \g /dev/null
PREPARE rs(text, text, text) AS
SELECT v.resource_type, v.id, v.version_id, v.last_updated, v.method, v.body
FROM (SELECT set_config('app.tenant', $1, false) AS tenant) s,
LATERAL (SELECT v.resource_type, v.id, v.version_id, v.last_updated, v.method, v.body
    FROM resources r JOIN resource_versions v ON v.tenant_id = r.tenant_id
        AND v.resource_type = r.resource_type AND v.id = r.id AND v.version_id = r.version_id
    WHERE r.tenant_id = s.tenant AND r.resource_type = $2 AND r.id = $3 OFFSET 0) v;
SET LOCAL plan_cache_mode = force_generic_plan;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE rs(:'tenant', 'Patient', :'id');
RESET plan_cache_mode;
SELECT set_config('app.tenant', :'tenant', true) \g /dev/null

\echo '=== the same without the gateway''s own tenant_id condition: row-level security alone'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT r.version_id FROM resources r WHERE r.resource_type = 'Patient' AND r.id = :'id';

\echo '=== the same as the prepared statement it is, generic plan (diesel keeps it prepared)'
PREPARE rd(text, text, text, int8) AS
SELECT "resource_versions"."resource_type", "resource_versions"."id", "resource_versions"."version_id",
       "resource_versions"."last_updated", "resource_versions"."method", "resource_versions"."body"
FROM ("resources" INNER JOIN "resource_versions" ON (((("resource_versions"."tenant_id" = "resources"."tenant_id")
  AND ("resource_versions"."resource_type" = "resources"."resource_type")) AND ("resource_versions"."id" = "resources"."id"))
  AND ("resource_versions"."version_id" = "resources"."version_id")))
WHERE ((("resources"."tenant_id" = $1) AND ("resources"."resource_type" = $2)) AND ("resources"."id" = $3)) LIMIT $4;
SET LOCAL plan_cache_mode = force_generic_plan;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE rd(:'tenant', 'Patient', :'id', 1);
RESET plan_cache_mode;

\echo '=== search Observation?subject=Patient/<id>&_count=10, the ids (fhir/search/sql.rs: idx_keys, GIN on keys)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT m.id, NULL::text AS k0, NULL::text AS k1, NULL::text AS k2, NULL::text AS k3
FROM (SELECT r.id AS id FROM (SELECT resource_id AS id FROM idx_keys WHERE tenant_id = :'tenant'
  AND resource_type = 'Observation' AND keys @> ARRAY['Observation|subject|r|Patient/' || :'id']::text[]) r WHERE TRUE) m
WHERE TRUE ORDER BY m.id ASC LIMIT 11;

SELECT array_agg(id)::text AS page FROM (SELECT resource_id AS id FROM idx_keys WHERE tenant_id = :'tenant'
  AND resource_type = 'Observation' AND keys @> ARRAY['Observation|subject|r|Patient/' || :'id']::text[]
  ORDER BY 1 LIMIT 10) s \gset
\echo '=== its page of 10 bodies (store/resources.rs read_many)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT "resource_versions"."resource_type", "resource_versions"."id", "resource_versions"."version_id",
       "resource_versions"."last_updated", "resource_versions"."method", "resource_versions"."body"
FROM ("resources" INNER JOIN "resource_versions" ON (((("resource_versions"."tenant_id" = "resources"."tenant_id")
  AND ("resource_versions"."resource_type" = "resources"."resource_type")) AND ("resource_versions"."id" = "resources"."id"))
  AND ("resource_versions"."version_id" = "resources"."version_id")))
WHERE ((("resources"."tenant_id" = :'tenant') AND ("resources"."resource_type" = 'Observation')) AND ("resources"."id" = ANY(:'page'::text[])));

-- A key every tenant has (a LOINC code, not PHI: the same key in every
-- tenant) shows what the GIN index on keys alone costs a tenant.
SELECT k AS common FROM idx_keys, unnest(keys) k WHERE k LIKE 'Observation|code|c|%'
GROUP BY k ORDER BY count(*) DESC LIMIT 1 \gset
\echo '=== search Observation?code=<the commonest code>&_count=10, the ids:' :'common'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT m.id, NULL::text AS k0, NULL::text AS k1, NULL::text AS k2, NULL::text AS k3
FROM (SELECT r.id AS id FROM (SELECT resource_id AS id FROM idx_keys WHERE tenant_id = :'tenant'
  AND resource_type = 'Observation' AND keys @> ARRAY[:'common']::text[]) r WHERE TRUE) m
WHERE TRUE ORDER BY m.id ASC LIMIT 11;

\echo '=== a conditional create''s lookup of a new identifier (fhir/search/conditional.rs by_keys_only: tenant and type written as (col || '''') so that the primary key cannot serve them and the GIN index must)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT resource_id AS id FROM idx_keys WHERE (tenant_id || '') = :'tenant' AND (resource_type || '') = 'Patient'
  AND keys @> ARRAY['Patient|identifier|sc|urn:bench|no-such-value']::text[] LIMIT 2;
ROLLBACK;

\echo '=== the same as the owner login (row-level security does not apply to it): the GIN posting list holds every tenant''s rows'
\c - postgres
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT resource_id AS id FROM idx_keys WHERE (tenant_id || '') = :'tenant' AND (resource_type || '') = 'Observation'
  AND keys @> ARRAY[:'common']::text[] LIMIT 2;
