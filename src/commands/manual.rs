//! The parts of the man page that are not options: CONFIGURATION (config.example.toml
//! itself, embedded at build time, so the page and the file cannot disagree), ENVIRONMENT,
//! FILES and EXIT STATUS (from [`ErrorKind::ALL`], the one sysexits mapping).

use crate::error::ErrorKind;

/// The documented example configuration, every key with a comment: the repository's
/// `config.example.toml`, as the man page's CONFIGURATION section shows it.
pub(crate) const CONFIG_EXAMPLE: &str = include_str!("../../config.example.toml");

/// The environment variables rmail reads, and what for.
const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "RMAIL_CONFIG",
        "The configuration file, when --config is not given.",
    ),
    (
        "RMAIL_PROFILE",
        "The profile to use, when -p is not given (else the config's default_profile).",
    ),
    (
        "XDG_CONFIG_HOME",
        "Where the configuration and the user's templates are (default ~/.config).",
    ),
    (
        "XDG_STATE_HOME",
        "Where the outbox is (default ~/.local/state).",
    ),
    (
        "HOME",
        "The home directory; when it is unset (as under cron) the passwd entry's is used.",
    ),
    (
        "SSL_CERT_FILE, SSL_CERT_DIR",
        "Override the system trust store that server certificates are verified against.",
    ),
    (
        "the variable a profile's password_env names",
        "That profile's password (e.g. QQ_AUTH_CODE).",
    ),
];

/// The files and folders rmail reads or writes.
const FILES: &[(&str, &str)] = &[
    (
        "~/.config/rmail/config.toml",
        "The configuration: one [profiles.NAME] table per SMTP account (see CONFIGURATION).",
    ),
    (
        "./templates/, ~/.config/rmail/templates/",
        "Where a template given by name (rmail merge invoice, --template cron-report) is found.",
    ),
    (
        "~/.local/state/rmail/outbox/",
        "Messages kept after a temporary failure, sent by rmail queue flush; failed/ holds \
         the ones a server refused for good.",
    ),
    (
        "DATA.journal",
        "Beside a merge's data file (or --journal): the rows a server accepted, so that a \
         re-run sends only the rest.",
    ),
    (
        "DATA.failed.EXT",
        "Beside a merge's data file: the rows that failed, in the data file's format.",
    ),
    (
        "DIR/index.html",
        "A merge dry run's preview (--dry-run --out-dir DIR): one card per message, beside \
         the .eml files.",
    ),
    (
        "/usr/sbin/sendmail",
        "A link to rmail (the rmail-mta package makes it): rmail then behaves as rmail \
         sendmail, for cron's MAILTO.",
    ),
];

/// The extra sections, in roff, appended to the generated page.
pub(crate) fn sections() -> String {
    let mut roff = String::new();
    roff += ".SH CONFIGURATION\n";
    roff += "The file below is config.example.toml from rmail's sources; it documents every \
             key.\n.PP\n.nf\n";
    for line in CONFIG_EXAMPLE.lines() {
        roff += &literal_line(line);
        roff.push('\n');
    }
    roff += ".fi\n";
    roff += ".SH ENVIRONMENT\n";
    for (name, meaning) in ENVIRONMENT {
        roff += &format!(".TP\n\\fB{}\\fR\n{}\n", text(name), text(meaning));
    }
    roff += ".SH FILES\n";
    for (name, meaning) in FILES {
        roff += &format!(".TP\n\\fI{}\\fR\n{}\n", text(name), text(meaning));
    }
    roff += ".SH \"EXIT STATUS\"\nrmail exits with a sysexits(3) code, so scripts and cron \
             wrappers can tell failures apart.\n";
    roff += ".TP\n\\fB0\\fR\nsent: the server accepted the message (every row of a merge)\n";
    for kind in ErrorKind::ALL {
        roff += &format!(
            ".TP\n\\fB{}\\fR\n{}\n",
            kind.exit_code(),
            text(kind.meaning())
        );
    }
    roff += ".PP\nA merge that did not send every row exits with its worst failure.\n";
    roff
}

/// Prose escaped for roff: backslashes, and the characters groff would otherwise turn into
/// typographic ones (a user copies `-p`, `~/`, `'…'` from the page).
fn text(prose: &str) -> String {
    let mut out = String::with_capacity(prose.len() + 8);
    for c in prose.chars() {
        match c {
            '\\' => out.push_str("\\e"),
            '-' => out.push_str("\\-"),
            '\'' => out.push_str("\\(aq"),
            '`' => out.push_str("\\(ga"),
            '~' => out.push_str("\\(ti"),
            '^' => out.push_str("\\(ha"),
            c => out.push(c),
        }
    }
    out
}

/// One line of a literal (`.nf`) block: escaped, and protected from being read as a roff
/// request when it starts with `.` or `'`.
fn literal_line(line: &str) -> String {
    let escaped = text(line);
    if line.starts_with(['.', '\'']) {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Undoes [`text`] and [`literal_line`].
    fn unescape(roff: &str) -> String {
        roff.strip_prefix("\\&")
            .unwrap_or(roff)
            .replace("\\(aq", "'")
            .replace("\\(ga", "`")
            .replace("\\(ti", "~")
            .replace("\\(ha", "^")
            .replace("\\-", "-")
            .replace("\\e", "\\")
    }

    #[test]
    fn configuration_section_is_config_example_toml() {
        let roff = sections();
        let body = roff
            .split_once(".PP\n.nf\n")
            .and_then(|(_, rest)| rest.split_once("\n.fi\n"))
            .map(|(body, _)| body)
            .unwrap();
        let lines: Vec<String> = body.lines().map(unescape).collect();
        let file =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config.example.toml"))
                .unwrap();
        assert_eq!(lines, file.lines().collect::<Vec<_>>());
        // No line of it can be taken for a roff request.
        assert!(body.lines().all(|l| !l.starts_with(['.', '\''])), "{body}");
    }

    #[test]
    fn exit_status_lists_every_code_once() {
        let roff = sections();
        let exit = roff.split_once(".SH \"EXIT STATUS\"").unwrap().1;
        for kind in ErrorKind::ALL {
            let entry = format!(".TP\n\\fB{}\\fR\n", kind.exit_code());
            assert_eq!(exit.matches(&entry).count(), 1, "{kind:?}");
        }
        let codes: Vec<u8> = ErrorKind::ALL.iter().map(|k| k.exit_code()).collect();
        assert!(codes.windows(2).all(|w| w[0] < w[1]), "{codes:?}");
    }
}
