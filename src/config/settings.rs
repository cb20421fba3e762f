//! Every setting of csvgate, once. Adding a setting is one entry here; the code that uses it
//! asks [`Config`](super::Config) for its [`Key`].
//!
//! Layers, highest first: a flag, its `CSVGATE_*` variable, `csvgate.toml`, SSM Parameter
//! Store (the MySQL target only), the default.

use super::ServerLimits;
use super::setting::{Kind, Setting, settings};
use crate::validate::Limits;

const TEXT: Kind = Kind::Text;
const SECRET: Kind = Kind::Secret;
const BOOL: Kind = Kind::Bool;
const COUNT: Kind = Kind::Count;
const POSITIVE: Kind = Kind::Positive;
/// MySQL's `--ssl-mode` words.
const TLS_MODES: Kind = Kind::Choice(&["off", "required", "verify-ca", "verify-identity"]);
/// Whether files start with a header line (`HeaderMode`'s words).
const HEADER_MODES: Kind = Kind::Choice(&["auto", "yes", "no"]);

/// The number of seconds in a default duration, as text.
fn seconds(duration: std::time::Duration) -> String {
    duration.as_secs().to_string()
}

settings! {
    /// Landing bucket: where uploads arrive and `ingest` looks by default (a folder or URL).
    Landing = Setting::new("landing", TEXT).env("CSVGATE_LANDING").flag("landing")
        .default(|| "./csvgate-data/landing".into());
    /// Invalid bucket: one CSV of rejected rows per processed object.
    Invalid = Setting::new("invalid", TEXT).env("CSVGATE_INVALID").flag("invalid")
        .default(|| "./csvgate-data/invalid".into());
    /// Delta Lake warehouse root.
    Warehouse = Setting::new("warehouse", TEXT).env("CSVGATE_WAREHOUSE").flag("warehouse")
        .default(|| "./csvgate-data/warehouse".into());
    /// The data contract (an ODCS v3 YAML file: a path, or an `s3://` or `file://` URL read
    /// once at start) whose tables and rules this deployment enforces.
    Contract = Setting::new("contract", TEXT).env("CSVGATE_CONTRACT").flag("contract")
        .default_note("the built-in HR contract");
    /// A folder of the team's own reports, `datafusion/<name>.sql` and `mysql/<name>.sql`,
    /// answered beside the built-in ones.
    Queries = Setting::new("queries", TEXT).env("CSVGATE_QUERIES").flag("queries")
        .default_note("the built-in HR reports only");
    /// Where valid rows go: `mysql://user@host:3306/database`, or unset for the Delta warehouse.
    Target = Setting::new("target", TEXT).env("CSVGATE_TARGET").flag("target")
        .default_note("the Delta warehouse");
    /// Password of the MySQL target (better from the environment than on a command line).
    TargetPassword = Setting::new("target_password", SECRET).env("CSVGATE_TARGET_PASSWORD")
        .flag("target-password");
    /// TLS to the MySQL target, as MySQL's ssl-mode: off, required (encrypted, the server's
    /// certificate not checked), verify-ca (signed by `target_tls_ca`), verify-identity (also
    /// issued for the host connected to).
    TargetTls = Setting::new("target_tls", TLS_MODES).env("CSVGATE_TARGET_TLS").flag("target-tls")
        .default(|| "off".into());
    /// The CA certificates (a PEM file) `verify-ca` and `verify-identity` check the MySQL
    /// server's certificate against (for RDS, its region's bundle).
    TargetTlsCa = Setting::new("target_tls_ca", TEXT).env("CSVGATE_TARGET_TLS_CA")
        .flag("target-tls-ca");
    /// With a MySQL target, also keep the Delta warehouse loaded from the same rows.
    MirrorParquet = Setting::new("mirror_parquet", BOOL).env("CSVGATE_MIRROR_PARQUET")
        .flag("mirror-parquet").default(|| "false".into());
    /// Keep the rollups (the built-in ones and the queries folder's) in step with every load,
    /// for reports to read; `false`: none is kept, and reports scan the rows.
    Rollups = Setting::new("rollups", BOOL).env("CSVGATE_ROLLUPS").default(|| "true".into());
    /// SSM Parameter Store path of the MySQL target's host, port, name, user and password
    /// (`/globant/db`), for what `target` and `target_password` leave unset.
    SsmPrefix = Setting::new("ssm_prefix", TEXT).env("CSVGATE_SSM_PREFIX").flag("ssm-prefix");
    /// Where backups go: a folder or URL.
    Backups = Setting::new("backups", TEXT).env("CSVGATE_BACKUPS").flag("backups")
        .default(|| "./csvgate-data/backups".into());

    /// A table's reject budget in rows, `max_rejected_rows` of `[tables.<name>]`: over the
    /// contract's `csvgateMaxRejectedRows` (the deployment's choice wins).
    TableMaxRejectedRows = Setting::new("tables.*.max_rejected_rows", COUNT);
    /// A table's reject budget as a share of the rows read, `max_rejected_ratio` of
    /// `[tables.<name>]`: over the contract's `csvgateMaxRejectedRatio`.
    TableMaxRejectedRatio = Setting::new("tables.*.max_rejected_ratio", Kind::Share);
    /// A table's field delimiter, `delimiter` of `[tables.<name>]`: over the contract's
    /// `csvgateDelimiter`, and both over `ingest.delimiter` for that table's files.
    TableDelimiter = Setting::new("tables.*.delimiter", Kind::Char);
    /// Whether a table's files start with a header line, `header` of `[tables.<name>]`: over
    /// the contract's `csvgateHeader`, and both over `ingest.header` for that table's files.
    TableHeader = Setting::new("tables.*.header", HEADER_MODES);
    /// Texts a table's files write for a missing value (`["NA", "null"]`), `null_values` of
    /// `[tables.<name>]`: instead of the contract's `csvgateNullValues`.
    TableNullValues = Setting::new("tables.*.null_values", Kind::TextList);
    /// Patterns of the names of a table's files (`["*_orders.csv"]`), `file_names` of
    /// `[tables.<name>]`: instead of the contract's `csvgateFileNames`.
    TableFileNames = Setting::new("tables.*.file_names", Kind::TextList);

    /// Field delimiter, one ASCII character.
    Delimiter = Setting::new("ingest.delimiter", Kind::Char).flag_of("ingest", "delimiter")
        .default_note("sniffed from the first line");
    /// Whether files start with a header line: auto (a first line of the columns' names), yes
    /// or no.
    Header = Setting::new("ingest.header", HEADER_MODES)
        .flag_of("ingest", "header").default(|| "auto".into());
    /// Files of one table loaded at once, each on a task of its own; tables still go one after
    /// another, reference tables first.
    Workers = Setting::new("ingest.workers", POSITIVE).flag_of("ingest", "workers")
        .default(|| "1".into());
    /// Seconds a worker's claim on an object lasts unless renewed: how long the objects of a
    /// worker that died wait before another takes them over.
    ClaimLeaseSecs = Setting::new("ingest.claim_lease_secs", POSITIVE)
        .default(|| seconds(crate::sink::claim::DEFAULT_LEASE));
    /// Seconds a warehouse table keeps the marker of each object version it loaded (Delta's
    /// `setTransactionRetentionDuration`); older loads are told from the ledger. Keep it longer
    /// than any outage: a commit whose answer was lost in a crash is settled from its marker.
    MarkerRetentionSecs = Setting::new("ingest.marker_retention_secs", POSITIVE)
        .default(|| seconds(crate::sink::delta::DEFAULT_MARKER_RETENTION));
    /// Rows per batch between the reader and DataFusion.
    BatchRows = Setting::new("ingest.batch_rows", POSITIVE)
        .default(|| Limits::default().batch_rows.to_string());
    /// Bytes of fields per batch between the reader and DataFusion.
    BatchBytes = Setting::new("ingest.batch_bytes", POSITIVE)
        .default(|| Limits::default().batch_bytes.to_string());
    /// Longest record; a longer one is a rejected row and reading goes on at the next line.
    MaxRecordBytes = Setting::new("ingest.max_record_bytes", POSITIVE)
        .default(|| Limits::default().max_record_bytes.to_string());
    /// Longest field; a row with a longer one is rejected.
    MaxFieldBytes = Setting::new("ingest.max_field_bytes", POSITIVE)
        .default(|| Limits::default().max_field_bytes.to_string());

    /// Address the HTTP API listens on (port 0 picks a free one).
    Listen = Setting::new("api.listen", TEXT).env("CSVGATE_LISTEN").flag_of("serve", "listen")
        .default(|| "127.0.0.1:8080".into());
    /// The bucket name in `PUT /{bucket}/{key}`.
    ApiBucket = Setting::new("api.bucket", TEXT).env("CSVGATE_API_BUCKET")
        .flag_of("serve", "bucket")
        .default_note("an S3 landing location's bucket, else globant-landing");
    /// Largest upload accepted, in bytes.
    MaxUploadBytes = Setting::new("api.max_upload_bytes", POSITIVE)
        .env("CSVGATE_MAX_UPLOAD_BYTES").flag_of("serve", "max-upload-bytes")
        .default(|| super::DEFAULT_MAX_UPLOAD_BYTES.to_string());
    /// API keys accepted in `x-api-key` or `Authorization: Bearer` (comma-separated in the
    /// environment).
    ApiKeys = Setting::new("api.api_keys", Kind::SecretList).env("CSVGATE_API_KEYS")
        .flag_of("serve", "api-key");
    /// Uploads of one table waiting together in the queue that are committed as one, at most
    /// (1: a commit per upload).
    GroupMax = Setting::new("api.group_max", POSITIVE).env("CSVGATE_GROUP_MAX")
        .flag_of("serve", "group-max")
        .default(|| crate::pipeline::DEFAULT_GROUP_MAX.to_string());
    /// Let reads (runs, reports) through without a key; writes always need one.
    OpenReads = Setting::new("api.open_reads", BOOL).flag_of("serve", "open-reads")
        .default(|| "false".into());
    /// A connection that has not sent a whole request head in this many seconds is closed.
    HeaderTimeoutSecs = Setting::new("api.header_timeout_secs", POSITIVE)
        .default(|| seconds(ServerLimits::default().header_timeout));
    /// Seconds a request other than an upload has to be answered (503 otherwise).
    RequestTimeoutSecs = Setting::new("api.request_timeout_secs", POSITIVE)
        .default(|| seconds(ServerLimits::default().request_timeout));
    /// An upload whose body sends nothing for this many seconds is cut off.
    BodyTimeoutSecs = Setting::new("api.body_timeout_secs", POSITIVE)
        .default(|| seconds(ServerLimits::default().body_timeout));
    /// Seconds a shutdown waits for requests in flight before closing their connections.
    ShutdownDeadlineSecs = Setting::new("api.shutdown_deadline_secs", COUNT)
        .default(|| seconds(ServerLimits::default().shutdown_deadline));
    /// Connections served at once.
    MaxConnections = Setting::new("api.max_connections", POSITIVE)
        .default(|| ServerLimits::default().max_connections.to_string());
    /// Uploads streamed at once; past it a `PUT` gets 429 with `Retry-After`.
    MaxConcurrentUploads = Setting::new("api.max_concurrent_uploads", POSITIVE)
        .default(|| ServerLimits::default().max_uploads.to_string());
    /// Runs waiting for the worker; past it a `PUT` gets 503 with `Retry-After`.
    MaxQueuedRuns = Setting::new("api.max_queued_runs", POSITIVE)
        .default(|| ServerLimits::default().max_queued_runs.to_string());

    /// When `csvgate serve` snapshots every table: a cron expression in UTC (five fields, or
    /// six with seconds first), or `off`.
    BackupSchedule = Setting::new("backup.schedule", Kind::Schedule)
        .default(|| crate::backup::schedule::DEFAULT_SCHEDULE.into());
    /// The scheduled snapshots' format: avro or parquet.
    BackupFormat = Setting::new("backup.format", Kind::Choice(&["avro", "parquet"]))
        .default(|| "avro".into());
    /// After each scheduled backup, keep each table's last N snapshots…
    KeepLast = Setting::new("backup.keep_last", COUNT)
        .default(|| super::DEFAULT_RETENTION.keep_last.to_string());
    /// …and the newest of each of its W most recent ISO weeks.
    KeepWeekly = Setting::new("backup.keep_weekly", COUNT)
        .default(|| super::DEFAULT_RETENTION.keep_weekly.to_string());

    /// Endpoint of an S3-compatible server (`http://127.0.0.1:9000`); requests are then
    /// path-style.
    S3Endpoint = Setting::new("s3.endpoint", TEXT).aws_env("AWS_ENDPOINT_URL");
    /// Allow `http://` endpoints.
    S3AllowHttp = Setting::new("s3.allow_http", BOOL).aws_env("AWS_ALLOW_HTTP");
    /// Region [AWS_REGION / AWS_DEFAULT_REGION, else us-east-1].
    S3Region = Setting::new("s3.region", TEXT).aws_env("AWS_REGION");
    /// Access key; prefer `AWS_ACCESS_KEY_ID` or a role.
    S3AccessKeyId = Setting::new("s3.access_key_id", TEXT).aws_env("AWS_ACCESS_KEY_ID");
    /// Secret key; prefer `AWS_SECRET_ACCESS_KEY` or a role.
    S3SecretAccessKey = Setting::new("s3.secret_access_key", SECRET)
        .aws_env("AWS_SECRET_ACCESS_KEY");
    /// Session token of temporary keys; prefer `AWS_SESSION_TOKEN`.
    S3SessionToken = Setting::new("s3.session_token", SECRET).aws_env("AWS_SESSION_TOKEN");

    /// The name, below `ssm_prefix`, of the database host parameter.
    SsmHost = Setting::new("ssm.host", TEXT).default(|| "host".into());
    /// …of its port (optional in SSM: 3306 when absent).
    SsmPort = Setting::new("ssm.port", TEXT).default(|| "port".into());
    /// …of the database (schema) name.
    SsmName = Setting::new("ssm.name", TEXT).default(|| "name".into());
    /// …of the user (a SecureString).
    SsmUser = Setting::new("ssm.user", TEXT).env("CSVGATE_SSM_USER").default(|| "user".into());
    /// …of the password (a SecureString).
    SsmPassword = Setting::new("ssm.password", TEXT).env("CSVGATE_SSM_PASSWORD")
        .default(|| "password".into());
}

impl Key {
    /// What the list says of this setting.
    pub fn setting(self) -> &'static Setting {
        &SETTINGS[self as usize]
    }

    pub fn name(self) -> &'static str {
        self.setting().name
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::setting::{Env, Fallback};

    #[test]
    fn keys_name_their_own_entry_and_names_flags_and_variables_are_unique() {
        let mut names = std::collections::BTreeSet::new();
        let mut variables = std::collections::BTreeSet::new();
        let mut flags = std::collections::BTreeSet::new();
        for setting in SETTINGS {
            assert!(names.insert(setting.name), "{} twice", setting.name);
            if let Env::Own(variable) | Env::Aws(variable) = setting.env {
                assert!(variables.insert(variable), "{variable} twice");
            }
            if let Some(flag) = setting.flag {
                assert!(flags.insert((flag.command, flag.long)), "{flag:?} twice");
            }
            assert!(
                !setting.doc.trim().is_empty(),
                "{} has no doc",
                setting.name
            );
            if let Fallback::Value(default) = setting.fallback {
                assert!(!default().is_empty(), "{}", setting.name);
            }
        }
        assert_eq!(Key::Listen.name(), "api.listen");
        assert_eq!(Key::SsmPassword.name(), "ssm.password");
    }
}
