-- Equality keys of each resource's token and local-reference index values, one
-- row per resource, under GIN (issue #3 performance). A search such as
-- `Observation?patient=X&code=Y` becomes ONE index scan, `keys @> ARRAY[x, y]`,
-- that intersects the two posting lists, instead of probing the token index once
-- for each of the patient's Observations. The idx_token / idx_reference rows stay
-- the source for modifiers, sorting and includes; these keys are derived from
-- exactly the same values (store/index/keys.rs), and this backfill derives them
-- from those rows with the same encoding:
--   <type>|<param>|c|<code>         <type>|<param>|sc|<system>|<code>
--   <type>|<param>|nc|<code>        (no system)   <type>|<param>|s|<system>
--   <type>|<param>|id|<id>          <type>|<param>|r|<Type>/<id>   (local references)
-- where <code> of a PHI token is the hex of its blind index, never the value.
CREATE TABLE idx_keys (
    tenant_id     text   NOT NULL,
    resource_type text   NOT NULL,
    resource_id   text   NOT NULL,
    keys          text[] NOT NULL,
    PRIMARY KEY (tenant_id, resource_type, resource_id)
);
CREATE INDEX idx_keys_gin ON idx_keys USING gin (keys);

INSERT INTO idx_keys (tenant_id, resource_type, resource_id, keys)
SELECT tenant_id, resource_type, resource_id, array_agg(DISTINCT k)
FROM (
    SELECT tenant_id, resource_type, resource_id, unnest(ARRAY[
        CASE WHEN cv IS NOT NULL THEN resource_type || '|' || param || '|c|' || cv END,
        CASE WHEN cv IS NOT NULL AND system IS NOT NULL THEN resource_type || '|' || param || '|sc|' || system || '|' || cv END,
        CASE WHEN cv IS NOT NULL AND system IS NULL THEN resource_type || '|' || param || '|nc|' || cv END,
        CASE WHEN system IS NOT NULL THEN resource_type || '|' || param || '|s|' || system END
    ]) AS k
    FROM (SELECT t.*, coalesce(t.code, encode(t.code_bi, 'hex')) AS cv FROM idx_token t) tok
    UNION ALL
    SELECT tenant_id, resource_type, resource_id, unnest(ARRAY[
        resource_type || '|' || param || '|id|' || target_id,
        CASE WHEN target_type IS NOT NULL THEN resource_type || '|' || param || '|r|' || target_type || '/' || target_id END
    ]) AS k
    FROM idx_reference
    WHERE target_id IS NOT NULL AND url IS NULL
) s
WHERE k IS NOT NULL
GROUP BY tenant_id, resource_type, resource_id;
