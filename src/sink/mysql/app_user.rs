//! The application user the database bootstrap creates, so the function stops connecting as
//! the master user: exactly the privileges loads, the ledger, claims, reports and restores use
//! on the target's database (rows, and the temporary staging tables), none on its schema: a
//! rollup whose table must be made anew waits for `db init` ([`super::rollups`]).

use mysql_async::prelude::Queryable;

use super::MysqlTarget;
use crate::sink::SinkError;

/// What the application user may do on the target's database.
const PRIVILEGES: &str = "SELECT, INSERT, UPDATE, DELETE, CREATE TEMPORARY TABLES";

impl MysqlTarget {
    /// Creates the user `name` (from any host) with a new random password, or gives an existing
    /// one a new password, and grants it [`PRIVILEGES`] on this target's database; returns the
    /// password. `name` is letters, digits and `_`, at most 32 (MySQL's limit).
    pub async fn create_app_user(&self, name: &str) -> Result<String, SinkError> {
        let valid = (1..=32).contains(&name.len())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(SinkError::Config {
                target: self.display.clone(),
                reason: format!("app user {name:?}: 1 to 32 letters, digits or _"),
            });
        }
        // 244 random bits, as hex: nothing in it needs quoting.
        let password = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let mut conn = self.conn().await?;
        let database: String = (conn.query_first("SELECT DATABASE()").await)
            .map_err(self.error())?
            .unwrap_or_default();
        let user = format!("'{name}'@'%'");
        for statement in [
            format!("CREATE USER IF NOT EXISTS {user} IDENTIFIED BY '{password}'"),
            format!("ALTER USER {user} IDENTIFIED BY '{password}'"),
            format!("GRANT {PRIVILEGES} ON `{database}`.* TO {user}"),
        ] {
            conn.query_drop(statement).await.map_err(self.error())?;
        }
        tracing::info!(user = name, database, "application user ready");
        Ok(password)
    }
}
