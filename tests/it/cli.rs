//! Bad input gets one clear line, the right exit code, and nothing is sent. Also the
//! configuration commands (`profiles`) and the usage conventions.

use std::time::Duration;

use crate::support::{Server, rmail};

/// A server and a sealed rmail configured for it; the server must receive nothing.
fn setup() -> (Server, crate::support::Rmail) {
    let server = Server::plain();
    let rmail = crate::support::rmail_for(&server, "t", "me@example.com", "");
    (server, rmail)
}

fn assert_one_line(run: &crate::support::Run) {
    assert_eq!(
        run.stderr.trim_end().lines().count(),
        1,
        "one line on stderr: {run}"
    );
    assert!(!run.stderr.contains("panicked"), "{run}");
}

#[test]
fn line_breaks_in_headers_are_refused() {
    let cases: &[&[&str]] = &[
        &[
            "--to",
            "a@example.com",
            "-s",
            "hi\r\nBcc: victim@example.com",
        ],
        &["--to", "a@example.com", "-s", "hi\nX-Injected: 1"],
        &[
            "--to",
            "a@example.com\r\nBcc: victim@example.com",
            "-s",
            "hi",
        ],
        &[
            "--to",
            "a@example.com",
            "-s",
            "hi",
            "-H",
            "X-Job: a\r\nBcc: victim@example.com",
        ],
        &[
            "--to",
            "a@example.com",
            "-s",
            "hi",
            "--from",
            "me@example.com\nBcc: v@example.com",
        ],
    ];
    for args in cases {
        let (server, mut rmail) = setup();
        rmail.arg("send").args(*args).args(["--text", "body"]);
        let run = rmail.run();
        run.assert_code(65);
        assert_one_line(&run);
        assert!(run.stderr.contains("line break"), "{run}");
        server.assert_nothing_sent();
    }
}

#[test]
fn bad_addresses_are_data_errors() {
    for bad in ["nobody", "a@", "@example.com", "Ann <ann@example.com"] {
        let (server, mut rmail) = setup();
        rmail.args(["send", "--to", bad, "--text", "x"]);
        let run = rmail.run();
        run.assert_code(65);
        assert_one_line(&run);
        assert!(run.stderr.contains("invalid address"), "{run}");
        server.assert_nothing_sent();
    }
}

#[test]
fn missing_files_exit_66() {
    for flag in ["--attach", "--text-file", "--html-file", "--inline"] {
        let (server, mut rmail) = setup();
        rmail.args(["send", "--to", "a@example.com", "-s", "x"]);
        if flag != "--text-file" {
            rmail.args(["--text", "x"]);
        }
        if flag == "--inline" {
            rmail.args(["--html-file", "tests/it/fixtures/report.html"]);
        }
        rmail.args([flag, "no/such/file.pdf"]);
        let run = rmail.run();
        run.assert_code(66);
        assert_one_line(&run);
        assert!(run.stderr.contains("no/such/file.pdf"), "{run}");
        server.assert_nothing_sent();
    }
}

#[test]
fn usage_errors_exit_64() {
    let (server, rmail) = setup();
    for args in [
        vec!["send", "--bogus"],
        vec!["send", "-s", "no recipient", "--text", "x"],
        vec![
            "send",
            "--to",
            "a@example.com",
            "--text",
            "x",
            "-H",
            "no colon",
        ],
        vec![
            "send",
            "--to",
            "a@example.com",
            "--text",
            "x",
            "-H",
            "Bcc: b@example.com",
        ],
        vec![
            "send",
            "--to",
            "a@example.com",
            "--inline",
            "tests/it/fixtures/logo.png",
        ],
        vec!["frobnicate"],
        vec![],
    ] {
        let mut r = rmail.again();
        r.args(&args);
        let run = r.run();
        run.assert_code(64);
        assert!(!run.stderr.contains("panicked"), "{run}");
    }
    server.assert_nothing_sent();
}

#[test]
fn help_and_version_exit_0() {
    let mut r = rmail();
    r.args(["send", "--help"]);
    let run = r.run();
    run.assert_success();
    assert!(run.stdout.contains("--attach"), "{run}");
    assert!(run.stdout.contains("Examples:"), "{run}");
    let mut r = rmail();
    r.arg("--version");
    r.run().assert_success();
}

