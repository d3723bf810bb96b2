//! API errors: a status, a stable machine-readable code and a message for people.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use ledger::{AttestError, CreditError, DiffError, Error};
use serde_json::json;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Headers the answer carries besides the body, such as `PAYMENT-REQUIRED` on a 402.
    pub headers: Vec<(&'static str, String)>,
    /// Structured facts about the error, such as what an orchestration did before it failed.
    pub details: Option<serde_json::Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into(), headers: Vec::new(), details: None }
    }

    pub fn with_details(mut self, details: serde_json::Value) -> ApiError {
        self.details = Some(details);
        self
    }

    /// Adds `payment` (what a failed paid request cost, and what is left) to the details.
    pub fn with_payment(mut self, payment: serde_json::Value) -> ApiError {
        let mut details = self.details.take().unwrap_or_else(|| serde_json::json!({}));
        details["payment"] = payment;
        self.details = Some(details);
        self
    }

    pub fn with_header(mut self, name: &'static str, value: String) -> ApiError {
        self.headers.push((name, value));
        self
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }

    pub fn poisoned() -> ApiError {
        ApiError::internal("an earlier request failed while holding the ledger; restart the node")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(code = self.code, message = %self.message, "request failed");
        }
        let mut error = json!({ "code": self.code, "message": self.message });
        if let Some(details) = self.details {
            error["details"] = details;
        }
        let mut response = (self.status, Json(json!({ "error": error }))).into_response();
        for (name, value) in self.headers {
            if let Ok(value) = axum::http::HeaderValue::from_str(&value) {
                response.headers_mut().insert(name, value);
            }
        }
        response
    }
}

impl From<Error> for ApiError {
    fn from(error: Error) -> ApiError {
        let message = error.to_string();
        let (status, code) = match &error {
            Error::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Error::UnknownVersion { .. } => (StatusCode::NOT_FOUND, "unknown_version"),
            Error::Pruned { .. } => (StatusCode::GONE, "pruned"),
            Error::ReversedRange { .. } => (StatusCode::BAD_REQUEST, "bad_range"),
            Error::Key(_) => (StatusCode::BAD_REQUEST, "bad_key"),
            Error::EmptyCommit => (StatusCode::UNPROCESSABLE_ENTITY, "empty_change"),
            Error::ValueTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "value_too_large"),
            Error::Record(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_record"),
            Error::Diff(DiffError::Conflict { .. }) => (StatusCode::CONFLICT, "conflict"),
            Error::Diff(DiffError::Signature(_)) => (StatusCode::UNAUTHORIZED, "bad_signature"),
            Error::Diff(DiffError::NotAdmin { .. }) => (StatusCode::FORBIDDEN, "not_admin"),
            Error::Diff(DiffError::UnknownProposer { .. }) => (StatusCode::FORBIDDEN, "unknown_proposer"),
            Error::Diff(DiffError::NotProposed { .. }) => (StatusCode::CONFLICT, "not_proposed"),
            Error::Diff(DiffError::TooManyChanges { .. } | DiffError::TooLarge { .. }) => (StatusCode::PAYLOAD_TOO_LARGE, "diff_too_large"),
            Error::Diff(DiffError::BaseInFuture { .. } | DiffError::BaseRootMismatch { .. }) => (StatusCode::CONFLICT, "bad_base"),
            Error::Diff(DiffError::Empty) => (StatusCode::UNPROCESSABLE_ENTITY, "empty_change"),
            Error::Attest(AttestError::NotAMember { .. }) => (StatusCode::FORBIDDEN, "not_a_validator"),
            Error::Attest(AttestError::Signature(_)) => (StatusCode::UNAUTHORIZED, "bad_signature"),
            Error::Attest(AttestError::WrongCheckpoint { .. }) => (StatusCode::CONFLICT, "wrong_checkpoint"),
            Error::Snapshot(_) | Error::Codec(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            Error::Credit(CreditError::UnknownKey) => (StatusCode::UNAUTHORIZED, "unknown_api_key"),
            Error::Credit(CreditError::Insufficient { .. }) => (StatusCode::PAYMENT_REQUIRED, "insufficient_credit"),
            Error::Credit(CreditError::Overflow { .. }) => (StatusCode::BAD_REQUEST, "bad_request"),
            Error::NotInitialised(_)
            | Error::AlreadyInitialised(_)
            | Error::NotALedger(_)
            | Error::UnsupportedFormat { .. }
            | Error::RootMismatch { .. }
            | Error::ReplicaDiverged { .. }
            | Error::Corrupt(_)
            | Error::Filesystem { .. }
            | Error::NoRandomness(_)
            | Error::Storage(_)
            | Error::Genesis(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        ApiError::new(status, code, message)
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> ApiError {
        let code = match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            _ => "bad_json",
        };
        ApiError::new(rejection.status(), code, rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_query", rejection.body_text())
    }
}

pub async fn no_route() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no_route", "no such route; the API is described at /openapi.json")
}
