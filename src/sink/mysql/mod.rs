//! The MySQL/MariaDB target.
//!
//! An object's valid rows stream batch by batch into MySQL ([`load`]) and one transaction
//! commits them together with the object's ledger row ([`ledger`]): either both are committed
//! or neither, so a crash or a lost connection before `COMMIT` leaves the table as it was. The
//! schema ([`ddl`]) and the rows' text ([`rows`]) derive from the dictionary.

mod app_user;
mod claims;
pub mod ddl;
pub mod fetch;
mod indexes;
mod ledger;
mod load;
mod meanwhile;
mod migrate;
pub mod rollups;
pub mod rows;
mod tls;

use ddl::quoted;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder, Pool, Row, TxOpts};

use crate::dictionary::{ColumnKind, Dictionary, Keys, Table, TableRef};
use crate::rollup::Rollup;

use crate::sink::{Health, Load, Rows, SinkError};
use crate::store::ObjectVersion;
use load::MysqlLoad;
pub use tls::TlsMode;

/// "Table doesn't exist".
const NO_SUCH_TABLE: u16 = 1146;
/// "Duplicate column name".
const DUPLICATE_COLUMN: u16 = 1060;
/// "Access denied": what MariaDB answers a plain connection when it requires TLS.
const ACCESS_DENIED: u16 = 1045;
/// "Connections using insecure transport are prohibited" (MySQL, RDS).
const INSECURE_TRANSPORT: u16 = 3159;

/// A MySQL database as a csvgate target.
#[derive(Clone)]
pub struct MysqlTarget {
    pool: Pool,
    /// The tables its schema holds.
    dictionary: Arc<Dictionary>,
    /// The URL without its password: what messages show.
    display: String,
    local_infile: Arc<AtomicBool>,
    /// Connected without TLS: a refusal then says how to turn it on.
    plain: bool,
    /// The rollups it keeps in step with their tables ([`rollups`]).
    rollups: Arc<[Rollup]>,
}

impl std::fmt::Debug for MysqlTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MysqlTarget")
            .field("target", &self.display)
            .finish()
    }
}

impl MysqlTarget {
    /// Connects lazily to `url` (`mysql://user@host:3306/database`) over plain TCP; `password`,
    /// when given, replaces one in the URL. Neither is ever shown.
    pub fn new(
        url: &str,
        password: Option<&str>,
        dictionary: Arc<Dictionary>,
    ) -> Result<MysqlTarget, SinkError> {
        Self::with_tls(url, password, &TlsMode::Off, dictionary)
    }

    /// Like [`MysqlTarget::new`], with the TLS `tls` requires.
    pub fn with_tls(
        url: &str,
        password: Option<&str>,
        tls: &TlsMode,
        dictionary: Arc<Dictionary>,
    ) -> Result<MysqlTarget, SinkError> {
        let display = redact(url);
        let invalid = |reason: String| SinkError::Config {
            target: display.clone(),
            reason,
        };
        let opts = Opts::from_url(url).map_err(|error| invalid(error.to_string()))?;
        if opts.db_name().is_none_or(str::is_empty) {
            return Err(invalid(
                "the URL names no database (mysql://user@host:3306/DATABASE)".into(),
            ));
        }
        let mut builder = OptsBuilder::from_opts(opts);
        if let Some(password) = password {
            builder = builder.pass(Some(password));
        }
        if let Some(ssl) = tls.ssl_opts() {
            // A local server's socket would bypass the encryption asked for.
            builder = builder.ssl_opts(ssl).prefer_socket(false);
        }
        Ok(MysqlTarget {
            pool: Pool::new(builder),
            dictionary,
            display,
            local_infile: Arc::new(AtomicBool::new(true)),
            plain: *tls == TlsMode::Off,
            rollups: Arc::from([]),
        })
    }

    /// This target keeping `rollups` in step with every change of their tables; refused
    /// when MySQL cannot store one.
    pub fn with_rollups(self, rollups: Arc<[Rollup]>) -> Result<Self, SinkError> {
        for rollup in rollups.iter() {
            self.rollup_ddl(rollup)?;
        }
        Ok(MysqlTarget { rollups, ..self })
    }

    /// The rollups it keeps.
    pub fn rollups(&self) -> &[Rollup] {
        &self.rollups
    }

    /// Loads with multi-row `INSERT`s only, as when the server refuses `LOCAL INFILE`.
    pub fn without_local_infile(self) -> Self {
        self.local_infile.store(false, Ordering::Relaxed);
        self
    }

