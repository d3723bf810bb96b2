//! `POST /v1/served`: a validator of the subnet asks which subnet answers a miner's node received
//! for its customers (see [`subnet::served`]); the answer is signed by the miner for that
//! validator.
//! A node that is not a miner keeps no served log: 404.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use subnet::served::{ServedAnswer, ServedQuery, MAX_QUERY_KEYS};

use super::error::{ApiError, Code};
use super::AppState;

pub async fn served(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    let miner = state.miner().ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, Code::NotFound, "this node is not a miner of the subnet: it keeps no served log"))?;
    let validator = miner.challenger(&headers, &body)?;
    let answer = async {
        let Json(query) = Json::<ServedQuery>::from_bytes(&body)?;
        let held = miner.served().held(&query).ok_or_else(|| ApiError::new(StatusCode::BAD_REQUEST, Code::BadRequest, format!("a query names at most {MAX_QUERY_KEYS} bodies")))?;
        Ok::<_, ApiError>(Json(ServedAnswer { held }).into_response())
    };
    let response = answer.await.unwrap_or_else(IntoResponse::into_response);
    Ok(miner.sign(response, &validator).await)
}
