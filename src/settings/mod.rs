//! The resolve step: command line + config file + environment → one validated request per
//! command, before any side effect (stdin is not read, no message file is opened, nothing
//! connects). Everything after this step reads resolved values only: a default that a
//! profile supplies is filled in here, once, and cannot be forgotten further on.

pub(crate) mod merge;
pub(crate) mod queue;
pub(crate) mod send;
pub(crate) mod sendmail;
pub(crate) mod server;

use std::path::PathBuf;

use crate::cli::{Cli, Command, GlobalArgs};
use crate::config::file::{self, LoadedConfig};
use crate::config::profile::SaveSent;
use crate::config::profile::{self, Profile};
use crate::error::{Error, Result};
use crate::imap;

/// What one command line asks for, resolved. Built once per run, so its size does not matter.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub(crate) enum Request {
    Send(send::SendRequest),
    Merge(merge::MergeRequest),
    Sendmail(sendmail::SendmailRequest),
    /// sendmail with a config that cannot be used: keep the message, unprepared.
    SendmailUnresolved(sendmail::UnresolvedSendmail),
    Queue(queue::QueueRequest),
    Profiles(ProfilesRequest),
    Check(CheckRequest),
    Login(LoginRequest),
    Completions(clap_complete::Shell),
    Man,
}

/// `rmail profiles`: every profile resolved.
#[derive(Debug)]
pub(crate) struct ProfilesRequest {
    pub(crate) profiles: Vec<Profile>,
    pub(crate) default: Option<String>,
    /// The config file, for "no profiles in …".
    pub(crate) config_path: String,
}

/// `rmail check`: one profile.
#[derive(Debug)]
pub(crate) struct CheckRequest {
    pub(crate) profile: Profile,
    pub(crate) verbose: bool,
}

/// `rmail login`: a profile that has an oauth table.
#[derive(Debug)]
pub(crate) struct LoginRequest {
    pub(crate) profile: Profile,
    pub(crate) oauth: crate::oauth::OAuthSettings,
    pub(crate) no_browser: bool,
}

/// Where one message of `send` or `sendmail` goes besides the server: the outbox that keeps
/// it when it cannot be sent now, the delivery log, and the account its copy in Sent goes to
/// (when the profile's `save_sent` asks for one).
#[derive(Debug, Clone, Default)]
pub(crate) struct Delivery {
    pub(crate) outbox_dir: PathBuf,
    pub(crate) log: LogSettings,
    pub(crate) sent_copy: Option<imap::Account>,
}

/// Where delivery attempts are logged: the config's `log_file`, and stderr with `-v`.
#[derive(Debug, Clone, Default)]
pub(crate) struct LogSettings {
    pub(crate) file: Option<PathBuf>,
    pub(crate) verbose: bool,
}

/// A resolved request and the warnings met while resolving it (e.g. a config file with a
/// plain password that others can read).
#[derive(Debug)]
pub(crate) struct Resolved {
    pub(crate) request: Request,
    pub(crate) warnings: Vec<String>,
}

/// Resolves a parsed command line.
pub(crate) fn resolve(cli: Cli) -> Result<Resolved> {
    let mut config_error = None;
    let config = match cli.command {
        // Generated from the clap definitions alone: a broken config must not stop them.
        Command::Completions { .. } | Command::Man => LoadedConfig::default(),
        // sendmail must not lose the message it is about to be handed because the config
        // is broken: the error goes with the request, which then keeps the message.
        Command::Sendmail(_) => match file::load(cli.global.config.as_deref()) {
            Ok(config) => config,
            Err(err) => {
                config_error = Some(err);
                LoadedConfig::default()
            }
        },
        _ => file::load(cli.global.config.as_deref())?,
    };
    let context = Context {
        config: &config,
        global: &cli.global,
    };
    let request = match cli.command {
        Command::Send(args) => Request::Send(send::resolve(&context, args)?),
        Command::Merge(args) => Request::Merge(merge::resolve(&context, args)?),
        Command::Sendmail(args) => sendmail::resolve_or_keep(&context, args, config_error)?,
        Command::Queue(command) => Request::Queue(queue::resolve(&context, command)?),
        Command::Profiles => Request::Profiles(ProfilesRequest {
            profiles: profile::all(&config)?,
            default: profile::default_name(&config)?,
            config_path: config.describe_path(),
        }),
        Command::Check(args) => Request::Check(CheckRequest {
            profile: match server::one_off(&args.server)? {
                Some(profile) => profile,
                None => context.require_profile(", or try a server with --server HOST[:PORT]")?,
            },
            verbose: cli.global.verbose,
        }),
        Command::Login(args) => {
            let profile = context.require_profile("")?;
            let oauth = profile.oauth().cloned().ok_or_else(|| {
                Error::config(format!(
                    "profile '{}' has no oauth table: add [profiles.{}.oauth] with client_id                      (see config.example.toml) to log in with OAuth2",
                    profile.name, profile.name
                ))
            })?;
            Request::Login(LoginRequest {
                profile,
                oauth,
                no_browser: args.no_browser,
            })
        }
        Command::Completions { shell } => Request::Completions(shell),
        Command::Man => Request::Man,
    };
    Ok(Resolved {
        request,
        warnings: config.warnings.clone(),
    })
}

