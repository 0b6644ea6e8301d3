//! Migrations for both backends, embedded in the binary. The two lists must stay in lock-step (same
//! versions and names); a test checks them against the files on disk.

use std::borrow::Cow;

use sqlx::migrate::{Migration, MigrationType, Migrator};

use crate::Backend;

/// (version, description, SQLite SQL, PostgreSQL SQL)
pub const MIGRATIONS: &[(i64, &str, &str, &str)] = &[
    (
        1,
        "init",
        include_str!("../migrations/sqlite/0001_init.sql"),
        include_str!("../migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        "authentication",
        include_str!("../migrations/sqlite/0002_authentication.sql"),
        include_str!("../migrations/postgres/0002_authentication.sql"),
    ),
    (
        3,
        "partners",
        include_str!("../migrations/sqlite/0003_partners.sql"),
        include_str!("../migrations/postgres/0003_partners.sql"),
    ),
    (
        4,
        "updates",
        include_str!("../migrations/sqlite/0004_updates.sql"),
        include_str!("../migrations/postgres/0004_updates.sql"),
    ),
    (
        5,
        "printing",
        include_str!("../migrations/sqlite/0005_printing.sql"),
        include_str!("../migrations/postgres/0005_printing.sql"),
    ),
    (
        6,
        "credentials",
        include_str!("../migrations/sqlite/0006_credentials.sql"),
        include_str!("../migrations/postgres/0006_credentials.sql"),
    ),
    (
        7,
        "portal",
        include_str!("../migrations/sqlite/0007_portal.sql"),
        include_str!("../migrations/postgres/0007_portal.sql"),
    ),
    (
        8,
        "security",
        include_str!("../migrations/sqlite/0008_security.sql"),
        include_str!("../migrations/postgres/0008_security.sql"),
    ),
    (
        9,
        "credential_access",
        include_str!("../migrations/sqlite/0009_credential_access.sql"),
        include_str!("../migrations/postgres/0009_credential_access.sql"),
    ),
    (
        10,
        "data_access",
        include_str!("../migrations/sqlite/0010_data_access.sql"),
        include_str!("../migrations/postgres/0010_data_access.sql"),
    ),
    (
        11,
        "grievance_contact",
        include_str!("../migrations/sqlite/0011_grievance_contact.sql"),
        include_str!("../migrations/postgres/0011_grievance_contact.sql"),
    ),
    (
        12,
        "channel_verification",
        include_str!("../migrations/sqlite/0012_channel_verification.sql"),
        include_str!("../migrations/postgres/0012_channel_verification.sql"),
    ),
    (
        13,
        "update_upload",
        include_str!("../migrations/sqlite/0013_update_upload.sql"),
        include_str!("../migrations/postgres/0013_update_upload.sql"),
    ),
    (
        14,
        "platform_client",
        include_str!("../migrations/sqlite/0014_platform_client.sql"),
        include_str!("../migrations/postgres/0014_platform_client.sql"),
    ),
    (
        15,
        "audit_forward",
        include_str!("../migrations/sqlite/0015_audit_forward.sql"),
        include_str!("../migrations/postgres/0015_audit_forward.sql"),
    ),
    (
        16,
        "session_uin",
        include_str!("../migrations/sqlite/0016_session_uin.sql"),
        include_str!("../migrations/postgres/0016_session_uin.sql"),
    ),
    (
        17,
        "signing_certificate",
        include_str!("../migrations/sqlite/0017_signing_certificate.sql"),
        include_str!("../migrations/postgres/0017_signing_certificate.sql"),
    ),
];

/// The newest schema version this binary knows.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map(|m| m.0).unwrap_or(0)
}

pub fn migrator(backend: Backend) -> Migrator {
    let migrations = MIGRATIONS
        .iter()
        .map(|(version, desc, sqlite, pg)| {
            let sql: &'static str = match backend {
                Backend::Sqlite => sqlite,
                Backend::Postgres => pg,
            };
            Migration::new(*version, Cow::Borrowed(*desc), MigrationType::Simple, Cow::Borrowed(sql), false)
        })
        .collect();
    // A database that has a migration this binary does not know was written by a newer version:
    // the migrator refuses it (ignore_missing stays false).
    Migrator { migrations: Cow::Owned(migrations), ..Migrator::DEFAULT }
}