    pub(crate) fn error(&self) -> impl Fn(mysql_async::Error) -> SinkError + use<> {
        let target = self.display.clone();
        let plain = self.plain;
        move |source| match server_code(&source) {
            Some(NO_SUCH_TABLE) => SinkError::Config {
                target: target.clone(),
                reason: format!("{source} (is the database initialised? run `csvgate db init`)"),
            },
            Some(ACCESS_DENIED | INSECURE_TRANSPORT) if plain => SinkError::Config {
                target: target.clone(),
                reason: format!(
                    "{source} (without TLS: if the server requires it, as RDS for MySQL 8.4 does by default, set target_tls = required, verify-ca or verify-identity)"
                ),
            },
            _ => SinkError::Mysql {
                target: target.clone(),
                source: Box::new(source),
            },
        }
    }

    pub(crate) async fn conn(&self) -> Result<Conn, SinkError> {
        self.pool.get_conn().await.map_err(self.error())
    }

    /// Applies the schema (safe to repeat) and returns the recorded schema version.
    pub async fn init(&self) -> Result<u32, SinkError> {
        let mut conn = self.conn().await?;
        // Before the statements, which record the new version.
        self.upgrade_ledger(&mut conn).await?;
        for statement in ddl::statements(&self.dictionary) {
            conn.query_drop(statement).await.map_err(self.error())?;
        }
        // `CREATE TABLE IF NOT EXISTS` leaves a stored table's indexes as an older csvgate
        // made them.
        for change in self.index_changes(&self.dictionary).await? {
            tracing::info!(statement = %change, "bringing an index to this schema version");
            conn.query_drop(change).await.map_err(self.error())?;
        }
        for table in self.dictionary.tables() {
            self.rebuild_rollups(&mut conn, &table.name).await?;
        }
        let version: Option<u32> = conn
            .query_first("SELECT MAX(version) FROM csvgate_schema")
            .await
            .map_err(self.error())?;
        Ok(version.unwrap_or_default())
    }

    /// Adds the columns of schema version 3 to a ledger an older csvgate created (none yet:
    /// the statements create it whole).
    async fn upgrade_ledger(&self, conn: &mut Conn) -> Result<(), SinkError> {
        let older: Option<i64> = conn
            .query_first(
                "SELECT (SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() \
                 AND table_name = 'csvgate_runs') - (SELECT COUNT(*) FROM information_schema.columns \
                 WHERE table_schema = DATABASE() AND table_name = 'csvgate_runs' AND column_name = 'contract_hash')",
            )
            .await
            .map_err(self.error())?;
        if older == Some(1) {
            tracing::info!("adding the contract columns of schema version 3 to the ledger");
            match conn.query_drop(ddl::LEDGER_UPGRADE).await {
                // Another `db init` added them meanwhile.
                Err(error) if server_code(&error) == Some(DUPLICATE_COLUMN) => {}
                added => added.map_err(self.error())?,
            }
        }
        Ok(())
    }

    /// The values `sql` selects, as keys of `kind`.
    async fn keys(&self, sql: &str, kind: &ColumnKind) -> Result<Keys, SinkError> {
        Ok(match Keys::of(kind) {
            Keys::Texts(_) => self.query::<String>(sql).await?.into_iter().collect(),
            Keys::Integers(_) => self.query::<i64>(sql).await?.into_iter().collect(),
        })
    }

    /// Runs a query and returns its rows; for tests and ad-hoc SQL.
    pub async fn query<T: mysql_async::prelude::FromRow + Send + 'static>(
        &self,
        sql: &str,
    ) -> Result<Vec<T>, SinkError> {
        self.conn().await?.query(sql).await.map_err(self.error())
    }

    /// Runs a statement with parameters and returns its rows.
    pub async fn exec(
        &self,
        sql: &str,
        params: impl Into<mysql_async::Params> + Send,
    ) -> Result<Vec<Row>, SinkError> {
        self.conn()
            .await?
            .exec(sql, params)
            .await
            .map_err(self.error())
    }

    /// Runs `sql`, one statement, in a read-only transaction: its column names and rows. One
    /// statement, because a second could end the transaction first (`SELECT 1; COMMIT;
    /// DELETE …`): a text with more is refused before anything runs.
    pub async fn read_only(
        &self,
        sql: &str,
        params: mysql_async::Params,
    ) -> Result<(Vec<String>, Vec<Row>), SinkError> {
        if statements(sql) > 1 {
            return Err(SinkError::Config {
                target: self.display.clone(),
                reason: "one statement at a time: this text holds several (separated by `;`)"
                    .into(),
            });
        }
        let error = self.error();
        let mut conn = self.conn().await?;
        let mut options = TxOpts::default();
        options.with_readonly(Some(true));
        let mut transaction = conn.start_transaction(options).await.map_err(&error)?;
        // Parameters go with a prepared statement; without, the text protocol runs any
        // statement MySQL cannot prepare.
        let answer = match params {
            mysql_async::Params::Empty => {
                names_and_rows(transaction.query_iter(sql).await.map_err(&error)?).await
            }
            params => {
                names_and_rows(transaction.exec_iter(sql, params).await.map_err(&error)?).await
            }
        };
        let answer = answer.map_err(&error)?;
        transaction.rollback().await.map_err(error)?;
        Ok(answer)
    }
}

