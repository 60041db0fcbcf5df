//! The delivery log: one line per delivery attempt, to `log_file` and, with `-v`, stderr.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::message::spec::Envelope;
use crate::settings::LogSettings;
use crate::time;
use crate::trace;

/// How one delivery attempt ended, for the delivery log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
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
pub(crate) struct Delivery<'a> {
    pub(crate) profile: &'a str,
    pub(crate) from: &'a str,
    pub(crate) recipients: &'a [String],
    pub(crate) size: usize,
    pub(crate) outcome: Outcome,
    /// The server's reply, or the error.
    pub(crate) detail: &'a str,
}

impl<'a> Delivery<'a> {
    /// An attempt to send `envelope` (`size` bytes) with the profile `profile`.
    pub(crate) fn of(
        profile: &'a str,
        envelope: &'a Envelope,
        size: usize,
        outcome: Outcome,
        detail: &'a str,
    ) -> Delivery<'a> {
        Delivery {
            profile,
            from: &envelope.from,
            recipients: &envelope.recipients,
            size,
            outcome,
            detail,
        }
    }

    /// `2026-11-21T23:31:40Z profile=work from=a@x to=b@x,c@x size=1234 result=sent reply="250 ok"`,
    /// in the spirit of msmtp's log.
    pub(crate) fn log_line(&self, unix_time: u64) -> String {
        format!(
            "{} profile={} from={} to={} size={} result={} reply={:?}",
            time::timestamp(unix_time),
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
#[derive(Debug, Default)]
pub(crate) struct DeliveryLog {
    pub(crate) file: Option<PathBuf>,
    pub(crate) verbose: bool,
    /// A log file that cannot be written is warned about once a run, not once a message.
    warned: AtomicBool,
}

impl DeliveryLog {
    pub(crate) fn new(file: Option<PathBuf>, verbose: bool) -> DeliveryLog {
        DeliveryLog {
            file,
            verbose,
            warned: AtomicBool::new(false),
        }
    }
}

impl From<&LogSettings> for DeliveryLog {
    fn from(settings: &LogSettings) -> Self {
        DeliveryLog::new(settings.file.clone(), settings.verbose)
    }
}

impl DeliveryLog {
    /// Writes the line. A log that cannot be written must not fail the delivery it
    /// records, so that problem is only warned about, the first time.
    pub(crate) fn record(&self, delivery: &Delivery<'_>) {
        if self.file.is_none() && !self.verbose {
            return;
        }
        let line = delivery.log_line(time::now());
        if self.verbose {
            trace::verbose(&format!("rmail: {line}"));
        }
        if let Some(path) = &self.file {
            // Private: the log names who got mail from whom, and the servers' replies. Its
            // missing folders are created (0700).
            let written =
                crate::private::open(path, std::fs::OpenOptions::new().create(true).append(true))
                    .and_then(|mut f| f.write_all(format!("{line}\n").as_bytes()));
            if let Err(e) = written
                && !self.warned.swap(true, Ordering::Relaxed)
            {
                trace::warning(&format!(
                    "cannot write log_file {}: {e} (the deliveries are not logged)",
                    path.display()
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
