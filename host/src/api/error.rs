//! API errors: a status and `{"error": {"code", "message", "path"}}`, where
//! `path` names the field at fault when there is one.

use crate::engine::requests::{ExplainError, ManualError};
use crate::engine::IngestError;
use crate::rules::repo::RepoError;
use http::StatusCode;
use serde_json::{json, Value};

/// An error answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code (`bad_request`, `not_found`, ...).
    pub code: &'static str,
    /// What went wrong, for a person.
    pub message: String,
    /// The field at fault (`actions[2].settings.url`), when known.
    pub path: Option<String>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            path: None,
        }
    }

    /// 400 about one field.
    pub fn invalid(path: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError {
            path: Some(path.into()),
            ..Self::new(StatusCode::BAD_REQUEST, "invalid", message)
        }
    }

    /// 400 about the request as a whole.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 401: no token, or one that is not known.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid bearer token is required (Authorization: Bearer <token>)",
        )
    }

    /// 403: the token's role may not do this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 404 for a resource.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 404 for a path no route serves.
    pub fn no_route(method: &str, path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "no_route",
            format!("no route for {method} {path}; see /v1/openapi.json"),
        )
    }

    /// 405: the path exists with other methods.
    pub fn method_not_allowed(allowed: &[&str]) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("use {}", allowed.join(", ")),
        )
    }

    /// 409.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// 413.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the body is larger than the limit of {limit} bytes"),
        )
    }

    /// 503: the request took longer than the server's request timeout.
    pub fn timeout(ms: u64) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            format!("the request did not finish within {ms} ms"),
        )
    }

    /// 500; the cause is logged, the message stays generic.
    pub fn internal(e: impl std::fmt::Display) -> Self {
        tracing::error!("API request failed: {e}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("internal error: {e}"),
        )
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        json!({"error": {"code": self.code, "message": self.message, "path": self.path}})
    }
}

impl From<RepoError> for ApiError {
    fn from(e: RepoError) -> Self {
        match e {
            RepoError::NotFound(_) => ApiError::not_found(e.to_string()),
            RepoError::Exists(_) => ApiError::conflict(e.to_string()),
            RepoError::Invalid(r) => ApiError::invalid(r.path.clone(), r.to_string()),
            RepoError::Duplicate { index, .. } => {
                ApiError::invalid(format!("rules[{index}].id"), e.to_string())
            }
            RepoError::Store(_) => ApiError::internal(e),
        }
    }
}

impl From<IngestError> for ApiError {
    fn from(e: IngestError) -> Self {
        match e {
            IngestError::Invalid(ev) => ApiError::invalid(ev.field.clone(), ev.to_string()),
            IngestError::Storage(_) => ApiError::internal(e),
        }
    }
}

impl From<ExplainError> for ApiError {
    fn from(e: ExplainError) -> Self {
        match e {
            ExplainError::Event(ev) => {
                ApiError::invalid(format!("event.{}", ev.field), ev.to_string())
            }
            ExplainError::Rule(r) => r.into(),
        }
    }
}

impl From<ManualError> for ApiError {
    fn from(e: ManualError) -> Self {
        match e {
            ManualError::Rule(r) => r.into(),
            ManualError::Ingest(i) => i.into(),
            ManualError::NotManual { .. } | ManualError::Disabled(_) => {
                ApiError::conflict(e.to_string())
            }
        }
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        ApiError::internal(format!("{e:#}"))
    }
}

/// Parses a JSON body into `T`; errors name the path of the bad field
/// (`actions[0].mode`) and say what was wrong.
pub fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.is_empty() {
        return Err(ApiError::bad_request("the body is empty; send JSON"));
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(v) => {
            de.end()
                .map_err(|e| ApiError::bad_request(format!("malformed JSON: {e}")))?;
            Ok(v)
        }
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if inner.is_syntax() || inner.is_eof() {
                Err(ApiError::bad_request(format!("malformed JSON: {inner}")))
            } else {
                let path = if path == "." { String::new() } else { path };
                Err(ApiError {
                    path: Some(path),
                    ..ApiError::new(StatusCode::BAD_REQUEST, "invalid", inner.to_string())
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct T {
        a: Vec<U>,
    }

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct U {
        n: u32,
    }

    #[test]
    fn parse_names_the_path_of_the_bad_field() {
        let e = parse::<T>(br#"{"a": [{"n": 1}, {"n": "x"}]}"#).unwrap_err();
        assert_eq!(e.path.as_deref(), Some("a[1].n"));
        assert_eq!(e.code, "invalid");
        let e = parse::<T>(br#"{"a": [], "b": 1}"#).unwrap_err();
        assert!(e.message.contains("unknown field `b`"), "{}", e.message);
        let e = parse::<T>(br#"{"a": ["#).unwrap_err();
        assert_eq!(e.code, "bad_request");
        assert!(e.message.starts_with("malformed JSON"), "{}", e.message);
        let e = parse::<T>(b"").unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
    }
}
