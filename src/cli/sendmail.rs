//! `rmail sendmail` and rmail invoked as `sendmail`: sendmail's own command line.

use clap::{Args, Parser};

use crate::cli::GlobalArgs;

/// rmail invoked as `sendmail`: sendmail's own command line.
#[derive(Debug, Parser)]
#[command(
    name = "sendmail",
    disable_version_flag = true,
    about = "rmail in sendmail-compatible mode: an RFC 5322 message on stdin",
    after_help = "Examples:
  printf 'Subject: hi\\n\\nbody\\n' | sendmail ops@example.com
  sendmail -t < message.eml"
)]
pub struct SendmailCli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(flatten)]
    pub args: SendmailArgs,
}

/// Arguments of `rmail sendmail` (and of rmail invoked as `sendmail`).
#[derive(Debug, Args, Default, Clone)]
pub struct SendmailArgs {
    /// Take recipients from the To, Cc and Bcc headers (Bcc is removed before sending)
    #[arg(short = 't')]
    pub extract_recipients: bool,

    /// A line holding a single '.' does not end the message
    #[arg(short = 'i')]
    pub ignore_dots: bool,

    /// Envelope sender (MAIL FROM) [default: the profile's from]
    #[arg(short = 'f', value_name = "FROM")]
    pub from: Option<String>,

    /// Full name of the sender, used when the message has no From header
    #[arg(short = 'F', value_name = "NAME")]
    pub full_name: Option<String>,

    /// sendmail options such as -oi (same as -i), -odi, -oem: accepted; -oi is honoured
    #[arg(short = 'o', value_name = "OPTION")]
    pub options: Vec<String>,

    /// Body type (-B8BITMIME, -B7BIT): accepted and ignored; rmail declares 8BITMIME itself
    #[arg(short = 'B', value_name = "TYPE")]
    pub body_type: Option<String>,

    /// Delivery status notification request: accepted and ignored
    #[arg(short = 'N', value_name = "DSN")]
    pub dsn: Option<String>,

    /// DSN return type: accepted and ignored
    #[arg(short = 'R', value_name = "RET")]
    pub dsn_return: Option<String>,

    /// Envelope ID (-V id): accepted and ignored
    #[arg(short = 'V', value_name = "ENVID")]
    pub envelope_id: Option<String>,

    /// Mode (-bm, the default, is the only one supported)
    #[arg(short = 'b', value_name = "MODE")]
    pub mode: Option<String>,

    /// Keep a copy in the IMAP Sent mailbox (profile's [imap]); cron mail keeps none by default
    #[arg(long)]
    pub save_sent: bool,

    /// Recipients
    #[arg(value_name = "RECIPIENT")]
    pub recipients: Vec<String>,
}
