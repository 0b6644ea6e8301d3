//! Test support: a fresh database per test on SQLite (always) or PostgreSQL (when `TEST_POSTGRES_URL` is
//! set), fixed clocks and fixtures.

use std::time::Duration;

use sqlx::Executor;
use sqlx::any::AnyPoolOptions;

pub use resident_domain::clock::FixedClock;

pub mod fakes;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// A throw-away database. SQLite files live in a temporary folder; PostgreSQL databases are created
/// on the server named by `TEST_POSTGRES_URL` and dropped when this value is dropped.
pub struct TestDb {
    pub url: String,
    pub dir: tempfile::TempDir,
    pg_admin: Option<(String, String)>,
}

impl TestDb {
    /// `None` when the backend is not available here (PostgreSQL without `TEST_POSTGRES_URL`). On CI
    /// (`CI=true`) a missing PostgreSQL is an error, so a green run always covers both databases.
    pub async fn new(db: Db) -> Option<TestDb> {
        #[allow(clippy::expect_used)]
        let dir = tempfile::tempdir().expect("temporary folder");
        match db {
            Db::Sqlite => {
                let url = format!("sqlite://{}/resident.db", dir.path().display());
                Some(TestDb { url, dir, pg_admin: None })
            }
            Db::Postgres => {
                let Ok(admin) = std::env::var("TEST_POSTGRES_URL") else {
                    assert!(
                        std::env::var("CI").as_deref() != Ok("true"),
                        "TEST_POSTGRES_URL must be set on CI so the PostgreSQL suite runs"
                    );
                    eprintln!("skipped: TEST_POSTGRES_URL is not set");
                    return None;
                };
                sqlx::any::install_default_drivers();
                let name = format!("resident_t_{}", uuid::Uuid::new_v4().simple());
                #[allow(clippy::expect_used)]
                let pool = AnyPoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect(&admin)
                    .await
                    .expect("connect to TEST_POSTGRES_URL");
                #[allow(clippy::expect_used)]
                pool.execute(format!("CREATE DATABASE {name}").as_str()).await.expect("create test database");
                pool.close().await;
                let url = replace_db_name(&admin, &name);
                Some(TestDb { url, dir, pg_admin: Some((admin, name)) })
            }
        }
    }
}

fn replace_db_name(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.pg_admin.take() {
            // Drop runs outside any runtime guarantee: use a small runtime of its own.
            let _ = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
                rt.block_on(async move {
                    if let Ok(pool) = AnyPoolOptions::new().max_connections(1).connect(&admin).await {
                        let _ = pool.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str()).await;
                        pool.close().await;
                    }
                });
            })
            .join();
        }
    }
}

/// Declares each listed `async fn name(db: Db)` as two tests, `sqlite::name` and `postgres::name`.
#[macro_export]
macro_rules! on_both {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { super::$name($crate::Db::Sqlite).await } )+
        }
        mod postgres {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { super::$name($crate::Db::Postgres).await } )+
        }
    };
}

/// A fixed instant tests start from.
pub fn t0() -> time::OffsetDateTime {
    time::macros::datetime!(2026-11-26 09:00 UTC)
}

#[cfg(test)]
mod tests {
    #[test]
    fn replaces_the_database_name() {
        assert_eq!(
            super::replace_db_name("postgres://postgres@127.0.0.1:5432/ci", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            super::replace_db_name("postgres://u@h/ci?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(super::replace_db_name("postgres://u@h", "x"), "postgres://u@h/x");
    }
}
