//! TLS to the MySQL target, in the words of MySQL's `--ssl-mode`: `off`; `required` (encrypted,
//! the server's certificate not checked); `verify-ca` (signed by the CA certificates the
//! deployer gives, e.g. RDS's bundle for its region); `verify-identity` (also issued for the
//! host connected to). RDS for MySQL 8.4 refuses unencrypted connections by default
//! (`require_secure_transport`).
//!
//! `verify-ca` checks the name too, for now: mysql_async 0.37 skips the name check only on an
//! error text that rustls 0.23 no longer prints, so it is as strict as `verify-identity` (never
//! looser than asked).

use std::path::PathBuf;

use mysql_async::SslOpts;

/// The TLS a MySQL connection requires.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TlsMode {
    #[default]
    Off,
    Required,
    /// The server's certificate chains to one of the PEM certificates in this file.
    VerifyCa(PathBuf),
    /// As `VerifyCa`, and names the host connected to.
    VerifyIdentity(PathBuf),
}

impl TlsMode {
    /// The mode `word` names (`target_tls`), with its CA file (`target_tls_ca`).
    pub fn new(word: &str, ca: Option<&str>) -> Result<TlsMode, String> {
        let ca_file = || {
            ca.map(PathBuf::from).ok_or_else(|| {
                format!("target_tls = {word} needs target_tls_ca: the CA certificates (PEM) to verify the server with")
            })
        };
        match word {
            "off" => Ok(TlsMode::Off),
            "required" => Ok(TlsMode::Required),
            "verify-ca" => ca_file().map(TlsMode::VerifyCa),
            "verify-identity" => ca_file().map(TlsMode::VerifyIdentity),
            other => Err(format!(
                "target_tls = {other}: one of off, required, verify-ca, verify-identity"
            )),
        }
    }

    /// The connection options of this mode; `None` for plain TCP.
    pub(super) fn ssl_opts(&self) -> Option<SslOpts> {
        let verified = |ca: &PathBuf| {
            SslOpts::default()
                .with_root_certs(vec![ca.clone().into()])
                .with_disable_built_in_roots(true)
        };
        let opts = match self {
            TlsMode::Off => return None,
            TlsMode::Required => SslOpts::default()
                .with_danger_accept_invalid_certs(true)
                .with_danger_skip_domain_validation(true),
            TlsMode::VerifyCa(ca) => verified(ca).with_danger_skip_domain_validation(true),
            TlsMode::VerifyIdentity(ca) => verified(ca),
        };
        // rustls needs one process-wide crypto provider, and this build links two (ring and
        // aws-lc-rs, through other crates): pick one before the first handshake. Installing
        // twice is harmless.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        Some(opts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_read_mysql_words_and_verification_needs_a_ca() {
        assert_eq!(TlsMode::new("off", None), Ok(TlsMode::Off));
        assert_eq!(TlsMode::new("required", None), Ok(TlsMode::Required));
        let ca = Some("/etc/rds/global-bundle.pem");
        let path = PathBuf::from("/etc/rds/global-bundle.pem");
        assert_eq!(
            TlsMode::new("verify-ca", ca),
            Ok(TlsMode::VerifyCa(path.clone()))
        );
        assert_eq!(
            TlsMode::new("verify-identity", ca),
            Ok(TlsMode::VerifyIdentity(path))
        );
        let error = TlsMode::new("verify-identity", None).unwrap_err();
        assert!(error.contains("needs target_tls_ca"), "{error}");
        assert!(
            TlsMode::new("preferred", None)
                .unwrap_err()
                .contains("one of off")
        );
        assert!(TlsMode::Off.ssl_opts().is_none());
        assert!(
            TlsMode::Required
                .ssl_opts()
                .is_some_and(|o| o.accept_invalid_certs())
        );
    }
}
