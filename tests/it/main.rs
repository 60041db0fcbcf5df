//! rmail's integration tests: one binary, one module per capability a user sees. Each test
//! runs the real `rmail` binary in a sealed environment against real servers on 127.0.0.1
//! (see `support`).

// Tests fail by panicking: unwrap and expect are how they say so.
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

mod support;

mod cli;
mod confine;
mod cron;
mod dkim;
mod faults;
mod harness;
mod headers;
mod injection;
mod input;
mod interactive;
mod journal;
mod lifecycle;
mod load;
mod merge;
mod messages;
mod oauth;
mod oneoff;
mod packaging;
mod preview;
mod private;
mod queue;
mod queue_log;
mod resolve;
mod send;
mod sendmail;
mod sent;
mod session;
mod template;
mod tls;
