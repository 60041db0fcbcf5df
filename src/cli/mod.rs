//! The command line, as clap derive definitions. Each doc comment is `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

mod login;
mod merge;
mod queue;
mod send;
mod sendmail;
mod server;

pub use login::LoginArgs;
pub use merge::MergeArgs;
pub use queue::{MailqCli, QueueCommand};
pub use send::SendArgs;
pub use sendmail::{SendmailArgs, SendmailCli};
pub use server::ServerArgs;

/// Send email from the command line: one-off messages, cron notifications, mail merges.
#[derive(Debug, Parser)]
#[command(name = "rmail", version, propagate_version = true)]
#[command(after_help = "Examples:
  rmail send --dry-run --to a@example.com -s hi --text hello --attach Cargo.toml
  rmail send -p work --to boss@example.com -s \"Q3 report\" --attach q3.pdf < note.txt
  rmail check -p work")]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// The heading the global options are listed under in every command's `--help`, apart from
/// the command's own options.
pub const GLOBAL_HEADING: &str = "Global options";

/// Options accepted before or after the subcommand.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = GLOBAL_HEADING)]
pub struct GlobalArgs {
    /// Configuration file [default: $RMAIL_CONFIG, else ~/.config/rmail/config.toml, else /etc/rmail/config.toml]
    #[arg(long, global = true, value_name = "PATH", display_order = 900)]
    pub config: Option<PathBuf>,

    /// Profile (SMTP account) to use [default: the config's default_profile]
    #[arg(
        short = 'p',
        long,
        global = true,
        value_name = "NAME",
        env = "RMAIL_PROFILE",
        display_order = 901
    )]
    pub profile: Option<String>,

    /// Print the SMTP conversation (AUTH redacted) and one log line per message on stderr
    #[arg(short, long, global = true, display_order = 902)]
    pub verbose: bool,
}

/// Subcommands that read no configuration and send nothing: the global options mean nothing
/// to them, so their `--help`, completions and man section do not offer them (and they are
/// refused there as unknown options).
const WITHOUT_GLOBALS: &[&str] = &["completions", "man"];

/// The command-line definition as rmail parses, documents and completes it: the derive
/// definitions, built, without the global options where they do nothing.
pub fn command() -> clap::Command {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    // Building propagates the global options into every subcommand; the ones in
    // WITHOUT_GLOBALS are then replaced by a copy holding only their own arguments (clap
    // cannot remove an argument, and hiding one still leaves it in bash completions).
    cmd.build();
    for name in WITHOUT_GLOBALS {
        cmd = cmd.mut_subcommand(*name, |sub| {
            let mut own = clap::Command::new(*name);
            if let Some(about) = sub.get_about() {
                own = own.about(about.clone());
            }
            if let Some(after_help) = sub.get_after_help() {
                own = own.after_help(after_help.clone());
            }
            if let Some(bin_name) = sub.get_bin_name() {
                own = own.bin_name(bin_name.to_string());
            }
            own.args(
                sub.get_arguments()
                    .filter(|arg| !arg.is_global_set())
                    .filter(|arg| !matches!(arg.get_id().as_str(), "help" | "version"))
                    .cloned(),
            )
        });
    }
    cmd
}

/// Parses the process's arguments with [`command`].
pub fn parse() -> Result<Cli, clap::Error> {
    use clap::FromArgMatches;
    // Building every subcommand up front (to rewrite the WITHOUT_GLOBALS ones) is a tenth
    // of a one-off send's start-up (`perf record`); when no argument names one of them,
    // clap's own lazy build of the one subcommand used parses the same.
    let rewritten = std::env::args_os()
        .skip(1)
        .any(|arg| WITHOUT_GLOBALS.iter().any(|name| arg == *name));
    let command = if rewritten {
        command()
    } else {
        <Cli as clap::CommandFactory>::command()
    };
    let matches = command.try_get_matches()?;
    Cli::from_arg_matches(&matches)
}

/// The subcommands. Parsed once per run, so the size of the largest does not matter.
#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)]
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
    #[command(after_help = "Examples:
  rmail check -p work
  rmail check --server smtp.example.com --user me@example.com --password-env SMTP_PW")]
    Check(CheckArgs),

    /// OAuth2: sign in once with a profile's oauth table and store its tokens
    #[command(after_help = "Examples:
  rmail login -p office                # device flow: prints a URL and a code
  rmail login -p gmail                 # opens the browser ($BROWSER, else xdg-open)
  rmail login -p gmail --no-browser    # prints the URL to open instead
Tokens are kept in $XDG_STATE_HOME/rmail/tokens/PROFILE.json (0600) and refresh themselves.")]
    Login(LoginArgs),

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

/// Arguments of `rmail check`.
#[derive(Debug, Args, Default)]
pub struct CheckArgs {
    #[command(flatten)]
    pub server: ServerArgs,
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
