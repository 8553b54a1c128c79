DROP TABLE IF EXISTS appointment_bookings, idx_composite, idx_uri, idx_number, idx_quantity,
    idx_reference, idx_date, idx_token, idx_string, audit_events,
    resources, resource_versions, data_keys;
DROP FUNCTION IF EXISTS fhirgate_refuse_change(), fhirgate_versions_guard();
