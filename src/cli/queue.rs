//! `rmail queue`: the outbox; and rmail invoked as `mailq`.

use clap::{Args, Parser, Subcommand};

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
    /// Show every kept message: waiting ones (id, age, attempts, recipients, last error,
    /// next attempt) and failed ones (refused for good or expired, with the reply)
    #[command(after_help = "Example:\n  rmail queue list")]
    List,
    /// Try every waiting message whose retry time has come, with the profile it was queued
    /// with (-p: all with that profile); each is removed only once a server accepted it, a
    /// permanent refusal moves it to failed/
    #[command(
        after_help = "Examples:\n  rmail queue flush\n  rmail queue flush --now   # the cause is fixed: try every waiting message\n  rmail queue flush -p backup     # re-route every kept message\n  rmail -v queue flush"
    )]
    Flush {
        /// Try every waiting message now, whatever its retry time
        #[arg(long)]
        now: bool,
    },
    /// Send one kept message now, waiting or failed, whatever its retry time
    #[command(
        after_help = "Example:\n  rmail queue retry ID     # the id shown by `rmail queue list`"
    )]
    Retry {
        /// The id shown by `rmail queue list`
        id: String,
    },
    /// Delete kept messages without sending them: one by id, every failed one, or all
    #[command(
        after_help = "Examples:\n  rmail queue drop ID\n  rmail queue drop --failed\n  \
                            rmail queue drop --all"
    )]
    Drop(DropArgs),
}

/// What `rmail queue drop` deletes.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct DropArgs {
    /// The id shown by `rmail queue list`
    pub id: Option<String>,
    /// Every failed message (refused for good or expired)
    #[arg(long)]
    pub failed: bool,
    /// Every kept message, waiting and failed
    #[arg(long)]
    pub all: bool,
}
