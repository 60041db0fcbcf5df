//! Where rmail's files live: the one place that reads `HOME` and the XDG variables.
//!
//! Config: `$XDG_CONFIG_HOME/rmail` (else `~/.config/rmail`); state (outbox, tokens):
//! `$XDG_STATE_HOME/rmail` (else `~/.local/state/rmail`). An empty variable counts as unset,
//! as the XDG spec says. Without `HOME` — cron starts its mailer with the daemon's
//! environment — the home directory is the one in the user's passwd entry (`getpwuid_r`, as
//! msmtp does), so sendmail under cron finds the same config and outbox as the user does.

use std::path::PathBuf;

/// The user's home directory: `$HOME`, else the passwd entry's.
pub(crate) fn home() -> Option<PathBuf> {
    non_empty_var("HOME").or_else(passwd_home)
}

/// The home directory in the passwd entry of the user running rmail (NSS, so LDAP and
/// similar sources count too). Only an absolute path is taken.
fn passwd_home() -> Option<PathBuf> {
    let user = nix::unistd::User::from_uid(nix::unistd::getuid()).ok()??;
    user.dir.is_absolute().then_some(user.dir)
}

/// `$XDG_CONFIG_HOME/rmail`, else `~/.config/rmail`.
pub(crate) fn config_dir() -> Option<PathBuf> {
    xdg("XDG_CONFIG_HOME", &[".config"]).map(|base| base.join("rmail"))
}

/// `$XDG_STATE_HOME/rmail`, else `~/.local/state/rmail`.
pub(crate) fn state_dir() -> Option<PathBuf> {
    xdg("XDG_STATE_HOME", &[".local", "state"]).map(|base| base.join("rmail"))
}

/// `~/x` → `$HOME/x`, as users write paths in config files.
pub(crate) fn expand_home(path: PathBuf) -> PathBuf {
    match (path.strip_prefix("~"), home()) {
        (Ok(rest), Some(home)) => home.join(rest),
        _ => path,
    }
}

fn xdg(variable: &str, under_home: &[&str]) -> Option<PathBuf> {
    non_empty_var(variable)
        .or_else(|| home().map(|home| under_home.iter().fold(home, |path, part| path.join(part))))
}

fn non_empty_var(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|value| !value.is_empty())
        .map(PathBuf::from)
}
