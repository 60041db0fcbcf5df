//! `rmail queue`: the outbox; and rmail invoked as `mailq`.

use clap::{Parser, Subcommand};

use crate::cli::GlobalArgs;

/// rmail invoked as `mailq` (argv\[0\]), as sendmail-compatible mailers provide it: the
/// same as `rmail queue list` (and `sendmail -bp`).
#[derive(Debug, Parser)]
#[command(
    name = "mailq",
    disable_version_flag = true,
    about = "rmail as mailq: list the messages kept in the outbox (same as `rmail queue list`)"
)]
pub struct MailqCli {
    #[command(flatten)]
    pub global: GlobalArgs,
}

/// `rmail queue` subcommands.
#[derive(Debug, Subcommand)]
pub enum QueueCommand {
    /// Show every kept message: id, age, recipients, last error
    #[command(after_help = "Example:\n  rmail queue list")]
    List,
    /// Try to send every kept message with the profile it was queued with (-p: all with
    /// that profile); each is removed only once a server accepted it
    #[command(
        after_help = "Examples:\n  rmail queue flush\n  rmail queue flush -p backup     # re-route every kept message\n  rmail -v queue flush"
    )]
    Flush,
    /// Delete one kept message without sending it
    #[command(
        after_help = "Example:\n  rmail queue drop ID      # the id shown by `rmail queue list`"
    )]
    Drop {
        /// The id shown by `rmail queue list`
        id: String,
    },
}
