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

    /// Send one personalised message per data row, rendered from a template
    #[command(after_help = "Examples:
  rmail merge invoice --data customers.csv --dry-run --out-dir preview/
  rmail merge invoice --data customers.csv --redirect-to me@example.com --limit 3
  rmail merge invoice --data customers.csv --concurrency 4 --rate 10")]
    Merge(MergeArgs),

    /// sendmail-compatible: read an RFC 5322 message on stdin and send it
    #[command(after_help = "Examples:
  printf 'Subject: hi\\n\\nbody\\n' | rmail sendmail ops@example.com
  rmail sendmail -t < message.eml
Link rmail as /usr/sbin/sendmail and it behaves as `rmail sendmail` (cron's MAILTO).")]
    #[command(disable_version_flag = true)]
    Sendmail(SendmailArgs),

    /// Messages kept after a temporary failure: list them, send them, drop one
    #[command(subcommand)]
    #[command(after_help = "Examples:
  rmail queue list
  rmail queue flush        # e.g. hourly from cron, after a relay outage
  rmail queue drop ID      # an id from `rmail queue list`")]
    Queue(QueueCommand),

    /// List the configured profiles, resolved (passwords are never shown)
    #[command(after_help = "Examples:
  rmail profiles
  rmail --config ./test-config.toml profiles")]
    Profiles,

    /// Connect with a profile: TLS, certificate, extensions, AUTH; then QUIT without sending
    #[command(after_help = "Example:\n  rmail check -p work")]
    Check,

    /// Print a shell completion script for bash, zsh, fish, elvish or powershell
    #[command(after_help = "Examples:
  rmail completions bash > ~/.local/share/bash-completion/completions/rmail
  rmail completions zsh > ~/.zfunc/_rmail      # with fpath+=(~/.zfunc) before compinit
  rmail completions fish > ~/.config/fish/completions/rmail.fish")]
    Completions {
        /// The shell to generate completions for
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },

    /// Print the manual page (roff) for rmail and all its commands
    #[command(after_help = "Examples:
  rmail man | man -l -
  rmail man > /usr/local/share/man/man1/rmail.1")]
    Man,
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

    /// Render the message from a template (name in ./templates or the user's templates
    /// folder, or a path); flags given here override its front matter
    #[arg(long, value_name = "NAME_OR_PATH")]
    pub template: Option<String>,

    /// Template variable, e.g. --var host=web1 (repeatable; needs --template)
    #[arg(long, value_name = "KEY=VALUE", requires = "template")]
    pub var: Vec<String>,
}

/// Arguments of `rmail merge`.
#[derive(Debug, Args, Default)]
pub struct MergeArgs {
    /// Template name (looked up in ./templates and the user's templates folder) or path
    #[arg(value_name = "TEMPLATE")]
    pub template: String,

    /// Data: one message per row (.csv, .tsv, .json array of objects, .jsonl)
    #[arg(long, value_name = "FILE")]
    pub data: PathBuf,

    /// Send nothing; write one .eml per row to --out-dir
    #[arg(long)]
    pub dry_run: bool,

    /// Folder for the .eml files of a dry run
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,

    /// Send at most N rows (of those not yet sent)
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,

    /// Send every message to ADDR instead of its recipients (a rehearsal)
    #[arg(long, value_name = "ADDR")]
    pub redirect_to: Option<String>,

    /// Parallel SMTP sessions [default: the profile's concurrency, else 1]
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,

    /// Sending rate cap, messages per second, e.g. 10 or 10/s [default: the profile's max_per_second]
    #[arg(long, value_name = "N/s")]
    pub rate: Option<String>,

    /// Journal of rows already accepted [default: DATA.journal beside the data file]
    #[arg(long, value_name = "PATH")]
    pub journal: Option<PathBuf>,

    /// Take every N-th row starting at row K (1-based): split one merge across machines
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
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

    /// Recipients
    #[arg(value_name = "RECIPIENT")]
    pub recipients: Vec<String>,
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn definitions_are_consistent() {
        Cli::command().debug_assert();
        SendmailCli::command().debug_assert();
    }

    #[test]
    fn cron_argv_parses() {
        let cli = SendmailCli::try_parse_from([
            "sendmail",
            "-FCronDaemon",
            "-i",
            "-B8BITMIME",
            "-oem",
            "ops@example.com",
        ])
        .unwrap();
        assert_eq!(cli.args.full_name.as_deref(), Some("CronDaemon"));
        assert!(cli.args.ignore_dots);
        assert_eq!(cli.args.options, ["em"]);
        assert_eq!(cli.args.recipients, ["ops@example.com"]);
        let cli = SendmailCli::try_parse_from(["sendmail", "-t", "-oi", "-odi", "-f", "a@x.com"])
            .unwrap();
        assert_eq!(cli.args.options, ["i", "di"]);
        assert!(cli.args.extract_recipients);
    }
}
