DROP POLICY audit_writer ON audit_events;
CREATE FUNCTION fhirgate_insert_audit(
    t text[], ids text[], rec timestamptz[], k int4[], b bytea[], ty text[],
    st text[], ac text[], o text[], addr text[], e text[], p text[], g text[],
    tm text[]
) RETURNS void LANGUAGE plpgsql SECURITY INVOKER AS $$
DECLARE
    r record;
    cur text;
BEGIN
    FOR r IN
        SELECT * FROM unnest(t, ids, rec, k, b, ty, st, ac, o, addr, e, p, g, tm)
            AS u(t, id, rec, k, b, ty, st, ac, o, addr, e, p, g, tm)
    LOOP
        IF cur IS DISTINCT FROM r.t THEN
            PERFORM set_config('app.tenant', r.t, true);
            cur := r.t;
        END IF;
        INSERT INTO audit_events (tenant_id, id, recorded, key_id, body, type_code,
            subtype, action, outcome, address, entities, patients, agents, terms)
        VALUES (r.t, r.id, r.rec, r.k, r.b, r.ty, r.st, r.ac, r.o, r.addr,
            r.e::text[], r.p::text[], r.g::text[], r.tm::text[]);
    END LOOP;
END $$;
