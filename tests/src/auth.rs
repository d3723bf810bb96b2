//! API keys: each kind's protected routes answer 401, in the API's error shape, unless the
//! `Authorization` header carries the expected key in that API's form.

use axum::extract::Request;
use axum::http::header::AUTHORIZATION;
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::Router;

use crate::errors::error_response;
use crate::SubnetKind;

/// `router` with every route behind `kind`'s key check.
pub(crate) fn require_key<S: Clone + Send + Sync + 'static>(router: Router<S>, kind: SubnetKind) -> Router<S> {
    router.route_layer(middleware::from_fn(move |request: Request, next: Next| async move {
        let presented = request.headers().get(AUTHORIZATION).and_then(|value| value.to_str().ok());
        // Exact comparison on purpose: Desearch refuses `Bearer <key>`, the others refuse a bare key.
        if presented == Some(kind.authorization().as_str()) {
            next.run(request).await
        } else {
            error_response(kind, StatusCode::UNAUTHORIZED, "Missing or invalid API key")
        }
    }))
}
