//! rmail's integration tests: one binary, one module per capability a user sees. Each test
//! runs the real `rmail` binary in a sealed environment against real servers on 127.0.0.1
//! (see `support`).

// Tests fail by panicking: unwrap and expect are how they say so.
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

mod support;

mod cli;
mod dkim;
mod faults;
mod harness;
mod headers;
mod load;
mod merge;
mod oauth;
mod packaging;
mod queue;
mod queue_log;
mod resolve;
mod send;
mod sendmail;
mod sent;
mod session;
mod template;
mod tls;
