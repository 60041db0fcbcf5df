//! Configuration: where the files are, what the TOML says, and the resolved profiles.
//!
//! `file` reads and checks the TOML (errors name the file, line and key); `profile` turns a
//! `[profiles.NAME]` table, its provider preset and the command line into a resolved
//! [`profile::Profile`]; nothing after this stage sees a raw config table.

pub(crate) mod dirs;
pub(crate) mod file;
pub(crate) mod oauth;
pub(crate) mod profile;
pub(crate) mod provider;
pub(crate) mod secret;
