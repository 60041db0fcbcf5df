//! `--server HOST[:PORT]`: try a server without writing a config, as with swaks.

use clap::Args;

/// A one-off server for `rmail send` and `rmail check`, instead of a profile.
#[derive(Debug, Args, Clone, Default)]
pub struct ServerArgs {
    /// Use this server instead of a profile (no config needed): HOST or HOST:PORT
    /// [default port: 587 with starttls, 465 with tls, 25 with none]
    #[arg(long, value_name = "HOST[:PORT]", help_heading = "One-off server")]
    pub server: Option<String>,

    /// With --server: starttls (required, never skipped), tls (implicit, port 465) or none
    #[arg(
        long,
        value_name = "MODE",
        requires = "server",
        value_parser = ["starttls", "tls", "none"],
        help_heading = "One-off server"
    )]
    pub security: Option<String>,

    /// With --server: log in as this user
    #[arg(
        long,
        value_name = "NAME",
        requires = "server",
        help_heading = "One-off server"
    )]
    pub user: Option<String>,

    /// With --server and --user: the environment variable that holds the password (a
    /// password is never given on the command line, where `ps` shows it)
    #[arg(
        long,
        value_name = "VAR",
        requires = "user",
        help_heading = "One-off server"
    )]
    pub password_env: Option<String>,
}
