//! SSM Parameter Store as the lowest configuration layer: the MySQL target's host, port,
//! database name, user and password, as the first AWS version kept them (`/globant/db/host`, …).
//!
//! Every parameter below the prefix is read with one paginated `GetParametersByPath` (a page
//! holds at most 10), decrypted, once per process: a warm Lambda or a long-lived server asks
//! SSM only at its first deployment. A failed read is not kept, so the next one tries again.
//! Errors name the parameter and never its value.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use aws_sdk_ssm::config::http::HttpResponse;
use aws_sdk_ssm::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ssm::operation::get_parameters_by_path::GetParametersByPathError;
use aws_sdk_ssm::types::ParameterType;
use tokio::sync::OnceCell;

use super::{Config, Key};

/// `[ssm]`: the names, below the prefix, of the database parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsmNames {
    pub host: String,
    /// Optional in SSM: 3306 when absent.
    pub port: String,
    /// The database (schema) name.
    pub name: String,
    /// Must be a SecureString.
    pub user: String,
    /// Must be a SecureString.
    pub password: String,
}

impl Default for SsmNames {
    fn default() -> SsmNames {
        Config::defaults().ssm_names()
    }
}

impl Config {
    pub fn ssm_names(&self) -> SsmNames {
        let name = |key| self.value(key).to_owned();
        SsmNames {
            host: name(Key::SsmHost),
            port: name(Key::SsmPort),
            name: name(Key::SsmName),
            user: name(Key::SsmUser),
            password: name(Key::SsmPassword),
        }
    }
}

/// Why the parameters could not be used. Values never appear here.
#[derive(Debug, thiserror::Error)]
pub enum SsmError {
    #[error(
        "SSM parameter {parameter} is missing: create it with `aws ssm put-parameter --name {parameter} --type {kind} --value …`, or name another in [ssm] of csvgate.toml"
    )]
    Missing {
        parameter: String,
        kind: &'static str,
    },
    #[error(
        "SSM parameter {parameter} is a {found}, expected a {expected}: store it again with `aws ssm put-parameter --name {parameter} --type {expected} --overwrite`"
    )]
    WrongType {
        parameter: String,
        found: String,
        expected: &'static str,
    },
    #[error("SSM parameter {0} is not a port number (1-65535)")]
    NotAPort(String),
    #[error(
        "SSM: reading the parameters under {prefix} was denied ({code}): the role needs ssm:GetParametersByPath on that path and kms:Decrypt on their key"
    )]
    Denied { prefix: String, code: String },
    #[error("SSM: reading the parameters under {prefix}: {message}{hint}")]
    Request {
        prefix: String,
        message: String,
        hint: &'static str,
    },
}

/// The database settings SSM holds.
pub struct DatabaseParameters {
    /// `mysql://user@host:port/name`, without the password.
    pub url: String,
    pub password: String,
}

impl std::fmt::Debug for DatabaseParameters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseParameters")
            .field("url", &self.url)
            .field("password", &"****")
            .finish()
    }
}

/// One parameter as SSM returned it.
struct Parameter {
    kind: ParameterType,
    value: String,
}

/// Every parameter below one prefix, by full name.
type Parameters = HashMap<String, Parameter>;

/// Reads (once per process and prefix) the database parameters named `names` below `prefix`.
pub async fn database(prefix: &str, names: &SsmNames) -> Result<DatabaseParameters, SsmError> {
    // SSM refuses a path with a trailing slash; `/globant/db/` is what users write, too.
    let prefix = match prefix.trim_end_matches('/') {
        "" => "/",
        trimmed => trimmed,
    };
    let parameters = fetched(prefix).await?;
    Prefixed {
        prefix,
        parameters: &parameters,
    }
    .database(names)
}

/// The parameters of one prefix once fetched; callers meanwhile wait on the first one's fetch.
type Fetching = Arc<OnceCell<Arc<Parameters>>>;