/// What every command's resolution reads: the config and the global flags.
pub(crate) struct Context<'a> {
    pub(crate) config: &'a LoadedConfig,
    pub(crate) global: &'a GlobalArgs,
}

impl Context<'_> {
    /// The profile `-p` / `$RMAIL_PROFILE` / `default_profile` names, if there is one.
    pub(crate) fn profile(&self) -> Result<Option<Profile>> {
        profile::select(self.config, self.global.profile.as_deref())
    }

    /// The profile, or an error that explains how to create one (`or` suggests a way to
    /// try the command without one, e.g. "or try --dry-run").
    pub(crate) fn require_profile(&self, or: &str) -> Result<Profile> {
        self.profile()?.ok_or_else(|| {
            Error::config(format!(
                "no SMTP profile configured ({}); copy config.example.toml there and edit it{or}",
                self.config.describe_path()
            ))
        })
    }

    pub(crate) fn log(&self) -> LogSettings {
        LogSettings {
            file: self.config.config.log_file.clone(),
            verbose: self.global.verbose,
        }
    }

    /// The outbox folder: `$XDG_STATE_HOME/rmail/outbox`, else `~/.local/state/rmail/outbox`.
    pub(crate) fn outbox_dir(&self) -> Result<PathBuf> {
        crate::config::dirs::state_dir()
            .map(|state| state.join("outbox"))
            .ok_or_else(|| {
                Error::config("cannot find the outbox: neither $XDG_STATE_HOME nor $HOME is set")
            })
    }
}

/// Where this run keeps copies in Sent, if it does: `wanted` (the profile's `save_sent` for
/// `send`, `--save-sent` for `sendmail` and `merge`), unless the provider files
/// SMTP-submitted mail in Sent itself and `save_sent` is not `"always"`. A copy that is
/// wanted but cannot be made (no IMAP server, no username) is a configuration error now,
/// before anything is sent.
pub(crate) fn sent_copy(profile: &Profile, wanted: bool) -> Result<Option<imap::Account>> {
    if !wanted {
        return Ok(None);
    }
    let provider_keeps_copy = profile.imap.as_ref().is_some_and(|i| i.provider_keeps_copy);
    if provider_keeps_copy && profile.save_sent != SaveSent::Always {
        return Ok(None);
    }
    imap::Account::for_profile(profile).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(text: &str) -> Profile {
        let config = file::parse(PathBuf::from("t.toml"), text.to_string()).unwrap();
        profile::select(&config, None).unwrap().unwrap()
    }

    #[test]
    fn a_provider_that_keeps_its_own_copy_gets_none_unless_always() {
        let gmail = "[profiles.g]\nprovider = \"gmail\"\nusername = \"me@gmail.com\"\n";
        let yes = profile(&format!("{gmail}save_sent = true\n"));
        assert_eq!(sent_copy(&yes, true).unwrap(), None);
        let always = profile(&format!("{gmail}save_sent = \"always\"\n"));
        let account = sent_copy(&always, true).unwrap().unwrap();
        assert_eq!(
            (account.server.host.as_str(), account.server.port),
            ("imap.gmail.com", 993)
        );
        assert_eq!(sent_copy(&always, false).unwrap(), None);
    }

    #[test]
    fn a_wanted_copy_without_an_imap_server_or_username_is_a_config_error() {
        let relay = profile("[profiles.r]\nhost = \"relay\"\nsave_sent = true\n");
        let err = sent_copy(&relay, true).unwrap_err();
        assert_eq!(err.kind(), crate::error::ErrorKind::Config);
        assert!(err.message().contains("[profiles.r.imap]"), "{err}");
        let nobody = profile("[profiles.r]\nhost = \"relay\"\n[profiles.r.imap]\nhost = \"i\"\n");
        let err = sent_copy(&nobody, true).unwrap_err();
        assert!(err.message().contains("username"), "{err}");
        // Not wanted: nothing is checked, so cron mail never fails over an IMAP setting.
        assert_eq!(sent_copy(&relay, false).unwrap(), None);
    }
}
