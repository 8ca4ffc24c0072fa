//! HTTP handlers: extract → call the domain, the database or a client → respond; and the one
//! route table.

pub mod audit;
pub mod auth;
pub mod billing_profiles;
pub mod company_mappings;
pub mod company_terms;
pub mod connections;
pub mod connectwise;
pub mod console;
pub mod etag;
pub mod extract;
pub mod health;
pub mod input;
pub mod metrics;
pub mod notices;
pub mod notification_channels;
pub mod paging;
pub mod product_mappings;
pub mod reconciliation;
pub mod security_applications;
pub mod service_tokens;
pub mod settings;
pub mod sync;
pub mod tenants;
pub mod usage_snapshots;
pub mod users;

use utoipa_actix_web::{scope, service_config::ServiceConfig};

/// Every API route. The OpenAPI document is generated from this same table.
pub fn table(cfg: &mut ServiceConfig) {
    cfg.service(health::healthz)
        .service(health::readyz)
        .service(metrics::get_metrics)
        .service(
            scope::scope("/api/v1")
                .service(auth::login)
                .service(auth::me)
                .service(auth::change_my_password)
                .service(auth::end_my_sessions)
                .service(users::list_users)
                .service(users::create_user)
                .service(users::get_user)
                .service(users::update_user)
                .service(users::delete_user)
                .service(users::end_user_sessions)
                .service(service_tokens::list_service_tokens)
                .service(service_tokens::create_service_token)
                .service(service_tokens::revoke_service_token)
                .service(audit::list_audit_events)
                .service(connections::get_connectwise_connection)
                .service(connections::put_connectwise_connection)
                .service(connections::test_connectwise_connection)
                .service(connections::get_kaspersky_connection)
                .service(connections::put_kaspersky_connection)
                .service(connections::test_kaspersky_connection)
                .service(connectwise::list_products)
                .service(connectwise::refresh_products)
                .service(connectwise::list_companies)
                .service(connectwise::list_company_agreements)
                .service(security_applications::list_security_applications)
                .service(security_applications::create_security_application)
                .service(security_applications::get_security_application)
                .service(security_applications::update_security_application)
                .service(security_applications::add_match_rule)
                .service(security_applications::delete_security_application)
                .service(settings::get_billing_settings)
                .service(settings::put_billing_settings)
                .service(settings::get_sync_settings)
                .service(settings::put_sync_settings)
                .service(product_mappings::list_product_mappings)
                .service(product_mappings::save_product_mappings)
                .service(product_mappings::get_product_mapping)
                .service(product_mappings::put_product_mapping)
                .service(product_mappings::delete_product_mapping)
                .service(tenants::list_tenants)
                .service(tenants::create_tenant)
                .service(tenants::refresh_tenants)
                .service(tenants::get_tenant)
                .service(company_mappings::list_company_mappings)
                .service(company_mappings::create_company_mapping)
                .service(company_mappings::get_company_mapping)
                .service(company_mappings::put_company_mapping)
                .service(company_terms::get_company_terms)
                .service(company_terms::put_company_terms)
                .service(billing_profiles::list_billing_profiles)
                .service(billing_profiles::get_billing_profile)
                .service(billing_profiles::put_billing_profile)
                .service(billing_profiles::delete_billing_profile)
                .service(reconciliation::get_reconciliation)
                .service(company_mappings::delete_company_mapping)
                .service(usage_snapshots::list_usage_snapshots)
                .service(usage_snapshots::push_usage_snapshot)
                .service(usage_snapshots::collect_usage_snapshots)
                .service(usage_snapshots::get_usage_snapshot)
                .service(sync::preview_sync)
                .service(sync::get_sync_plan)
                .service(sync::start_sync_run)
                .service(sync::list_sync_runs)
                .service(sync::get_sync_run)
                .service(sync::list_sync_run_changes)
                .service(sync::unbilled_usage)
                .service(notification_channels::list_notification_channels)
                .service(notification_channels::create_notification_channel)
                .service(notification_channels::get_notification_channel)
                .service(notification_channels::put_notification_channel)
                .service(notification_channels::delete_notification_channel)
                .service(notification_channels::test_notification_channel)
                .service(notices::list_notifications)
                .service(notices::acknowledge_notification),
        );
}
