//! `rmail queue`: the outbox.

use clap::Subcommand;

/// `rmail queue` subcommands.
#[derive(Debug, Subcommand)]
pub enum QueueCommand {
    /// Show every kept message: id, age, recipients, last error
    #[command(after_help = "Example:\n  rmail queue list")]
    List,
    /// Try to send every kept message; each is removed only once a server accepted it
    #[command(after_help = "Examples:\n  rmail queue flush\n  rmail -v queue flush")]
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
