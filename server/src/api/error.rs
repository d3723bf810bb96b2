//! API errors: a status, a stable machine-readable code and a message for people.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use ledger::{AttestError, CreditError, DiffError, Error, PoolError};
use serde_json::json;

pub use super::codes::Code;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: Code,
    pub message: String,
    /// Headers the answer carries besides the body, such as `PAYMENT-REQUIRED` on a 402.
    pub headers: Vec<(&'static str, String)>,
    /// Structured facts about the error, such as what an orchestration did before it failed.
    pub details: Option<serde_json::Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: Code, message: impl Into<String>) -> ApiError {
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
        ApiError::new(StatusCode::BAD_REQUEST, Code::BadRequest, message)
    }

    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, Code::Internal, message)
    }

    pub fn poisoned() -> ApiError {
        ApiError::internal("an earlier request failed while holding the ledger; restart the node")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(code = self.code.as_str(), message = %self.message, "request failed");
        }
        let mut error = json!({ "code": self.code.as_str(), "message": self.message });
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
            Error::NotFound(_) => (StatusCode::NOT_FOUND, Code::NotFound),
            Error::UnknownVersion { .. } => (StatusCode::NOT_FOUND, Code::UnknownVersion),
            Error::Pruned { .. } => (StatusCode::GONE, Code::Pruned),
            Error::ReversedRange { .. } => (StatusCode::BAD_REQUEST, Code::BadRange),
            Error::Key(_) => (StatusCode::BAD_REQUEST, Code::BadKey),
            Error::EmptyCommit => (StatusCode::UNPROCESSABLE_ENTITY, Code::EmptyChange),
            Error::ValueTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, Code::ValueTooLarge),
            Error::Record(_) => (StatusCode::UNPROCESSABLE_ENTITY, Code::InvalidRecord),
            Error::Diff(DiffError::Conflict { .. }) => (StatusCode::CONFLICT, Code::Conflict),
            Error::Diff(DiffError::Signature(_)) => (StatusCode::UNAUTHORIZED, Code::BadSignature),
            Error::Diff(DiffError::NotAdmin { .. }) => (StatusCode::FORBIDDEN, Code::NotAdmin),
            Error::Diff(DiffError::UnknownProposer { .. }) => (StatusCode::FORBIDDEN, Code::UnknownProposer),
            Error::Diff(DiffError::NotProposed { .. }) => (StatusCode::CONFLICT, Code::NotProposed),
            Error::Diff(DiffError::TooManyChanges { .. } | DiffError::TooLarge { .. }) => (StatusCode::PAYLOAD_TOO_LARGE, Code::DiffTooLarge),
            Error::Diff(DiffError::BaseInFuture { .. } | DiffError::BaseRootMismatch { .. }) => (StatusCode::CONFLICT, Code::BadBase),
            Error::Diff(DiffError::Empty) => (StatusCode::UNPROCESSABLE_ENTITY, Code::EmptyChange),
            Error::Attest(AttestError::NotAMember { .. }) => (StatusCode::FORBIDDEN, Code::NotAValidator),
            Error::Attest(AttestError::Signature(_)) => (StatusCode::UNAUTHORIZED, Code::BadSignature),
            Error::Attest(AttestError::WrongCheckpoint { .. }) => (StatusCode::CONFLICT, Code::WrongCheckpoint),
            Error::Pool(PoolError::Unknown(_)) => (StatusCode::NOT_FOUND, Code::UnknownProposal),
            Error::Pool(PoolError::NotAMember { .. }) => (StatusCode::FORBIDDEN, Code::NotAValidator),
            Error::Pool(PoolError::Signature(_)) => (StatusCode::UNAUTHORIZED, Code::BadSignature),
            Error::Pool(PoolError::Full | PoolError::ProposerFull { .. }) => (StatusCode::TOO_MANY_REQUESTS, Code::ProposalsFull),
            Error::Snapshot(_) | Error::Codec(_) => (StatusCode::BAD_REQUEST, Code::BadRequest),
            Error::Credit(CreditError::UnknownKey) => (StatusCode::UNAUTHORIZED, Code::UnknownApiKey),
            Error::Credit(CreditError::Insufficient { .. }) => (StatusCode::PAYMENT_REQUIRED, Code::InsufficientCredit),
            Error::Credit(CreditError::DailyCap { .. }) => (StatusCode::PAYMENT_REQUIRED, Code::DailyCapReached),
            Error::Credit(CreditError::Overflow { .. }) => (StatusCode::BAD_REQUEST, Code::BadRequest),
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
            | Error::Genesis(_) => (StatusCode::INTERNAL_SERVER_ERROR, Code::Internal),
        };
        ApiError::new(status, code, message)
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> ApiError {
        let code = match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => Code::BodyTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Code::UnsupportedMediaType,
            _ => Code::BadJson,
        };
        ApiError::new(rejection.status(), code, rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, Code::BadQuery, rejection.body_text())
    }
}

pub async fn no_route() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, Code::NoRoute, "no such route; the API is described at /openapi.json")
}
