-- A read by id that sets its tenant itself (store/resources.rs
-- `read_setting_tenant`, issue #18 scale). Reads run under the session's
-- tenant (store/session.rs); on a connection last set to another tenant,
-- setting it was a round trip of its own before the read. Here the setting
-- and the read are one statement: the function sets the session's tenant
-- (set_config(.., false): it stays for what the unit of work runs next, and
-- is undone if the statement fails), then reads under it, so row-level
-- security checks the read against the tenant just set. SECURITY INVOKER
-- (the default): the serving role's own rights and policies.
CREATE FUNCTION fhirgate_read_current(p_tenant text, p_type text, p_id text)
RETURNS TABLE (o_type text, o_id text, o_version int4, o_updated timestamptz,
               o_method text, o_body bytea)
LANGUAGE plpgsql SECURITY INVOKER AS $$
BEGIN
    PERFORM set_config('app.tenant', p_tenant, false);
    RETURN QUERY
        SELECT v.resource_type, v.id, v.version_id, v.last_updated, v.method, v.body
        FROM resources r
        JOIN resource_versions v
          ON v.tenant_id = r.tenant_id AND v.resource_type = r.resource_type
         AND v.id = r.id AND v.version_id = r.version_id
        WHERE r.tenant_id = p_tenant AND r.resource_type = p_type AND r.id = p_id;
END $$;
