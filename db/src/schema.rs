// @generated automatically by Diesel CLI.

diesel::table! {
    accounts (merchant_id, id) {
        merchant_id -> Uuid,
        id -> Uuid,
        program_id -> Uuid,
        customer_id -> Uuid,
        balance -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    customers (merchant_id, id) {
        merchant_id -> Uuid,
        id -> Uuid,
        email -> Text,
        display_name -> Text,
        created_at -> Timestamptz,
        password_hash -> Nullable<Text>,
        password_changed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    devices (merchant_id, id) {
        merchant_id -> Uuid,
        id -> Uuid,
        customer_id -> Uuid,
        name -> Text,
        public_key -> Bytea,
        device_handle -> Bytea,
        numeric_handle -> Int4,
        totp_secret -> Nullable<Bytea>,
        status -> Text,
        last_offline_issued_at_ms -> Int8,
        last_numeric_step -> Int8,
        created_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    fraud_events (merchant_id, id) {
        merchant_id -> Uuid,
        id -> Uuid,
        occurred_at -> Timestamptz,
        reason -> Text,
        code_kind -> Nullable<Text>,
        store_id -> Nullable<Uuid>,
        terminal_id -> Nullable<Uuid>,
        customer_id -> Nullable<Uuid>,
        device_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    ledger_transfers (merchant_id, id) {
        merchant_id -> Uuid,
        id -> Uuid,
        kind -> Text,
        account_id -> Uuid,
        balance_change -> Int8,
        balance_after -> Int8,
        reverses_id -> Nullable<Uuid>,
        reversed_amount -> Int8,
        voided -> Bool,
        reason -> Nullable<Text>,
        actor -> Nullable<Text>,
        created_at -> Timestamptz,
        store_id -> Nullable<Uuid>,
        terminal_id -> Nullable<Uuid>,
        code_kind -> Nullable<Text>,
        reference -> Nullable<Text>,
        sale_id -> Nullable<Uuid>,
        caller_id -> Nullable<Uuid>,
        idempotency_key -> Nullable<Text>,
        request_hash -> Nullable<Bytea>,
        code_fingerprint -> Nullable<Bytea>,
        code_device_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    merchant_settings (merchant_id) {
        merchant_id -> Uuid,
        velocity_window_s -> Int4,
        customer_max_count -> Int4,
        customer_max_amount -> Int8,
        device_max_count -> Int4,
        terminal_max_count -> Int4,
        terminal_bad_codes_max -> Int4,
        terminal_bad_codes_window_s -> Int4,
        updated_at -> Timestamptz,
        offline_max_age_s -> Int4,
        offline_max_skew_s -> Int4,
    }
}

diesel::table! {
    merchants (id) {
        id -> Uuid,
        slug -> Text,
        name -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    programs (merchant_id, id) {
        merchant_id -> Uuid,
        id -> Uuid,
        name -> Text,
        unit -> Text,
        minor_units -> Int2,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    staff (merchant_id, id) {
        merchant_id -> Uuid,
        id -> Uuid,
        email -> Text,
        display_name -> Text,
        role -> Text,
        password_hash -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    stores (merchant_id, id) {
        merchant_id -> Uuid,
        id -> Uuid,
        code -> Text,
        name -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    terminal_enrollments (merchant_id, id) {
        merchant_id -> Uuid,
        id -> Uuid,
        store_id -> Uuid,
        code_hash -> Bytea,
        created_by -> Text,
        expires_at -> Timestamptz,
        failed_attempts -> Int2,
        used_at -> Nullable<Timestamptz>,
        terminal_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    terminals (merchant_id, id) {
        merchant_id -> Uuid,
        id -> Uuid,
        store_id -> Uuid,
        name -> Text,
        public_key -> Bytea,
        status -> Text,
        approved_by -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(customers -> merchants (merchant_id));
diesel::joinable!(fraud_events -> merchants (merchant_id));
diesel::joinable!(merchant_settings -> merchants (merchant_id));
diesel::joinable!(programs -> merchants (merchant_id));
diesel::joinable!(staff -> merchants (merchant_id));
diesel::joinable!(stores -> merchants (merchant_id));

diesel::allow_tables_to_appear_in_same_query!(
    accounts,
    customers,
    devices,
    fraud_events,
    ledger_transfers,
    merchant_settings,
    merchants,
    programs,
    staff,
    stores,
    terminal_enrollments,
    terminals,
);
