// One schema for both backends: only types PostgreSQL and SQLite share.

diesel::table! {
    users (id) {
        id -> Text,
        username -> Text,
        password_hash -> Text,
        role -> Text,
        disabled -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        session_generation -> Integer,
    }
}

diesel::table! {
    service_tokens (id) {
        id -> Text,
        name -> Text,
        role -> Text,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Text,
        occurred_at -> Timestamp,
        actor_id -> Nullable<Text>,
        actor_name -> Text,
        action -> Text,
        entity_type -> Text,
        entity_id -> Text,
        before_json -> Nullable<Text>,
        after_json -> Nullable<Text>,
        request_id -> Nullable<Text>,
        client_address -> Nullable<Text>,
    }
}

diesel::table! {
    app_state (key) {
        key -> Text,
        value -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    connections (kind) {
        kind -> Text,
        settings_json -> Text,
        secrets_ciphertext -> Nullable<Text>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    cw_products (id) {
        id -> BigInt,
        identifier -> Text,
        description -> Text,
        inactive -> Bool,
        product_class -> Nullable<Text>,
        vanished -> Bool,
        refreshed_at -> Timestamp,
        unit_price -> Nullable<Text>,
        unit_cost -> Nullable<Text>,
        taxable -> Bool,
    }
}

diesel::table! {
    billing_profiles (product_id) {
        product_id -> BigInt,
        profile_json -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    connectwise_readings (agreement_id) {
        agreement_id -> BigInt,
        additions_json -> Text,
        read_at -> Timestamp,
    }
}

diesel::table! {
    company_terms (company_mapping_id) {
        company_mapping_id -> Text,
        terms_json -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    security_applications (id) {
        id -> Text,
        name -> Text,
        solution -> Text,
        licensing_model -> Text,
        match_rules_json -> Text,
        custom -> Bool,
        retired -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        folds_into -> Nullable<Text>,
    }
}

diesel::table! {
    product_mappings (application_id) {
        application_id -> Text,
        product_id -> Nullable<BigInt>,
        workstation_product_id -> Nullable<BigInt>,
        server_product_id -> Nullable<BigInt>,
        non_windows_product_id -> Nullable<BigInt>,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(product_mappings -> security_applications (application_id));

diesel::table! {
    tenants (id) {
        id -> Text,
        solution -> Text,
        name -> Text,
        external_id -> Text,
        ksc_vserver_id -> Nullable<BigInt>,
        enabled -> Bool,
        vanished -> Bool,
        last_seen_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    company_mappings (id) {
        id -> Text,
        tenant_id -> Text,
        cw_company_id -> BigInt,
        cw_company_name -> Text,
        agreement_id -> BigInt,
        agreement_name -> Text,
        billing_enabled -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(company_mappings -> tenants (tenant_id));
diesel::joinable!(company_terms -> company_mappings (company_mapping_id));

diesel::table! {
    usage_snapshots (id) {
        id -> Text,
        tenant_id -> Text,
        taken_at -> Timestamp,
        source -> Text,
        status -> Text,
        error -> Nullable<Text>,
        usage_json -> Nullable<Text>,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::joinable!(usage_snapshots -> tenants (tenant_id));

diesel::table! {
    managed_additions (agreement_id, product_id) {
        agreement_id -> BigInt,
        product_id -> BigInt,
        addition_id -> BigInt,
        tenant_id -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        billed_json -> Nullable<Text>,
    }
}

diesel::table! {
    sync_plans (id) {
        id -> Text,
        created_at -> Timestamp,
        created_by -> Nullable<Text>,
        company_mapping_id -> Nullable<Text>,
        plan_json -> Text,
    }
}

diesel::table! {
    sync_runs (id) {
        id -> Text,
        trigger_kind -> Text,
        status -> Text,
        plan_id -> Nullable<Text>,
        dry_run -> Bool,
        started_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
        holder -> Text,
        summary_json -> Text,
        error -> Nullable<Text>,
    }
}

diesel::table! {
    sync_changes (id) {
        id -> Text,
        run_id -> Text,
        seq -> Integer,
        tenant_id -> Nullable<Text>,
        tenant_name -> Nullable<Text>,
        cw_company_id -> Nullable<BigInt>,
        agreement_id -> BigInt,
        product_id -> BigInt,
        contributions_json -> Text,
        action -> Text,
        old_quantity -> Double,
        new_quantity -> Nullable<BigInt>,
        addition_id -> Nullable<BigInt>,
        result -> Text,
        detail -> Text,
        created_at -> Timestamp,
        move_id -> Nullable<Text>,
    }
}

diesel::table! {
    sync_lease (name) {
        name -> Text,
        holder -> Nullable<Text>,
        run_id -> Nullable<Text>,
        expires_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    data_versions (name) {
        name -> Text,
        version -> BigInt,
    }
}

diesel::table! {
    notices (id) {
        id -> Text,
        event_key -> Text,
        kind -> Text,
        severity -> Text,
        title -> Text,
        detail_json -> Text,
        fingerprint -> Text,
        occurrences -> Integer,
        opened_at -> Timestamp,
        last_seen_at -> Timestamp,
        resolved_at -> Nullable<Timestamp>,
        acknowledged_at -> Nullable<Timestamp>,
        acknowledged_by -> Nullable<Text>,
    }
}

diesel::table! {
    notification_channels (id) {
        id -> Text,
        name -> Text,
        kind -> Text,
        enabled -> Bool,
        event_kinds_json -> Text,
        min_severity -> Text,
        settings_json -> Text,
        secret_ciphertext -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    notification_deliveries (id) {
        id -> Text,
        notice_id -> Text,
        channel_id -> Text,
        action -> Text,
        status -> Text,
        attempts -> Integer,
        last_status -> Nullable<Text>,
        next_attempt_at -> Timestamp,
        claimed_until -> Nullable<Timestamp>,
        created_at -> Timestamp,
        delivered_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    notice_tickets (notice_id, channel_id) {
        notice_id -> Text,
        channel_id -> Text,
        ticket_id -> BigInt,
        opened_at -> Timestamp,
    }
}

diesel::joinable!(notification_deliveries -> notices (notice_id));
diesel::joinable!(notification_deliveries -> notification_channels (channel_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    service_tokens,
    audit_events,
    app_state,
    connections,
    cw_products,
    billing_profiles,
    company_terms,
    connectwise_readings,
    tenants,
    company_mappings,
    security_applications,
    product_mappings,
    usage_snapshots,
    managed_additions,
    sync_plans,
    sync_runs,
    sync_changes,
    sync_lease,
    data_versions,
    notices,
    notification_channels,
    notification_deliveries,
    notice_tickets,
);
