//! A real OAuth 2.0 authorization server for the tests, and a stand-in for the person at the
//! browser.
//!
//! - [`Provider`] runs `tests/it/support/oauth/provider.mjs`: oidc-provider (npm, installed
//!   by `.ci/run` with `npm ci` from the committed lock file) on 127.0.0.1, with the clients
//!   `rmail-native` (public, PKCE, loopback redirect, device flow, rotating refresh tokens),
//!   `rmail-app` (secret `app-secret`, client credentials) and `smtpd` (introspection).
//! - [`authorize`], [`device`] and [`revoke`] run `user.mjs`, an HTTP client with cookies
//!   that signs in and consents on the provider's own pages.
//! - [`browser_script`] writes a `$BROWSER` that does what [`authorize`] does.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::time::Duration;

use tempfile::TempDir;

use super::start_announcing;

/// Where provider.mjs, user.mjs and node_modules live.
pub const OAUTH_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/support/oauth");
/// The Node.js interpreter (Node 20+).
pub const NODE: &str = "node";

/// The public client: PKCE, loopback redirect, device flow, refresh tokens.
pub const NATIVE_CLIENT: &str = "rmail-native";
/// The confidential client for client credentials, and its secret.
pub const APP_CLIENT: &str = "rmail-app";
pub const APP_SECRET: &str = "app-secret";

/// A running provider.mjs, killed when dropped.
pub struct Provider {
    child: Child,
    /// Held open: provider.mjs exits when its stdin closes (also if this process dies).
    _stdin: Option<ChildStdin>,
    dir: TempDir,
    issuer: String,
}

impl Provider {
    /// Starts the provider with access tokens (user and app) living `access_ttl` seconds.
    #[track_caller]
    pub fn start(access_ttl: u64) -> Provider {
        assert!(
            Path::new(OAUTH_DIR)
                .join("node_modules/oidc-provider")
                .is_dir(),
            "oidc-provider is not installed: run `npm ci` in {OAUTH_DIR} (.ci/run does)"
        );
        let dir = tempfile::Builder::new()
            .prefix("rmail-oidc-")
            .tempdir()
            .expect("create a directory for the provider");
        let stderr = fs::File::create(dir.path().join("provider.stderr")).expect("stderr file");
        let started = start_announcing(
            Command::new(NODE)
                .arg(Path::new(OAUTH_DIR).join("provider.mjs"))
                .arg("--dir")
                .arg(dir.path())
                .arg("--access-ttl")
                .arg(access_ttl.to_string())
                .current_dir(OAUTH_DIR)
                .stderr(stderr),
            "ISSUER ",
            Duration::from_secs(30),
        );
        let (mut child, issuer) = started.unwrap_or_else(|why| {
            panic!(
                "the OAuth provider did not start ({why}; is Node.js installed?)\n\
                 --- provider.stderr ---\n{}",
                fs::read_to_string(dir.path().join("provider.stderr")).unwrap_or_default()
            )
        });
        let stdin = child.stdin.take();
        Provider {
            child,
            _stdin: stdin,
            dir,
            issuer,
        }
    }

    /// `http://127.0.0.1:PORT`, the issuer (its discovery document is under it).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }
    pub fn auth_url(&self) -> String {
        format!("{}/auth", self.issuer)
    }
    pub fn token_url(&self) -> String {
        format!("{}/token", self.issuer)
    }
    pub fn device_url(&self) -> String {
        format!("{}/device/auth", self.issuer)
    }
    pub fn introspection_url(&self) -> String {
        format!("{}/token/introspection", self.issuer)
    }

    /// The token endpoint's outcomes so far: `grant <grant_type> ok|<error>` lines.
    pub fn events(&self) -> Vec<String> {
        fs::read_to_string(self.dir.path().join("events.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// How many `grant GRANT_TYPE OUTCOME` events happened.
    pub fn count(&self, grant_type: &str, outcome: &str) -> usize {
        let wanted = format!("grant {grant_type} {outcome}");
        self.events().iter().filter(|e| **e == wanted).count()
    }

    pub fn stderr(&self) -> String {
        fs::read_to_string(self.dir.path().join("provider.stderr")).unwrap_or_default()
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn user(args: &[&str]) -> Output {
    Command::new(NODE)
        .arg(Path::new(OAUTH_DIR).join("user.mjs"))
        .args(args)
        .current_dir(OAUTH_DIR)
        .stdin(Stdio::null())
        .output()
        .expect("run user.mjs")
}

/// Signs in as `login` at the authorization URL and consents; the browser then follows
/// the redirect to rmail's loopback listener.
#[track_caller]
pub fn authorize(url: &str, login: &str) -> Output {
    let out = user(&["authorize", url, "--login", login]);
    assert!(
        out.status.success(),
        "user.mjs authorize failed\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Enters `user_code` on the verification page, signs in as `login`, consents.
#[track_caller]
pub fn device(verification_uri: &str, user_code: &str, login: &str) -> Output {
    let out = user(&["device", verification_uri, user_code, "--login", login]);
    assert!(
        out.status.success(),
        "user.mjs device failed\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Revokes `token` (as the user removing the app's access).
#[track_caller]
pub fn revoke(provider: &Provider, client_id: &str, token: &str) {
    let out = user(&["revoke", provider.issuer(), client_id, token]);
    assert!(
        out.status.success(),
        "user.mjs revoke failed\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Writes an executable `$BROWSER` into `dir` that signs in as `login` at the URL it is
/// given, logging user.mjs's output to `dir/browser.log`; returns its path.
pub fn browser_script(dir: &Path, login: &str) -> PathBuf {
    write_browser(dir, &format!("--login {login}"))
}

/// Like [`browser_script`], but the person clicks "Cancel" instead of consenting.
pub fn denying_browser_script(dir: &Path) -> PathBuf {
    write_browser(dir, "--deny")
}

fn write_browser(dir: &Path, flags: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("test-browser");
    let node = which_node();
    let script = format!(
        "#!/bin/sh\nexec {} {}/user.mjs authorize \"$1\" {flags} >>{}/browser.log 2>&1\n",
        node.display(),
        OAUTH_DIR,
        dir.display()
    );
    fs::write(&path, script).expect("write the test browser");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("chmod the browser");
    path
}

/// The absolute path of `node` (rmail runs with a minimal PATH in some tests).
fn which_node() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(NODE))
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from(NODE))
}
