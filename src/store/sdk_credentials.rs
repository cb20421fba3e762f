//! Credentials of AWS profiles that do not state keys outright — a role to assume
//! (`role_arn` with `source_profile`), SSO, or a `credential_process` — through the AWS SDK's
//! profile provider, for object_store's S3 client.
//!
//! Temporary credentials are kept until five minutes before they expire, so a process does not
//! run a credential process or call STS for every request.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_config::profile::ProfileFileCredentialsProvider;
use aws_sdk_ssm::config::ProvideCredentials;
use datafusion::object_store::CredentialProvider;
use datafusion::object_store::aws::AwsCredential;
use tokio::sync::Mutex;

/// How long before their expiry kept credentials are renewed.
const RENEW_BEFORE: Duration = Duration::from_secs(300);

/// The profile `AWS_PROFILE` (or `default`) as object_store's credential source.
#[derive(Debug)]
pub(super) struct ProfileCredentials {
    profile: ProfileFileCredentialsProvider,
    kept: Mutex<Option<(Arc<AwsCredential>, Option<SystemTime>)>>,
}

impl ProfileCredentials {
    pub(super) fn new() -> ProfileCredentials {
        ProfileCredentials {
            profile: ProfileFileCredentialsProvider::builder().build(),
            kept: Mutex::new(None),
        }
    }
}

#[async_trait::async_trait]
impl CredentialProvider for ProfileCredentials {
    type Credential = AwsCredential;

    async fn get_credential(&self) -> datafusion::object_store::Result<Arc<AwsCredential>> {
        let mut kept = self.kept.lock().await;
        if let Some((credential, expiry)) = kept.as_ref() {
            let fresh = expiry.is_none_or(|expiry| SystemTime::now() + RENEW_BEFORE < expiry);
            if fresh {
                return Ok(Arc::clone(credential));
            }
        }
        let provided = self.profile.provide_credentials().await.map_err(|error| {
            datafusion::object_store::Error::Generic {
                store: "S3",
                source: format!("AWS profile credentials: {error}").into(),
            }
        })?;
        let credential = Arc::new(AwsCredential {
            key_id: provided.access_key_id().to_owned(),
            secret_key: provided.secret_access_key().to_owned(),
            token: provided.session_token().map(str::to_owned),
        });
        *kept = Some((Arc::clone(&credential), provided.expiry()));
        Ok(credential)
    }
}