/// The parameters below `prefix`, fetched by the first caller of this process.
async fn fetched(prefix: &str) -> Result<Arc<Parameters>, SsmError> {
    static FETCHED: LazyLock<Mutex<HashMap<String, Fetching>>> = LazyLock::new(Mutex::default);
    let cell = {
        let mut fetched = FETCHED.lock().expect("no panic while holding the lock");
        fetched.entry(prefix.to_owned()).or_default().clone()
    };
    cell.get_or_try_init(|| async { fetch(prefix).await.map(Arc::new) })
        .await
        .cloned()
}

/// An SSM client with the standard AWS chain (credentials, region, and `AWS_ENDPOINT_URL_SSM`
/// / `AWS_ENDPOINT_URL` for a local server).
pub(crate) async fn client() -> aws_sdk_ssm::Client {
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    aws_sdk_ssm::Client::new(&sdk)
}

/// One `GetParametersByPath` walk, with the standard AWS chain (credentials, region, and
/// `AWS_ENDPOINT_URL_SSM` / `AWS_ENDPOINT_URL` for a local server).
async fn fetch(prefix: &str) -> Result<Parameters, SsmError> {
    let mut pages = client()
        .await
        .get_parameters_by_path()
        .path(prefix)
        .recursive(true)
        .with_decryption(true)
        .max_results(10)
        .into_paginator()
        .send();
    let mut parameters = Parameters::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| request_error(prefix, error))?;
        for parameter in page.parameters.unwrap_or_default() {
            if let (Some(name), Some(kind), Some(value)) =
                (parameter.name, parameter.r#type, parameter.value)
            {
                parameters.insert(name, Parameter { kind, value });
            }
        }
    }
    tracing::info!(prefix, parameters = parameters.len(), "read SSM parameters");
    Ok(parameters)
}

fn request_error(
    prefix: &str,
    error: SdkError<GetParametersByPathError, HttpResponse>,
) -> SsmError {
    // AWS answers a refusal with a JSON `AccessDeniedException`; other servers (moto) with a
    // bare 403 whose body the SDK cannot read.
    let status = error
        .raw_response()
        .map(|response| response.status().as_u16());
    let code = match (error.code(), status) {
        (Some(code), _) => code.to_owned(),
        (None, Some(status)) => format!("HTTP {status}"),
        (None, None) => String::new(),
    };
    if code.contains("AccessDenied") || code.contains("Unrecognized") || status == Some(403) {
        return SsmError::Denied {
            prefix: prefix.to_owned(),
            code,
        };
    }
    let message = causes(&error);
    let hint = if message.to_lowercase().contains("missing region") {
        " (set AWS_REGION)"
    } else if message.contains("credentials") {
        " (no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or give the process a role)"
    } else if matches!(
        error,
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_)
    ) {
        " (the endpoint cannot be reached: check AWS_ENDPOINT_URL_SSM / AWS_ENDPOINT_URL and the network)"
    } else {
        ""
    };
    SsmError::Request {
        prefix: prefix.to_owned(),
        message,
        hint,
    }
}

/// An error and its sources, each once, without the `(DispatchFailure(…))` dumps some of the
/// SDK's messages append: the SDK's own Display of the top error says only "dispatch failure".
fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut message = String::new();
    let mut next = Some(error);
    while let Some(cause) = next {
        let text = cause.to_string();
        let text = match text.find(" (") {
            Some(at) if text[at + 2..].starts_with(|c: char| c.is_ascii_uppercase()) => {
                text[..at].to_owned()
            }
            _ => text,
        };
        if !message.contains(&text) {
            message = match message.is_empty() {
                true => text,
                false => format!("{message}: {text}"),
            };
        }
        next = cause.source();
    }
    message
}

/// The parameters of one prefix, looked up by their short names.
struct Prefixed<'a> {
    prefix: &'a str,
    parameters: &'a Parameters,
}

