//! The MySQL target over TLS, against the MariaDB that requires it (`require_secure_transport
//! = ON`, as RDS for MySQL 8.4 runs by default): the second server `scripts/services` starts at
//! 127.0.0.1:3307, with a certificate for 127.0.0.1 from a CA of its own.

mod common;

use csvgate::config::{Config, Key};
use csvgate::deployment::Deployment;
use csvgate::ledger::Status;

use common::{TLS_CA as CA, TLS_SERVER as SERVER, tls_mysql_database as tls_database};

/// A deployment in `dir` whose target is `database` on the TLS server, in `mode`.
fn deployment(dir: &std::path::Path, database: &str, mode: &str, ca: Option<&str>) -> Deployment {
    let mut config = Config::in_folder(dir);
    config.set(Key::Target, format!("{SERVER}/{database}"));
    config.set(Key::TargetTls, mode);
    if let Some(ca) = ca {
        config.set(Key::TargetTlsCa, ca);
    }
    Deployment::open(config).unwrap()
}

#[tokio::test]
async fn loads_over_tls_in_every_mode_that_encrypts() {
    let database = tls_database().await;
    let dir = tempfile::tempdir().unwrap();
    let modes = [
        ("required", None),
        ("verify-ca", Some(CA)),
        ("verify-identity", Some(CA)),
    ];
    for (file, (mode, ca)) in ["departments.csv", "jobs.csv", "hired_employees.csv"]
        .into_iter()
        .zip(modes)
    {
        let deployment = deployment(dir.path(), &database, mode, ca);
        let mysql = deployment.mysql().unwrap();
        mysql.init().await.unwrap();
        let cipher: Vec<(String, String)> = mysql
            .query("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
            .await
            .unwrap();
        assert!(!cipher[0].1.is_empty(), "{mode}: {cipher:?}");
        let source = common::fixtures().join(file).to_string_lossy().into_owned();
        let entries = deployment
            .pipeline
            .ingest(&[source], &deployment.options)
            .await
            .unwrap();
        assert_eq!(
            entries[0].status,
            Status::Done,
            "{mode}: {:?}",
            entries[0].error
        );
    }
    let deployment = deployment(dir.path(), &database, "required", None);
    let mysql = deployment.mysql().unwrap();
    let rows = [
        ("departments", 12),
        ("jobs", 183),
        ("hired_employees", 1929),
    ];
    common::assert_row_counts(mysql, &rows).await;
}

#[tokio::test]
async fn without_tls_the_load_fails_saying_how_to_turn_it_on() {
    let database = tls_database().await;
    let dir = tempfile::tempdir().unwrap();
    let deployment = deployment(dir.path(), &database, "off", None);
    let source = common::fixtures()
        .join("departments.csv")
        .to_string_lossy()
        .into_owned();
    let error = deployment
        .pipeline
        .ingest(&[source], &deployment.options)
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(message.contains("set target_tls = required"), "{message}");
    assert!(message.contains("127.0.0.1:3307"), "{message}");
    assert!(
        !message.contains("csvgate:csvgate"),
        "no password in {message}"
    );
}

#[tokio::test]
async fn a_certificate_from_another_ca_is_refused() {
    let database = tls_database().await;
    let dir = tempfile::tempdir().unwrap();
    // A CA that did not sign the server's certificate: a self-signed one of this test.
    let other_ca = dir.path().join("other-ca.pem");
    let key = dir.path().join("other-key.pem");
    let request = [
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
    ];
    let mut openssl = std::process::Command::new("openssl");
    openssl.args(request).args(["-subj", "/CN=other"]);
    common::succeeded(openssl.arg("-keyout").arg(key).arg("-out").arg(&other_ca));
    let deployment = deployment(
        dir.path(),
        &database,
        "verify-ca",
        Some(other_ca.to_str().unwrap()),
    );
    let error = deployment
        .mysql()
        .unwrap()
        .init()
        .await
        .unwrap_err()
        .to_string();
    assert!(error.to_lowercase().contains("certificate"), "{error}");
}
