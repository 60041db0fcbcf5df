//! The command line, as clap derive definitions. Each doc comment is `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Send email from the command line: one-off messages, cron notifications, mail merges.
#[derive(Debug, Parser)]
#[command(name = "rmail", version, propagate_version = true)]
#[command(after_help = "Examples:
  rmail send --dry-run --to a@example.com -s hi --text hello --attach Cargo.toml
  rmail send -p work --to boss@example.com -s \"Q3 report\" --attach q3.pdf < note.txt
  rmail check -p work
Configuration: --config, else $RMAIL_CONFIG, else ~/.config/rmail/config.toml")]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Options accepted before or after the subcommand.
#[derive(Debug, Args, Clone, Default)]
pub struct GlobalArgs {
    /// Configuration file [default: $RMAIL_CONFIG, else $XDG_CONFIG_HOME/rmail/config.toml]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Profile (SMTP account) to use [default: $RMAIL_PROFILE, else default_profile]
    #[arg(
        short = 'p',
        long,
        global = true,
        value_name = "NAME",
        env = "RMAIL_PROFILE"
    )]
    pub profile: Option<String>,

    /// Print the SMTP conversation (AUTH redacted) and one log line per message on stderr
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compose and send one message now
    #[command(after_help = "Examples:
  rmail send --to a@example.com -s \"Backup done\" < log.txt
  rmail send --to a@example.com,b@example.com -s Report --html-file r.html --inline logo.png -a r.pdf
  rmail send --dry-run --to a@example.com -s hi --text hello --attach Cargo.toml")]
    Send(SendArgs),

    /// List the configured profiles, resolved (passwords are never shown)
    Profiles,

    /// Connect with a profile: TLS, certificate, extensions, AUTH; then QUIT without sending
    #[command(after_help = "Example:\n  rmail check -p work")]
    Check,
}

/// Arguments of `rmail send`.
#[derive(Debug, Args, Default)]
pub struct SendArgs {
    /// Recipient; repeat the flag or separate addresses with commas
    #[arg(long, value_name = "ADDR")]
    pub to: Vec<String>,

    /// Carbon-copy recipient (repeatable, comma-separated)
    #[arg(long, value_name = "ADDR")]
    pub cc: Vec<String>,

    /// Blind-copy recipient: in the envelope only, never in the headers
    #[arg(long, value_name = "ADDR")]
    pub bcc: Vec<String>,

    /// Sender [default: the profile's `from`]
    #[arg(long, value_name = "ADDR")]
    pub from: Option<String>,

    /// Reply-To address [default: the profile's `reply_to`]
    #[arg(long, value_name = "ADDR")]
    pub reply_to: Option<String>,

    /// Subject line (UTF-8 welcome)
    #[arg(short, long)]
    pub subject: Option<String>,

    /// Plain-text body given on the command line
    #[arg(long, conflicts_with = "text_file")]
    pub text: Option<String>,

    /// Plain-text body read from a file
    #[arg(long, value_name = "PATH")]
    pub text_file: Option<PathBuf>,

    /// HTML body read from a file (a text alternative is generated when no text is given)
    #[arg(long, value_name = "PATH")]
    pub html_file: Option<PathBuf>,

    /// Inline image for the HTML body, referred to as cid:FILENAME, or cid:CID with PATH=CID
    #[arg(long, value_name = "PATH[=CID]")]
    pub inline: Vec<String>,

    /// Attach a file (repeatable)
    #[arg(short = 'a', long, value_name = "PATH")]
    pub attach: Vec<PathBuf>,

    /// Extra header, e.g. -H "X-Job: backup" (repeatable)
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,

    /// Send nothing; print the message that would be sent
    #[arg(long)]
    pub dry_run: bool,

    /// Also write the exact bytes sent (or that would be sent) to this file
    #[arg(long, value_name = "PATH")]
    pub eml: Option<PathBuf>,
}
