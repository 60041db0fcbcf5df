//! OAuth2 built in: `rmail login` against a real authorization server (oidc-provider on
//! 127.0.0.1), tokens stored 0600 and refreshed under a lock, and an SMTP server that
//! accepts a bearer token only when the provider's introspection says it is active.

use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use crate::support::oauth::{self, APP_CLIENT, APP_SECRET, NATIVE_CLIENT, Provider};
use crate::support::{
    Rmail, Run, Server, ServerOptions, merge_args, rmail, sendmail, toml_string, write_file,
};

const USER: &str = "alice@example.com";
const WAIT: Duration = Duration::from_secs(15);

/// A STARTTLS server whose XOAUTH2 asks `provider` about each token.
fn smtp(provider: &Provider) -> Server {
    Server::start(ServerOptions::starttls().xoauth2_introspect(provider))
}

/// A config with profile `t` reaching `server`, logging in at `provider` as the native
/// client with `flow`, plus `extra` keys of the oauth table.
fn config(server: &Server, provider: &Provider, flow: &str, extra: &str) -> String {
    format!(
        "default_profile = \"t\"\n{}username = \"{USER}\"\nfrom = \"{USER}\"\nauth = \"xoauth2\"\n\
         [profiles.t.oauth]\nclient_id = \"{NATIVE_CLIENT}\"\nflow = \"{flow}\"\n\
         scopes = [\"offline_access\", \"smtp\"]\nissuer = {}\n{extra}",
        server.profile_toml("t"),
        toml_string(provider.issuer()),
    )
}

fn token_file(rmail: &Rmail) -> std::path::PathBuf {
    rmail.state_home().join("rmail/tokens/t.json")
}

fn stored(rmail: &Rmail) -> serde_json::Value {
    let text = fs::read_to_string(token_file(rmail)).expect("read the token file");
    serde_json::from_str(&text).expect("the token file is JSON")
}

fn stored_str(rmail: &Rmail, key: &str) -> String {
    stored(rmail)[key].as_str().unwrap_or_default().to_owned()
}

/// `rmail login` with a `$BROWSER` that signs in as the test user.
fn login_with_browser(rmail: &Rmail) -> Run {
    let browser = oauth::browser_script(rmail.home(), "alice");
    let mut login = rmail.again();
    login.env("BROWSER", &browser).args(["login", "-p", "t"]);
    login.run()
}

/// An rmail signed in with the auth-code flow (in the scripted browser) that replaces its
/// access token with less than a second left: with `Provider::start(3)`, a token expires
/// 3 s after login.
fn signed_in_short_lived(server: &Server, provider: &Provider) -> Rmail {
    let rmail = rmail();
    rmail.write_config(&config(
        server,
        provider,
        "auth-code",
        "refresh_before_secs = 1\n",
    ));
    login_with_browser(&rmail).assert_code(0);
    rmail
}

/// `rmail merge` of `template` over the CSV `rows`, with `args` added.
fn merge(rmail: &Rmail, template: &str, rows: &str, args: &[&str]) -> Run {
    let dir = tempfile::tempdir().expect("temp dir");
    let template = write_file(dir.path(), "note.txt", template);
    let data = write_file(dir.path(), "rows.csv", rows);
    rmail
        .again()
        .args(merge_args(&template, &data))
        .args(args)
        .run()
}

fn send(rmail: &Rmail, subject: &str) -> Run {
    let mut send = rmail.again();
    send.args(["send", "--to", "bob@example.com", "-s", subject])
        .stdin_bytes("hello\n");
    send.run()
}

/// Neither output of `run` holds any of `secrets`.
#[track_caller]
fn assert_no_secret(run: &Run, secrets: &[String]) {
    let all = format!("{}{}", run.stdout, run.stderr);
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        assert!(!all.contains(secret.as_str()), "a token leaked:\n{run}");
    }
}

fn tokens_of(rmail: &Rmail) -> Vec<String> {
    vec![
        stored_str(rmail, "access_token"),
        stored_str(rmail, "refresh_token"),
    ]
}

