//! rmail: send email from the command line.
//!
//! Data flows one way, one folder per stage (see ARCHITECTURE.md):
//! `cli` (clap) → `settings` (the resolve step: command line + `config` → one request per
//! command) → `message` (spec) → `mime` (bytes) → `smtp` (the session) → `delivery` (deliver
//! or keep, outbox, merge) → `report` (what the user sees). `commands` is the glue that runs a
//! request through the stages; only it and `report` print.

pub mod cli;
mod commands;
mod config;
mod delivery;
mod digest;
mod error;
mod imap;
mod message;
mod mime;
mod oauth;
mod private;
mod report;
mod settings;
mod smtp;
mod tcp;
mod template;
mod time;
mod trace;

pub use error::{Error, ErrorKind, Result};
pub use report::Report;

/// Runs one command line to completion: resolve everything, then carry it out.
pub fn run(cli: cli::Cli) -> Result<Report> {
    let resolved = settings::resolve(cli)?;
    commands::run(resolved)
}

/// Entry points for the fuzz targets in `fuzz/`; not part of rmail's interface.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::fuzz_api::*;
}

mod fuzz_api;
