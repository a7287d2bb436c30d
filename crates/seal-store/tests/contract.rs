//! The store contract: one set of stories about what `seal_store::Store` promises, run
//! on SQLite always and on PostgreSQL when `SEALKEEPER_TEST_PG_URL` names a server on
//! which the tests may create and drop scratch databases; plus the blob store.
//!
//! Each story is written once, in `contract/stories/`, and [`contract_stories!`] turns
//! it into `sqlite::<story>` and `postgres::<story>` tests, each on a fresh database:
//! `cargo test -p seal-store sqlite::` or `… postgres::` runs one backend.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod contract {
    pub mod blobs;
    pub mod connect;
    pub mod fixtures;
    pub mod harness;
    pub mod stories {
        pub mod access;
        pub mod audit;
        pub mod comparisons;
        pub mod devices;
        pub mod directory;
        pub mod log;
        pub mod roles;
        pub mod tenancy;
        pub mod transactions;
        pub mod webhooks;
    }
}

/// For each `module::story` (an `async fn(Store)` in `contract::stories`), a test per
/// backend. Attributes before an entry (such as `#[ignore = "…"]`) go on both tests.
macro_rules! contract_stories {
    ($($(#[$attribute:meta])* $module:ident :: $story:ident),* $(,)?) => {
        mod sqlite {
            $(
                $(#[$attribute])*
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $story() {
                    crate::contract::harness::on_sqlite(
                        crate::contract::stories::$module::$story,
                    )
                    .await;
                }
            )*
        }

        mod postgres {
            $(
                $(#[$attribute])*
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $story() {
                    crate::contract::harness::on_postgres(
                        crate::contract::stories::$module::$story,
                    )
                    .await;
                }
            )*
        }
    };
}

contract_stories! {
    directory::organisations,
    directory::duplicate_org_code_is_a_conflict,
    directory::departments,
    directory::people_records,
    directory::duplicate_logins_are_conflicts,
    directory::people_filters_and_pages,
    directory::people_query_keeps_wildcard_characters,
    directory::people_query_ignores_ascii_case,
    directory::logins_and_credentials,
    directory::totp_steps_only_move_forward,
    roles::roles_round_trip_and_order,
    roles::custom_roles_are_listed_by_name,
    roles::role_holders,
    roles::roles_of_another_organisation_are_never_attached,
    access::sessions,
    access::api_tokens,
    access::recovery_codes,
    audit::audit_append_filter_and_page,
    audit::audit_is_append_only,
    tenancy::reads_are_scoped_by_organisation,
    tenancy::writes_are_scoped_by_organisation,
    transactions::dropped_transaction_leaves_nothing,
    transactions::concurrent_writers_queue,
    transactions::many_concurrent_writers_all_succeed,
    transactions::ping,
    webhooks::endpoints_round_trip_and_stay_in_their_organisation,
    webhooks::outbox_claims_attempts_and_replays,
    webhooks::one_delivery_per_event_and_endpoint,
    devices::devices_round_trip_and_stay_in_their_organisation,
    devices::serials_and_macs_are_enrolled_once_until_revoked,
    devices::nonces_stamps_alarms_and_commands_happen_once,
    log::changes_and_their_leaves_commit_together,
    log::proofs_from_stored_nodes_verify,
    log::stamps_and_status_changes_are_logged_and_found,
    log::log_tables_refuse_changes_in_place,
    log::concurrent_appenders_keep_the_log_dense,
    comparisons::comparisons_round_trip_are_logged_and_stay_in_their_organisation,
    comparisons::a_stamp_has_at_most_one_comparison,
    comparisons::comparisons_refuse_changes_in_place,
    comparisons::the_auditors_list_filters_and_pages,
    comparisons::pending_press_photos_wait_for_their_comparison,
    comparisons::thresholds_default_are_set_and_read_back,
}