#[test]
fn login_in_the_browser_then_send() {
    let provider = Provider::start(3600);
    let server = smtp(&provider);
    let rmail = rmail();
    rmail.write_config(&config(&server, &provider, "auth-code", ""));

    let login = login_with_browser(&rmail);
    login.assert_code(0);
    assert!(login.stdout.contains("profile t"), "{login}");
    assert!(login.stdout.contains(USER), "{login}");
    assert!(login.stdout.contains("valid until"), "{login}");
    // The code was exchanged once, with PKCE (the provider requires it of this client).
    assert_eq!(provider.count("authorization_code", "ok"), 1);

    // The token file: private, in a private folder, with a refresh token.
    let file = token_file(&rmail);
    let mode = |p: &std::path::Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&file), 0o600);
    assert_eq!(mode(file.parent().unwrap()), 0o700);
    assert!(!stored_str(&rmail, "refresh_token").is_empty());
    assert_no_secret(&login, &tokens_of(&rmail));

    let sent = send(&rmail, "Via OAuth");
    sent.assert_code(0);
    assert_no_secret(&sent, &tokens_of(&rmail));
    let got = server.wait_for(1, WAIT);
    assert_eq!(got[0].auth_user.as_deref(), Some(USER));
    assert_eq!(got[0].parsed().subject(), Some("Via OAuth"));
    assert!(
        server
            .session_log()
            .contains(&format!("xoauth2 {USER} active"))
    );
    // A valid stored token needs no trip to the provider.
    assert_eq!(provider.events().len(), 1, "{:?}", provider.events());
}

