//! The one schema both backends satisfy. Only types with the same Rust mapping on SQLite and
#![allow(
    missing_docs,
    reason = "diesel::table! generates undocumented modules; the columns are described in the migrations"
)]
//! PostgreSQL are used: `Text`, `BigInt` (timestamps in microseconds), `Bool`.

diesel::table! {
    users (user_id) {
        user_id -> Text,
        provider -> Text,
        provider_id -> Text,
        username -> Text,
        username_key -> Text,
        email -> Text,
        first_name -> Text,
        last_name -> Text,
        password_hash -> Text,
        created_at -> BigInt,
        phone_number -> Nullable<Text>,
        customer_number -> Nullable<Text>,
        email_verified_at -> Nullable<BigInt>,
        phone_verified_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    consumers (consumer_id) {
        consumer_id -> Text,
        name -> Text,
        key_hash -> Text,
        enabled -> Bool,
        created_at -> BigInt,
        description -> Text,
        developer_email -> Text,
        redirect_url -> Text,
        created_by_user_id -> Text,
        per_second_call_limit -> BigInt,
        per_minute_call_limit -> BigInt,
        per_hour_call_limit -> BigInt,
        per_day_call_limit -> BigInt,
        per_week_call_limit -> BigInt,
        per_month_call_limit -> BigInt,
    }
}

diesel::table! {
    sessions (session_id) {
        session_id -> Text,
        user_id -> Text,
        created_at -> BigInt,
        last_activity_at -> BigInt,
        idle_timeout_secs -> BigInt,
        expires_at -> BigInt,
        terminated_at -> Nullable<BigInt>,
        consumer_id -> Text,
        institution_id -> Text,
        last_strong_auth_at -> BigInt,
        termination_reason -> Nullable<Text>,
        client_ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        replaced_by -> Nullable<Text>,
        family_id -> Text,
    }
}

diesel::table! {
    entitlements (entitlement_id) {
        entitlement_id -> Text,
        user_id -> Text,
        role_name -> Text,
        bank_id -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    audit_events (event_id) {
        event_id -> Text,
        occurred_at -> BigInt,
        kind -> Text,
        user_id -> Nullable<Text>,
        detail -> Text,
        chain_seq -> Nullable<BigInt>,
        chain_hash -> Nullable<Text>,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        public_x -> Text,
        public_y -> Text,
        sealed_private_key -> Nullable<Text>,
        signs_from -> BigInt,
        created_at -> BigInt,
    }
}

diesel::table! {
    installation (name) {
        name -> Text,
        value -> Text,
    }
}

diesel::table! {
    audit_chain (id) {
        id -> Integer,
        last_seq -> BigInt,
        last_hash -> Text,
    }
}

diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(sessions -> consumers (consumer_id));
diesel::joinable!(entitlements -> users (user_id));

diesel::table! {
    login_attempts (provider, username_key) {
        provider -> Text,
        username_key -> Text,
        bad_attempts -> Integer,
        last_failure_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    user_locks (user_id) {
        user_id -> Text,
        type_of_lock -> Text,
        locked_at -> BigInt,
    }
}

diesel::table! {
    banks (bank_id) {
        bank_id -> Text,
        short_name -> Text,
        full_name -> Text,
        logo -> Text,
        website -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    user_auth_contexts (user_auth_context_id) {
        user_auth_context_id -> Text,
        user_id -> Text,
        context_key -> Text,
        context_value -> Text,
        updated_at -> BigInt,
    }
}

diesel::table! {
    entitlement_requests (entitlement_request_id) {
        entitlement_request_id -> Text,
        user_id -> Text,
        role_name -> Text,
        bank_id -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    dauth_requests (request_id) {
        request_id -> Text,
        seen_at -> BigInt,
    }
}

diesel::table! {
    challenges (challenge_id) {
        challenge_id -> Text,
        purpose -> Text,
        user_id -> Nullable<Text>,
        state -> Text,
        code_hash -> Text,
        code_length -> Integer,
        created_at -> BigInt,
        last_sent_at -> BigInt,
        expires_at -> BigInt,
        failures -> Integer,
        resends -> Integer,
        max_failures -> Integer,
        max_resends -> Integer,
        validity_secs -> BigInt,
        resend_cooldown_secs -> BigInt,
        verified_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    challenge_destinations (challenge_id, channel) {
        challenge_id -> Text,
        channel -> Text,
        destination -> Text,
    }
}

diesel::table! {
    quota_counters (scope, subject, window_start) {
        scope -> Text,
        subject -> Text,
        window_start -> BigInt,
        used -> Integer,
    }
}

diesel::table! {
    security_answers (user_id, question_id) {
        user_id -> Text,
        question_id -> Text,
        answer_hash -> Text,
        updated_at -> BigInt,
    }
}

diesel::table! {
    auth_context_updates (update_id) {
        update_id -> Text,
        user_id -> Text,
        bank_id -> Text,
        context_key -> Text,
        context_value -> Text,
        status -> Text,
        challenge_id -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    totp_authenticators (user_id) {
        user_id -> Text,
        secret_sealed -> Text,
        algorithm -> Text,
        digits -> Integer,
        confirmed_at -> Nullable<BigInt>,
        last_used_step -> Nullable<BigInt>,
        failed_confirmations -> Integer,
        created_at -> BigInt,
    }
}

diesel::table! {
    system_keys (key_id) {
        key_id -> Text,
        name -> Text,
        key_hash -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    accounts (bank_id, account_id) {
        bank_id -> Text,
        account_id -> Text,
        label -> Text,
        product_code -> Text,
        currency -> Text,
        balance_amount -> Text,
        created_at -> BigInt,
        access_version -> BigInt,
    }
}

diesel::table! {
    account_holders (bank_id, account_id, user_id) {
        bank_id -> Text,
        account_id -> Text,
        user_id -> Text,
    }
}

diesel::table! {
    custom_views (bank_id, account_id, view_id) {
        bank_id -> Text,
        account_id -> Text,
        view_id -> Text,
        short_name -> Text,
        description -> Text,
        metadata_view -> Text,
        is_public -> Bool,
        alias -> Text,
        hide_metadata_if_alias_used -> Bool,
        permissions -> Text,
        can_grant_custom_views -> Bool,
        can_revoke_custom_views -> Bool,
        created_at -> BigInt,
    }
}

diesel::table! {
    account_access (bank_id, account_id, user_id, view_id) {
        bank_id -> Text,
        account_id -> Text,
        user_id -> Text,
        view_id -> Text,
        is_system -> Bool,
        granted_at -> BigInt,
        granted_by -> Nullable<Text>,
    }
}

diesel::table! {
    consents (consent_id) {
        consent_id -> Text,
        user_id -> Text,
        consumer_id -> Text,
        bank_id -> Text,
        everything -> Bool,
        scope -> Text,
        valid_from -> BigInt,
        expires_at -> BigInt,
        sca_method -> Text,
        status -> Text,
        challenge_id -> Text,
        created_at -> BigInt,
        status_changed_at -> BigInt,
    }
}

diesel::joinable!(user_locks -> users (user_id));
diesel::joinable!(entitlement_requests -> users (user_id));
diesel::joinable!(user_auth_contexts -> users (user_id));
diesel::joinable!(challenge_destinations -> challenges (challenge_id));
diesel::joinable!(auth_context_updates -> challenges (challenge_id));
diesel::allow_tables_to_appear_in_same_query!(
    users,
    consumers,
    sessions,
    entitlements,
    audit_events,
    audit_chain,
    installation,
    signing_keys,
    login_attempts,
    user_locks,
    banks,
    user_auth_contexts,
    entitlement_requests,
    dauth_requests,
    challenges,
    challenge_destinations,
    quota_counters,
    security_answers,
    auth_context_updates,
    totp_authenticators,
    system_keys,
    accounts,
    account_holders,
    custom_views,
    account_access,
    consents,
);
