//! `rmail send`: compose and send one message.

use std::path::PathBuf;

use clap::Args;

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

    /// Render the message from a template (name in ./templates or the user's templates
    /// folder, or a path); flags given here override its front matter
    #[arg(long, value_name = "NAME_OR_PATH")]
    pub template: Option<String>,

    #[command(flatten)]
    pub server: crate::cli::ServerArgs,

    /// Template variable, e.g. --var host=web1 (repeatable; needs --template)
    #[arg(long, value_name = "KEY=VALUE", requires = "template")]
    pub var: Vec<String>,
}