#[test]
fn global_options_after_the_subcommand() {
    let (server, rmail) = setup();
    let config = rmail.config_path();
    let mut r = crate::support::rmail();
    r.args([
        "send",
        "--to",
        "a@example.com",
        "--text",
        "x",
        "-v",
        "--config",
    ])
    .arg(&config)
    .args(["-p", "t"]);
    let run = r.run();
    run.assert_success();
    assert!(
        run.stderr.contains("smtp: -> MAIL FROM:<me@example.com>"),
        "{run}"
    );
    assert_eq!(server.wait_for(1, Duration::from_secs(5)).len(), 1);
}

#[test]
fn unknown_profile_exits_78_and_lists_profiles() {
    let (server, mut rmail) = setup();
    rmail.args(["send", "-p", "nope", "--to", "a@example.com", "--text", "x"]);
    let run = rmail.run();
    run.assert_code(78);
    assert_one_line(&run);
    assert!(
        run.stderr.contains("unknown profile 'nope'") && run.stderr.contains(": t\n"),
        "{run}"
    );
    server.assert_nothing_sent();
}

#[test]
fn config_errors_name_file_line_and_key() {
    let cases = [
        ("[profiles.a]\nhost = \"h\"\nprot = 25\n", ":3:", "prot"),
        ("[profiles.a]\nport = \"twenty-five\"\n", ":2:", "port"),
        ("[profiles.a]\nsecurity = \"ssl\"\n", ":2:", "security"),
        (
            "default_profile = \"a\"\n[profiles.a]\nprovider = \"gmial\"\n",
            ":3:",
            "gmial",
        ),
        ("[profiles.a\nhost = 1\n", ":1:", ""),
    ];
    for (text, line, key) in cases {
        let mut r = rmail();
        let path = r.write_config(text);
        r.args(["send", "--to", "a@example.com", "--text", "x"]);
        let run = r.run();
        run.assert_code(78);
        assert_one_line(&run);
        assert!(
            run.stderr.contains(&format!("{}{line}", path.display())),
            "{text}: {run}"
        );
        assert!(run.stderr.contains(key), "{text}: {run}");
    }
    // A config file named explicitly must exist.
    let mut r = rmail();
    r.args(["--config", "/no/such/rmail.toml", "profiles"]);
    let run = r.run();
    run.assert_code(78);
    assert!(run.stderr.contains("/no/such/rmail.toml"), "{run}");
}

#[test]
fn profiles_show_presets_and_password_sources_never_passwords() {
    let mut r = rmail();
    r.write_config(
        "default_profile = \"qq\"\n\
         [profiles.qq]\nprovider = \"qq\"\nusername = \"12345@qq.com\"\npassword_env = \"QQ_AUTH_CODE\"\n\
         [profiles.plain]\nhost = \"smtp.example.com\"\nusername = \"u\"\npassword = \"Sup3r-Secret!\"\n\
         [profiles.cmd]\nprovider = \"gmail\"\nusername = \"me@gmail.com\"\npassword_command = \"pass show gmail\"\n",
    );
    r.env("QQ_AUTH_CODE", "env-secret-value").arg("profiles");
    let run = r.run();
    run.assert_success();
    let out = &run.stdout;
    assert!(out.contains("qq (default)"), "{run}");
    assert!(out.contains("smtp.qq.com:465 security=tls"), "{run}");
    assert!(
        out.contains("authorization code"),
        "QQ's quirk is shown: {run}"
    );
    assert!(out.contains("environment variable $QQ_AUTH_CODE"), "{run}");
    assert!(
        out.contains("smtp.gmail.com:587 security=starttls"),
        "{run}"
    );
    assert!(out.contains("command `pass show gmail`"), "{run}");
    assert!(out.contains("smtp.example.com:587"), "{run}");
    for secret in ["Sup3r-Secret!", "env-secret-value"] {
        assert!(
            !out.contains(secret) && !run.stderr.contains(secret),
            "{run}"
        );
    }
}

#[test]
fn readable_password_file_gets_a_warning() {
    let mut r = rmail();
    let path =
        r.write_config("[profiles.a]\nhost = \"h\"\nusername = \"u\"\npassword = \"pw-123\"\n");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    r.arg("profiles");
    let run = r.run();
    run.assert_success();
    assert!(run.stderr.contains("chmod 600"), "{run}");
    assert!(!run.stderr.contains("pw-123"), "{run}");

    let mut private = r.again();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    private.arg("profiles");
    let run = private.run();
    assert!(!run.stderr.contains("chmod"), "{run}");
}

#[test]
fn no_config_means_dry_run_only() {
    let mut r = rmail();
    r.args(["send", "--to", "a@example.com", "--text", "x"]);
    let run = r.run();
    run.assert_code(78);
    assert!(run.stderr.contains("config.example.toml"), "{run}");
}
