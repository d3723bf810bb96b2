//! What the crate's tests share.

use orchestrator::outbound::{Guard, Policy};

/// The outbound guard of a node whose subnets are the test kit's servers on 127.0.0.1.
pub fn loopback_guard() -> Guard {
    Guard::new(Policy::loopback()).expect("an HTTP client")
}