/// Reads `child`'s stderr on a thread and sends each line.
fn stderr_lines(child: &mut std::process::Child) -> mpsc::Receiver<String> {
    let stderr = child.stderr.take().expect("stderr was piped");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn next_line_where(rx: &mpsc::Receiver<String>, pred: impl Fn(&str) -> bool) -> String {
    loop {
        let line = rx
            .recv_timeout(WAIT)
            .expect("rmail login printed the expected line");
        if pred(&line) {
            return line;
        }
    }
}

#[test]
fn login_without_a_browser_prints_the_url_alone() {
    let provider = Provider::start(3600);
    let server = smtp(&provider);
    let rmail = rmail();
    rmail.write_config(&config(&server, &provider, "auth-code", ""));

    let mut login = rmail.again();
    login
        .env("BROWSER", "/nonexistent/browser")
        .args(["login", "--no-browser"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = login.spawn().expect("start rmail login");
    let lines = stderr_lines(&mut child);
    let url = next_line_where(&lines, |l| l.starts_with("http"));
    assert!(url.starts_with(&provider.auth_url()), "{url}");
    assert!(!url.contains(' '), "the URL is alone on its line: {url}");
    assert!(url.contains("code_challenge_method=S256"), "{url}");
    oauth::authorize(&url, "alice");
    let status = child.wait().expect("wait for rmail login");
    assert_eq!(status.code(), Some(0));

    send(&rmail, "After --no-browser").assert_code(0);
    assert_eq!(server.wait_for(1, WAIT)[0].auth_user.as_deref(), Some(USER));
}

#[test]
fn device_flow_for_a_machine_without_a_browser() {
    let provider = Provider::start(3600);
    let server = smtp(&provider);
    let rmail = rmail();
    rmail.write_config(&config(&server, &provider, "device", ""));

    let mut login = rmail.again();
    login
        .args(["login"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = login.spawn().expect("start rmail login");
    let lines = stderr_lines(&mut child);
    let uri = next_line_where(&lines, |l| l.starts_with("http"));
    assert!(uri.starts_with(provider.issuer()), "{uri}");
    let code = lines.recv_timeout(WAIT).expect("the user code line");
    assert!(
        !code.is_empty() && !code.contains(' '),
        "the code is alone on its line: {code:?}"
    );
    // rmail is polling (authorization_pending) while the person signs in elsewhere.
    thread::sleep(Duration::from_millis(500));
    oauth::device(&uri, &code, "alice");
    let status = child.wait().expect("wait for rmail login");
    assert_eq!(status.code(), Some(0));
    let device_grant = "urn:ietf:params:oauth:grant-type:device_code";
    assert_eq!(provider.count(device_grant, "ok"), 1);
    // It polled before the person was done, and kept polling when told to wait.
    assert!(
        provider.count(device_grant, "authorization_pending") >= 1,
        "{:?}",
        provider.events()
    );

    send(&rmail, "After the device flow").assert_code(0);
    assert_eq!(server.wait_for(1, WAIT)[0].auth_user.as_deref(), Some(USER));
}

#[test]
fn an_expired_access_token_is_refreshed_and_the_rotated_refresh_token_saved() {
    // Access tokens live 3 s; rmail replaces them with less than 1 s left.
    let provider = Provider::start(3);
    let server = smtp(&provider);
    let rmail = signed_in_short_lived(&server, &provider);
    let first = tokens_of(&rmail);

    thread::sleep(Duration::from_secs(3));
    let sent = send(&rmail, "After expiry");
    sent.assert_code(0);
    assert_eq!(provider.count("refresh_token", "ok"), 1);
    let second = tokens_of(&rmail);
    assert_ne!(second[0], first[0], "a new access token was stored");
    assert_ne!(second[1], first[1], "the rotated refresh token was stored");
    assert_no_secret(&sent, &[first.clone(), second.clone()].concat());

    // The saved token is the live one: a second expiry refreshes again with it (the old,
    // consumed one would make the provider revoke the whole grant).
    thread::sleep(Duration::from_secs(3));
    send(&rmail, "After the second expiry").assert_code(0);
    assert_eq!(provider.count("refresh_token", "ok"), 2);
    assert_eq!(provider.count("refresh_token", "invalid_grant"), 0);
    let got = server.wait_for(2, WAIT);
    assert!(got.iter().all(|m| m.auth_user.as_deref() == Some(USER)));
}

#[test]
fn two_sends_at_expiry_refresh_once() {
    let provider = Provider::start(3);
    let server = smtp(&provider);
    let rmail = signed_in_short_lived(&server, &provider);
    thread::sleep(Duration::from_secs(3));

    let handles: Vec<_> = (0..2)
        .map(|i| {
            let mut send = rmail.again();
            send.args([
                "send",
                "--to",
                "bob@example.com",
                "-s",
                &format!("Race {i}"),
            ])
            .stdin_bytes("hello\n");
            thread::spawn(move || send.run())
        })
        .collect();
    for handle in handles {
        handle.join().expect("send thread").assert_code(0);
    }
    // One refresh: the second process waited for the lock and found the new token.
    assert_eq!(
        provider.count("refresh_token", "ok"),
        1,
        "{:?}",
        provider.events()
    );
    assert_eq!(provider.count("refresh_token", "invalid_grant"), 0);
    assert_eq!(server.wait_for(2, WAIT).len(), 2);
}

#[test]
fn a_revoked_refresh_token_exits_77_with_the_hint_and_keeps_the_message() {
    let provider = Provider::start(3);
    let server = smtp(&provider);
    let rmail = signed_in_short_lived(&server, &provider);
    oauth::revoke(
        &provider,
        NATIVE_CLIENT,
        &stored_str(&rmail, "refresh_token"),
    );
    thread::sleep(Duration::from_secs(3));

    let sent = send(&rmail, "Sent after the new login");
    sent.assert_code(77);
    assert!(
        sent.stderr.contains("run `rmail login -p t` again"),
        "{sent}"
    );
    assert_eq!(sent.stderr.trim().lines().count(), 1, "one line: {sent}");
    assert_eq!(provider.count("refresh_token", "invalid_grant"), 1);
    server.assert_nothing_sent();
    assert_no_secret(&sent, &tokens_of(&rmail));
    // The message is not lost: kept until the next login, then flushed.
    assert_eq!(rmail.outbox_ids().len(), 1, "{sent}");
    assert!(sent.stderr.contains("rmail queue flush"), "{sent}");
    login_with_browser(&rmail).assert_code(0);
    let mut flush = rmail.again();
    flush.args(["queue", "flush"]);
    flush.run().assert_code(0);
    let got = server.wait_for(1, WAIT);
    assert_eq!(got[0].parsed().subject(), Some("Sent after the new login"));
    assert!(rmail.outbox_ids().is_empty());
}

#[test]
fn client_credentials_for_a_cron_sendmail() {
    let provider = Provider::start(3600);
    let server = smtp(&provider);
    let mut cron = sendmail();
    cron.write_config(&format!(
        "default_profile = \"t\"\n{}username = \"{USER}\"\nfrom = \"{USER}\"\nauth = \"xoauth2\"\n\
         [profiles.t.oauth]\nclient_id = \"{APP_CLIENT}\"\nclient_secret = \"{APP_SECRET}\"\n\
         flow = \"client-credentials\"\nscopes = [\"smtp\"]\ntoken_url = {}\n",
        server.profile_toml("t"),
        toml_string(&provider.token_url()),
    ));
    // Debian's cron: no HOME, the recipient as an argument, the message on stdin.
    cron.env_remove("HOME");
    cron.args(["-FCronDaemon", "-i", "-oem", "root@example.com"])
        .stdin_bytes("To: root@example.com\nSubject: Cron <root@host> backup\n\nall good\n");
    let run = cron.run();
    run.assert_code(0);
    let got = server.wait_for(1, WAIT);
    assert_eq!(got[0].auth_user.as_deref(), Some(USER));
    assert_eq!(got[0].rcpt_tos, ["root@example.com"]);
    assert_eq!(provider.count("client_credentials", "ok"), 1);
    let token = stored_str(&cron, "access_token");
    assert!(!token.is_empty(), "the app token is kept for the next job");
    assert_no_secret(&run, &[token, APP_SECRET.to_owned()]);

    // The next job reuses the stored token: no new grant.
    let mut again = cron.again();
    again.env_remove("HOME");
    again
        .args(["-i", "root@example.com"])
        .stdin_bytes("Subject: second\n\nok\n");
    again.run().assert_code(0);
    assert_eq!(provider.count("client_credentials", "ok"), 1);
    assert_eq!(server.wait_for(2, WAIT).len(), 2);
}

#[test]
fn no_token_in_verbose_output_check_profiles_or_the_log() {
    let provider = Provider::start(3600);
    let server = smtp(&provider);
    let rmail = rmail();
    let log = rmail.home().join("deliveries.log");
    rmail.write_config(&format!(
        "log_file = {}\n{}",
        toml_string(&log.display().to_string()),
        config(&server, &provider, "auth-code", "")
    ));
    login_with_browser(&rmail).assert_code(0);
    let secrets = tokens_of(&rmail);

    let mut verbose = rmail.again();
    verbose
        .args(["-v", "send", "--to", "bob@example.com", "-s", "Verbose"])
        .stdin_bytes("hello\n");
    let run = verbose.run();
    run.assert_code(0);
    assert!(
        run.stderr.contains("AUTH"),
        "-v shows the conversation: {run}"
    );
    assert_no_secret(&run, &secrets);

    let mut check = rmail.again();
    check.args(["check"]);
    let run = check.run();
    run.assert_code(0);
    let oauth_line = run
        .stdout
        .lines()
        .find(|l| l.starts_with("oauth:"))
        .unwrap_or_else(|| panic!("check shows the token's expiry and scopes: {run}"));
    assert!(oauth_line.contains("valid until 20"), "{oauth_line}");
    assert!(oauth_line.contains("offline_access smtp"), "{oauth_line}");
    assert!(run.stdout.contains("auth:        ok (XOAUTH2"), "{run}");
    assert_no_secret(&run, &secrets);

    let mut profiles = rmail.again();
    profiles.args(["profiles"]);
    let run = profiles.run();
    run.assert_code(0);
    assert!(run.stdout.contains("OAuth2"), "{run}");
    assert_no_secret(&run, &secrets);

    let logged = fs::read_to_string(&log).expect("the delivery log was written");
    assert!(logged.contains("result=sent"), "{logged}");
    for secret in &secrets {
        assert!(
            !logged.contains(secret.as_str()),
            "a token leaked into the log"
        );
    }
}

#[test]
fn sending_before_login_says_how_to_log_in() {
    let provider = Provider::start(3600);
    let server = smtp(&provider);
    let rmail = rmail();
    rmail.write_config(&config(&server, &provider, "auth-code", ""));
    let sent = send(&rmail, "No login yet");
    sent.assert_code(77);
    assert!(sent.stderr.contains("rmail login -p t"), "{sent}");
    server.assert_nothing_sent();
}

#[test]
fn plain_http_endpoints_are_refused_off_loopback() {
    let provider = Provider::start(3600);
    let server = smtp(&provider);
    let rmail = rmail();
    rmail.write_config(&format!(
        "default_profile = \"t\"\n{}username = \"{USER}\"\nfrom = \"{USER}\"\nauth = \"xoauth2\"\n\
         [profiles.t.oauth]\nclient_id = \"{APP_CLIENT}\"\nclient_secret = \"{APP_SECRET}\"\n\
         flow = \"client-credentials\"\nscopes = [\"smtp\"]\n\
         token_url = \"http://login.example.com/token\"\n",
        server.profile_toml("t"),
    ));
    let sent = send(&rmail, "Never");
    sent.assert_code(78);
    assert!(sent.stderr.contains("https://"), "{sent}");
    server.assert_nothing_sent();
    assert!(provider.events().is_empty());
}

#[test]
fn a_merge_after_expiry_refreshes_once_for_all_its_sessions() {
    let provider = Provider::start(3);
    let server = smtp(&provider);
    let rmail = signed_in_short_lived(&server, &provider);
    let mut csv = String::from("name,email\n");
    for i in 1..=4 {
        csv += &format!("P{i},p{i}@example.com\n");
    }
    thread::sleep(Duration::from_secs(3));
    let run = merge(
        &rmail,
        "+++\nto = \"{{ email }}\"\nsubject = \"Hi {{ name }}\"\n+++\nHello {{ name }}\n",
        &csv,
        &["--concurrency", "2"],
    );
    run.assert_code(0);
    assert_no_secret(&run, &tokens_of(&rmail));
    let got = server.wait_for(4, WAIT);
    assert!(got.iter().all(|m| m.auth_user.as_deref() == Some(USER)));
    assert_eq!(
        provider.count("refresh_token", "ok"),
        1,
        "{:?}",
        provider.events()
    );
}

#[test]
fn queue_flush_logs_in_with_a_refreshed_token() {
    let provider = Provider::start(3);
    let server = smtp(&provider);
    let rmail = rmail();
    // First the relay is down: the message is kept (75).
    let live = config(&server, &provider, "auth-code", "refresh_before_secs = 1\n");
    let down = live.replace(
        &format!("port = {}\n", server.port()),
        &format!("port = {}\n", crate::support::closed_port()),
    );
    assert_ne!(live, down);
    rmail.write_config(&down);
    login_with_browser(&rmail).assert_code(0);
    send(&rmail, "Kept for later").assert_code(75);
    assert_eq!(rmail.outbox_ids().len(), 1);

    // The relay is back, the access token has expired: flush refreshes and delivers.
    rmail.write_config(&live);
    thread::sleep(Duration::from_secs(3));
    let mut flush = rmail.again();
    flush.args(["queue", "flush"]);
    let run = flush.run();
    run.assert_code(0);
    assert_no_secret(&run, &tokens_of(&rmail));
    let got = server.wait_for(1, WAIT);
    assert_eq!(got[0].auth_user.as_deref(), Some(USER));
    assert_eq!(got[0].parsed().subject(), Some("Kept for later"));
    assert_eq!(provider.count("refresh_token", "ok"), 1);
    assert!(rmail.outbox_ids().is_empty());
}

#[test]
fn a_refused_consent_exits_77_and_stores_nothing() {
    let provider = Provider::start(3600);
    let server = smtp(&provider);
    let rmail = rmail();
    rmail.write_config(&config(&server, &provider, "auth-code", ""));
    let browser = oauth::denying_browser_script(rmail.home());
    let mut login = rmail.again();
    login.env("BROWSER", &browser).args(["login"]);
    let run = login.run();
    run.assert_code(77);
    assert!(run.stderr.contains("access_denied"), "{run}");
    assert!(!token_file(&rmail).exists());
    assert_eq!(provider.count("authorization_code", "ok"), 0);
}

#[test]
fn a_long_merge_gets_a_fresh_token_for_each_new_session() {
    // Tokens live 3 s. The merge sends one row every 4 s; the server cuts the connection in
    // the middle of the second message, so the third needs a new session, opened after the
    // first token expired: it must log in with a refreshed one.
    let provider = Provider::start(3);
    let server = Server::start(
        ServerOptions::starttls()
            .xoauth2_introspect(&provider)
            .drop_in_data()
            .only_transaction(2),
    );
    let rmail = signed_in_short_lived(&server, &provider);
    let run = merge(
        &rmail,
        "+++\nto = \"{{ email }}\"\nsubject = \"Row {{ n }}\"\n+++\nHello\n",
        "n,email\n1,p1@example.com\n2,p2@example.com\n3,p3@example.com\n",
        &["--rate", "0.25"],
    );
    let got = server.wait_for(2, WAIT);
    let subjects: Vec<_> = got
        .iter()
        .map(|m| m.parsed().subject().unwrap_or_default().to_owned())
        .collect();
    assert!(
        subjects.contains(&"Row 1".to_owned()),
        "{subjects:?}\n{run}"
    );
    assert!(
        subjects.contains(&"Row 3".to_owned()),
        "{subjects:?}\n{run}"
    );
    assert!(got.iter().all(|m| m.auth_user.as_deref() == Some(USER)));
    assert!(server.connections() >= 2, "{}", server.session_log());
    assert_eq!(
        provider.count("refresh_token", "ok"),
        1,
        "{:?}",
        provider.events()
    );
    assert!(
        !server.session_log().contains("inactive"),
        "no session tried an expired token:\n{}",
        server.session_log()
    );
    assert_no_secret(&run, &tokens_of(&rmail));
}