/// A result's column names and rows.
async fn names_and_rows<P: mysql_async::prelude::Protocol>(
    mut result: mysql_async::QueryResult<'_, '_, P>,
) -> Result<(Vec<String>, Vec<Row>), mysql_async::Error> {
    let names = (result.columns_ref().iter())
        .map(|column| column.name_str().into_owned())
        .collect();
    Ok((names, result.collect().await?))
}

/// How many statements `sql` holds: its `;` outside strings and comments that have more
/// than blanks after them, plus one. Text the tokenizer cannot read counts as several.
fn statements(sql: &str) -> usize {
    use datafusion::sql::sqlparser::dialect::MySqlDialect;
    use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};
    let Ok(tokens) = Tokenizer::new(&MySqlDialect {}, sql).tokenize() else {
        return usize::MAX;
    };
    let mut count = 1;
    let mut after_semicolon = false;
    for token in tokens {
        match token {
            Token::SemiColon => after_semicolon = true,
            Token::Whitespace(_) => {}
            _ if after_semicolon => {
                count += 1;
                after_semicolon = false;
            }
            _ => {}
        }
    }
    count
}

/// The URL with its password removed.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            let _ = parsed.set_password(None);
            parsed.to_string()
        }
        Err(_) => "the configured MySQL target".to_owned(),
    }
}

pub(super) fn server_code(error: &mysql_async::Error) -> Option<u16> {
    match error {
        mysql_async::Error::Server(server) => Some(server.code),
        _ => None,
    }
}

#[async_trait]
impl Rows for MysqlTarget {
    fn dictionary(&self) -> &Arc<Dictionary> {
        &self.dictionary
    }

    async fn ids(&self, table: &Table) -> Result<Keys, SinkError> {
        let key = table.key_column();
        let sql = format!("SELECT {} FROM {}", quoted(&key.name), quoted(&table.name));
        self.keys(&sql, &key.kind).await
    }

    async fn begin(
        &self,
        table: &TableRef,
        object: &ObjectVersion,
    ) -> Result<Box<dyn Load>, SinkError> {
        Ok(Box::new(MysqlLoad::begin(self, table, object).await?))
    }

    async fn begin_replace(
        &self,
        table: &TableRef,
        force: bool,
    ) -> Result<Box<dyn Load>, SinkError> {
        Ok(Box::new(
            MysqlLoad::begin_replace(self, table, force).await?,
        ))
    }

    async fn references(&self, table: &Table, column: &str) -> Result<Keys, SinkError> {
        let sql = format!(
            "SELECT DISTINCT {name} FROM {} WHERE {name} IS NOT NULL",
            quoted(&table.name),
            name = quoted(column),
        );
        self.keys(&sql, &table.column(column).kind).await
    }
}

#[async_trait]
impl Health for MysqlTarget {
    fn describe(&self) -> String {
        self.display.clone()
    }

    async fn reachable(&self) -> Result<(), SinkError> {
        self.conn().await?.ping().await.map_err(self.error())
    }
}

#[cfg(test)]
mod tests {
    use super::statements;

    #[test]
    fn statements_are_counted_outside_strings_and_comments() {
        assert_eq!(statements("SELECT 1"), 1);
        assert_eq!(statements("SELECT 1;  \n"), 1);
        assert_eq!(statements("SELECT ';' AS a -- one; two\n"), 1);
        assert_eq!(statements("SELECT 1; COMMIT; DELETE FROM jobs"), 3);
    }
}
