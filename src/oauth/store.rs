//! The token file: `$XDG_STATE_HOME/rmail/tokens/PROFILE.json`, mode 0600 in a 0700 folder,
//! replaced atomically (write, fsync, rename) so a crash never leaves half a token, and
//! `PROFILE.lock` beside it, the lock that lets one process at a time refresh.

use std::fmt;
use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};
use crate::private;

/// What is kept for a profile. Its `Debug` never shows a token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredTokens {
    pub(crate) access_token: String,
    /// Unix time (seconds) the access token expires; `None` when the server did not say.
    pub(crate) expires_at: Option<u64>,
    /// Absent for client credentials, and for providers that issue none.
    pub(crate) refresh_token: Option<String>,
    /// The scopes granted (as the token endpoint said, else as requested).
    pub(crate) scopes: Vec<String>,
    /// The client the tokens were issued to: a changed `client_id` means log in again.
    pub(crate) client_id: String,
    /// Unix time of the last token response.
    pub(crate) obtained_at: u64,
}

impl fmt::Debug for StoredTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredTokens")
            .field("access_token", &"(redacted)")
            .field("expires_at", &self.expires_at)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "(redacted)"),
            )
            .field("scopes", &self.scopes)
            .field("client_id", &self.client_id)
            .field("obtained_at", &self.obtained_at)
            .finish()
    }
}

/// One profile's token file and lock.
#[derive(Debug, Clone)]
pub(crate) struct TokenStore {
    dir: PathBuf,
    profile: String,
}

impl TokenStore {
    /// The store for `profile` in `dir`. The profile name becomes a file name, so it may
    /// not hold a path separator or start with a dot.
    pub(crate) fn new(dir: &Path, profile: &str) -> Result<TokenStore> {
        let bad = profile.is_empty()
            || profile.starts_with('.')
            || profile.contains(['/', '\\', '\0'])
            || profile.chars().any(char::is_control);
        if bad {
            return Err(Error::config(format!(
                "profile name {profile:?} cannot name a token file: use letters, digits, - and _"
            )));
        }
        Ok(TokenStore {
            dir: dir.to_path_buf(),
            profile: profile.to_owned(),
        })
    }

    /// `DIR/PROFILE.json`.
    pub(crate) fn path(&self) -> PathBuf {
        self.dir.join(format!("{}.json", self.profile))
    }

    /// The stored tokens, or `None` when there are none yet.
    pub(crate) fn load(&self) -> Result<Option<StoredTokens>> {
        let path = self.path();
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::read_file("the token file", &path, &e)),
        };
        serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            Error::new(
                ErrorKind::Auth,
                format!(
                    "the token file {} is damaged ({e}): run `rmail login -p {}` again",
                    path.display(),
                    self.profile
                ),
            )
        })
    }

    /// Replaces the stored tokens; durable when this returns.
    pub(crate) fn save(&self, tokens: &StoredTokens) -> Result<()> {
        self.create_dir()?;
        let path = self.path();
        let json = serde_json::to_vec_pretty(tokens)
            .map_err(|e| Error::new(ErrorKind::Internal, format!("cannot encode tokens: {e}")))?;
        private::replace(&path, |file| file.write_all(&json)).map_err(|e| cant_write(&path, &e))
    }

    /// Takes the profile's exclusive lock, waiting for another holder to finish; released
    /// when the returned file is dropped (or the process dies).
    pub(crate) fn lock(&self) -> Result<File> {
        self.create_dir()?;
        let path = self.dir.join(format!("{}.lock", self.profile));
        private::lock(&path).map_err(|e| cant_write(&path, &e))
    }

    fn create_dir(&self) -> Result<()> {
        // A folder that exists already is narrowed too: it holds refresh tokens.
        private::create_dir(&self.dir)
            .and_then(|()| fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o700)))
            .map_err(|e| cant_write(&self.dir, &e))
    }
}

fn cant_write(path: &Path, err: &std::io::Error) -> Error {
    Error::new(
        ErrorKind::CantCreate,
        format!("cannot write {}: {err}", path.display()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(access: &str) -> StoredTokens {
        StoredTokens {
            access_token: access.to_owned(),
            expires_at: Some(1_800_000_000),
            refresh_token: Some("refresh-secret".to_owned()),
            scopes: vec!["smtp".to_owned()],
            client_id: "c".to_owned(),
            obtained_at: 1_799_999_000,
        }
    }

    #[test]
    fn saves_atomically_private_and_loads_back() {
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join("state/rmail/tokens");
        let store = TokenStore::new(&dir, "work").unwrap();
        assert_eq!(store.load().unwrap(), None);
        store.save(&tokens("first")).unwrap();
        store.save(&tokens("second")).unwrap();
        assert_eq!(store.load().unwrap(), Some(tokens("second")));
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&store.path()), 0o600);
        assert_eq!(mode(&dir), 0o700);
        // Nothing but the file itself is left behind.
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["work.json"]);
    }

    #[test]
    fn debug_never_shows_tokens() {
        let shown = format!("{:?}", tokens("access-secret"));
        assert!(!shown.contains("secret"), "{shown}");
    }

    #[test]
    fn damaged_file_says_log_in_again() {
        let home = tempfile::tempdir().unwrap();
        let store = TokenStore::new(home.path(), "work").unwrap();
        fs::write(store.path(), "{not json").unwrap();
        let err = store.load().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Auth);
        assert!(err.message().contains("rmail login -p work"), "{err}");
    }

    #[test]
    fn profile_names_stay_file_names() {
        for bad in ["", "../x", "a/b", ".hidden", "a\nb"] {
            assert!(TokenStore::new(Path::new("/tmp"), bad).is_err(), "{bad:?}");
        }
        assert!(TokenStore::new(Path::new("/tmp"), "work-2_x").is_ok());
    }
}
