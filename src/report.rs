//! Text for people: the profile listing and the delivery log.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

use crate::profile::Profile;

/// `rmail profiles`: each profile resolved, with the password's source but never its value.
pub fn profiles(profiles: &[Profile], default: Option<&str>) -> String {
    let mut out = String::new();
    for p in profiles {
        let marker = if default == Some(p.name.as_str()) {
            " (default)"
        } else {
            ""
        };
        let _ = writeln!(out, "{}{marker}", p.name);
        let provider = p
            .provider
            .map(|pr| format!(", provider {}", pr.name))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  server:   {}:{} security={}{provider}",
            p.host,
            p.port,
            p.security.as_str()
        );
        if let Some(user) = &p.username {
            let auth = p
                .auth
                .map(|a| a.as_str())
                .unwrap_or("what the server offers");
            let _ = writeln!(out, "  username: {user} (auth: {auth})");
        }
        let _ = writeln!(
            out,
            "  password: {}",
            p.password
                .as_ref()
                .map(|s| s.describe())
                .unwrap_or_else(|| "none".into())
        );
        if let Some(from) = &p.from {
            let _ = writeln!(out, "  from:     {from}");
        }
        if let Some(reply_to) = &p.reply_to {
            let _ = writeln!(out, "  reply-to: {reply_to}");
        }
        if let Some(ca) = &p.ca_file {
            let _ = writeln!(out, "  ca_file:  {}", ca.display());
        }
        if let Some(pin) = &p.tls_fingerprint {
            let _ = writeln!(out, "  pinned:   {pin}");
        }
        if let Some(dkim) = &p.dkim {
            let _ = writeln!(
                out,
                "  dkim:     d={} s={} {} key {}",
                dkim.domain,
                dkim.selector,
                dkim.algorithm.as_str(),
                dkim.private_key_file.display()
            );
        }
        let mut limits = vec![format!("timeout {}s", p.timeout.as_secs())];
        if let Some(rate) = p.max_per_second {
            limits.push(format!("max {rate}/s"));
        }
        if p.concurrency > 1 {
            limits.push(format!("{} sessions", p.concurrency));
        }
        let _ = writeln!(out, "  limits:   {}", limits.join(", "));
        if let Some(preset) = p.provider {
            let _ = writeln!(out, "  note:     {}", preset.note);
        }
    }
    out
}

/// How one delivery attempt ended, for the delivery log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    /// Temporary failure; the message is in the outbox.
    Queued,
    /// Temporary failure of a message already in the outbox; it stays there.
    Deferred,
    Failed,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Sent => "sent",
            Outcome::Queued => "queued",
            Outcome::Deferred => "deferred",
            Outcome::Failed => "failed",
        }
    }
}

/// One line of the delivery log: who sent what to whom, and what the server said.
#[derive(Debug, Clone)]
pub struct Delivery<'a> {
    pub profile: &'a str,
    pub from: &'a str,
    pub recipients: &'a [String],
    pub size: usize,
    pub outcome: Outcome,
    /// The server's reply, or the error.
    pub detail: &'a str,
}

impl Delivery<'_> {
    /// `2026-11-21T23:31:40Z profile=work from=a@x to=b@x,c@x size=1234 result=sent reply="250 ok"`,
    /// in the spirit of msmtp's log.
    pub fn log_line(&self, unix_time: u64) -> String {
        format!(
            "{} profile={} from={} to={} size={} result={} reply={:?}",
            timestamp(unix_time),
            self.profile,
            self.from,
            self.recipients.join(","),
            self.size,
            self.outcome.as_str(),
            self.detail
        )
    }
}

/// Where delivery log lines go: the config's `log_file`, and stderr with `-v`.
#[derive(Debug, Clone, Default)]
pub struct DeliveryLog {
    pub file: Option<PathBuf>,
    pub verbose: bool,
}

impl DeliveryLog {
    /// Writes the line. A log that cannot be written must not fail the delivery it
    /// records, so that problem is only reported on stderr.
    pub fn record(&self, delivery: &Delivery<'_>) {
        if self.file.is_none() && !self.verbose {
            return;
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let line = delivery.log_line(now);
        if self.verbose {
            eprintln!("rmail: {line}");
        }
        if let Some(path) = &self.file {
            let written = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .and_then(|mut f| f.write_all(format!("{line}\n").as_bytes()));
            if let Err(e) = written {
                eprintln!(
                    "rmail: warning: cannot write log_file {}: {e}",
                    path.display()
                );
            }
        }
    }
}

/// ISO 8601 UTC time of a Unix timestamp: `2026-11-21T23:31:40Z`.
pub fn timestamp(unix_time: u64) -> String {
    let days = (unix_time / 86_400) as i64;
    let secs = unix_time % 86_400;
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(timestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(timestamp(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(timestamp(1_795_304_700), "2026-11-21T23:45:00Z");
    }

    #[test]
    fn log_line_shape() {
        let rcpts = vec!["b@x.com".to_string(), "c@x.com".to_string()];
        let line = Delivery {
            profile: "work",
            from: "a@x.com",
            recipients: &rcpts,
            size: 42,
            outcome: Outcome::Sent,
            detail: "250 2.0.0 Ok",
        }
        .log_line(0);
        assert_eq!(
            line,
            "1970-01-01T00:00:00Z profile=work from=a@x.com to=b@x.com,c@x.com size=42 result=sent reply=\"250 2.0.0 Ok\""
        );
    }
}
