-- The audit writer's batch of several tenants' AuditEvents as one plain
-- multi-row INSERT (store/audit.rs `insert_tenants`), replacing
-- fhirgate_insert_audit (migrations/..000015), which set each row's tenant
-- and inserted the rows one by one in PL/pgSQL: over 200 tenants that cost
-- about twice the multi-row INSERT of the same rows (bench/audit-batch.sql,
-- docs/performance.md, issue #18).
--
-- The writer declares the tenants of its batch, local to its transaction, in
-- `app.audit_tenants` as ",t1,t2,...,"; this policy admits an INSERT into
-- audit_events of a row whose tenant is among them. Permissive policies are
-- OR'ed (https://www.postgresql.org/docs/15/sql-createpolicy.html), so a row
-- passes this one or `tenant_isolation`. It grants no read and covers no
-- other table; a session serving a tenant never sets it, so a session set to
-- tenant A still cannot insert a row for B. Slugs cannot contain a comma
-- (TenantId::parse: A-Z a-z 0-9 . _ -), so ",slug," matches only that slug.
-- What the function checked was no more than this: it set each row's tenant
-- from the row itself.
CREATE POLICY audit_writer ON audit_events AS PERMISSIVE FOR INSERT
    WITH CHECK (strpos(current_setting('app.audit_tenants', true), ',' || tenant_id || ',') > 0);

DROP FUNCTION fhirgate_insert_audit(text[], text[], timestamptz[], int4[], bytea[], text[],
    text[], text[], text[], text[], text[], text[], text[], text[]);
