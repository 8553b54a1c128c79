//! diesel table definitions for migrations/*/up.sql (kept by hand, checked by the
//! integration tests that exercise every table).

diesel::table! {
    data_keys (tenant_id, key_id) {
        tenant_id -> Text,
        key_id -> Int4,
        purpose -> Text,
        kek_id -> Text,
        wrapped -> Bytea,
        active -> Bool,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    resource_versions (tenant_id, resource_type, id, version_id) {
        tenant_id -> Text,
        resource_type -> Text,
        id -> Text,
        version_id -> Int4,
        last_updated -> Timestamptz,
        method -> Text,
        key_id -> Nullable<Int4>,
        body -> Nullable<Bytea>,
    }
}

diesel::table! {
    resources (tenant_id, resource_type, id) {
        tenant_id -> Text,
        resource_type -> Text,
        id -> Text,
        version_id -> Int4,
        last_updated -> Timestamptz,
        deleted -> Bool,
    }
}

diesel::table! {
    audit_events (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        recorded -> Timestamptz,
        key_id -> Int4,
        body -> Bytea,
        type_code -> Text,
        subtype -> Text,
        action -> Text,
        outcome -> Text,
        entities -> Array<Text>,
        patients -> Array<Text>,
        agents -> Array<Text>,
        address -> Nullable<Text>,
        terms -> Array<Text>,
    }
}

diesel::table! {
    appointment_bookings (tenant_id, appointment_id, practitioner) {
        tenant_id -> Text,
        appointment_id -> Text,
        practitioner -> Text,
    }
}

diesel::allow_tables_to_appear_in_same_query!(resources, resource_versions);

diesel::table! {
    hl7_messages (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        received_at -> Timestamptz,
        sender -> Text,
        control_id -> Text,
        message_type -> Text,
        peer -> Nullable<Text>,
        key_id -> Int4,
        raw -> Bytea,
        ack_code -> Text,
        ack -> Bytea,
        error -> Nullable<Text>,
        replayed_at -> Nullable<Timestamptz>,
        replay_code -> Nullable<Text>,
        digest -> Nullable<Bytea>,
    }
}

diesel::table! {
    tenants (id) {
        id -> Text,
        name -> Text,
        disabled -> Bool,
        created_at -> Timestamptz,
        rate_per_sec -> Nullable<Float8>,
        burst -> Nullable<Float8>,
        client_rate_per_sec -> Nullable<Float8>,
        client_burst -> Nullable<Float8>,
        hl7_queue -> Nullable<Int4>,
    }
}
