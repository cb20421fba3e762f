//! HTTP answers never show where the server keeps its folders.
//!
//! Ledger entries and error messages name objects by location: on a local deployment that is
//! an absolute path (`file:///srv/csvgate/invalid/jobs-….csv`, or `/srv/csvgate/...` in a
//! message from the store), which tells a client how the server's disk is laid out. Every JSON
//! answer passes through [`hide`], which writes each local folder of the deployment by its role
//! instead (`invalid/jobs-….csv`). S3 locations are left as they are: bucket names are what
//! operators and clients share. The command line and the logs keep the full paths.

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::Api;
use crate::store::Location;

/// Local folders' texts and what answers show instead, longest first (a folder's URL holds
/// its path, and folders may nest).
#[derive(Debug, Clone, Default)]
pub struct PublicPaths {
    replacements: Vec<(String, String)>,
}

impl PublicPaths {
    /// The local ones of `locations`, each shown as its role (`landing`, `invalid`, …).
    pub fn of(locations: &[(&str, &Location)]) -> PublicPaths {
        let mut replacements = Vec::new();
        for (role, location) in locations {
            let Ok(path) = location.url.to_file_path() else {
                continue;
            };
            let path = path.display().to_string();
            let folder = path.trim_end_matches('/').to_owned();
            if folder.is_empty() {
                continue;
            }
            replacements.push((location.url.to_string(), format!("{role}/")));
            replacements.push((format!("{folder}/"), format!("{role}/")));
            replacements.push((folder, (*role).to_owned()));
        }
        replacements.sort_by_key(|(local, _)| std::cmp::Reverse(local.len()));
        PublicPaths { replacements }
    }

    /// `text` with every local folder written by its role.
    pub fn apply(&self, text: &str) -> String {
        let mut shown = text.to_owned();
        for (local, public) in &self.replacements {
            if shown.contains(local.as_str()) {
                shown = shown.replace(local.as_str(), public);
            }
        }
        shown
    }
}

/// Rewrites the local folders in a JSON answer (built in memory, so read whole at no extra
/// cost); other answers (CSV reports) hold no paths and pass as they are.
pub async fn hide(State(api): State<Api>, request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let is_json = (response.headers().get(header::CONTENT_TYPE))
        .is_some_and(|kind| kind.as_bytes().starts_with(b"application/json"));
    if !is_json || api.public_paths.replacements.is_empty() {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let shown = api.public_paths.apply(&String::from_utf8_lossy(&bytes));
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(shown))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_folders_are_shown_by_role_and_s3_ones_as_they_are() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().display().to_string();
        let invalid = Location::parse(&format!("{root}/invalid"), true).unwrap();
        let warehouse = Location::parse(&format!("{root}/invalid/nested"), true).unwrap();
        let paths = PublicPaths::of(&[("invalid", &invalid), ("warehouse", &warehouse)]);
        let message = format!(
            "{{\"invalid_object\":\"file://{root}/invalid/jobs-1.csv\",\
             \"error\":\"{root}/invalid/nested/jobs: no such file; see s3://invalid-data/x.csv; {root}/invalid\"}}"
        );
        assert_eq!(
            paths.apply(&message),
            "{\"invalid_object\":\"invalid/jobs-1.csv\",\
             \"error\":\"warehouse/jobs: no such file; see s3://invalid-data/x.csv; invalid\"}"
        );
    }
}