impl Prefixed<'_> {
    fn database(&self, names: &SsmNames) -> Result<DatabaseParameters, SsmError> {
        let host = self.plain(&names.host)?;
        let port = match self.optional(&names.port, None)? {
            None => 3306,
            Some(port) => port
                .parse::<u16>()
                .ok()
                .filter(|port| *port > 0)
                .ok_or_else(|| SsmError::NotAPort(self.full(&names.port)))?,
        };
        let name = self.plain(&names.name)?;
        let user = self.secure(&names.user)?;
        let password = self.secure(&names.password)?;
        let mut url = url::Url::parse(&format!("mysql://{host}:{port}/")).map_err(|_| {
            SsmError::WrongType {
                parameter: self.full(&names.host),
                found: "value that is not a host name".into(),
                expected: "String",
            }
        })?;
        let _ = url.set_username(user);
        url.set_path(name);
        Ok(DatabaseParameters {
            url: url.to_string(),
            password: password.to_owned(),
        })
    }

    fn full(&self, name: &str) -> String {
        format!("{}/{name}", self.prefix.trim_end_matches('/'))
    }

    /// A String or SecureString parameter.
    fn plain(&self, name: &str) -> Result<&str, SsmError> {
        self.optional(name, None)?
            .ok_or_else(|| self.missing(name, "String"))
    }

    /// A SecureString: a secret stored as plain text is refused, not used.
    fn secure(&self, name: &str) -> Result<&str, SsmError> {
        self.optional(name, Some(ParameterType::SecureString))?
            .ok_or_else(|| self.missing(name, "SecureString"))
    }

    fn missing(&self, name: &str, kind: &'static str) -> SsmError {
        SsmError::Missing {
            parameter: self.full(name),
            kind,
        }
    }

    /// The value of `name`, which must be of type `only` when given, else not a StringList.
    fn optional(&self, name: &str, only: Option<ParameterType>) -> Result<Option<&str>, SsmError> {
        let full = self.full(name);
        let Some(parameter) = self.parameters.get(&full) else {
            return Ok(None);
        };
        let expected = match &only {
            Some(_) => "SecureString",
            None => "String",
        };
        let fits = match &only {
            Some(only) => parameter.kind == *only,
            None => parameter.kind != ParameterType::StringList,
        };
        match fits {
            true => Ok(Some(&parameter.value)),
            false => Err(SsmError::WrongType {
                parameter: full,
                found: parameter.kind.as_str().to_owned(),
                expected,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parameters(entries: &[(&str, ParameterType, &str)]) -> Parameters {
        entries
            .iter()
            .map(|(name, kind, value)| {
                let parameter = Parameter {
                    kind: kind.clone(),
                    value: (*value).to_owned(),
                };
                (format!("/hr/db/{name}"), parameter)
            })
            .collect()
    }

    #[test]
    fn the_url_is_built_from_the_parameters_and_secrets_must_be_secure() {
        use ParameterType::{SecureString as Secure, String as Plain};
        let mut all = parameters(&[
            ("host", Plain, "db.internal"),
            ("name", Plain, "hr"),
            ("user", Secure, "app@hr"),
            ("password", Secure, "pw-7"),
        ]);
        let names = SsmNames::default();
        let read = |all: &Parameters| {
            Prefixed {
                prefix: "/hr/db/",
                parameters: all,
            }
            .database(&names)
        };
        let database = read(&all).unwrap();
        assert_eq!(database.url, "mysql://app%40hr@db.internal:3306/hr");
        assert!(!format!("{database:?}").contains("pw-7"));

        all.get_mut("/hr/db/password").unwrap().kind = Plain;
        let error = read(&all).unwrap_err().to_string();
        assert!(
            error.contains("/hr/db/password is a String, expected a SecureString"),
            "{error}"
        );
        assert!(!error.contains("pw-7"), "{error}");

        all.remove("/hr/db/password");
        let error = read(&all).unwrap_err().to_string();
        assert!(
            error.starts_with("SSM parameter /hr/db/password is missing"),
            "{error}"
        );
    }
}
