//! Listings for people: `rmail profiles`, `rmail queue list`.

use std::fmt::Write as _;
use std::path::Path;

use crate::config::profile::Profile;
use crate::config::profile::SaveSent;
use crate::delivery::outbox::{Entry, EntryKind};

/// `rmail profiles`: each profile resolved, with the password's source but never its value.
pub(crate) fn profiles(profiles: &[Profile], default: Option<&str>) -> String {
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
            "  server:   {} security={}{provider}",
            p.server,
            p.server.security.as_str()
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
        if let Some(ca) = &p.server.ca_file {
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
        let mut limits = vec![format!("timeout {}s", p.server.timeout.as_secs())];
        if let Some(rate) = p.max_per_second {
            limits.push(format!("max {rate}/s"));
        }
        if p.concurrency > 1 {
            limits.push(format!("{} sessions", p.concurrency));
        }
        let _ = writeln!(out, "  limits:   {}", limits.join(", "));
        if let Some(line) = sent_copy(p) {
            let _ = writeln!(out, "  sent:     {line}");
        }
        if let Some(preset) = p.provider {
            let _ = writeln!(out, "  note:     {}", preset.note);
        }
    }
    out
}

/// What happens to a copy in Sent with this profile, when it has an IMAP side or asks for one.
fn sent_copy(p: &Profile) -> Option<String> {
    let asked = match p.save_sent {
        SaveSent::No => "save_sent off (sendmail and merge copy with --save-sent)",
        SaveSent::Yes => "save_sent = true",
        SaveSent::Always => "save_sent = \"always\"",
    };
    let Some(imap) = &p.imap else {
        return (p.save_sent != SaveSent::No)
            .then(|| format!("{asked}, but no IMAP server: add an [imap] table"));
    };
    let folder = imap
        .sent_folder
        .as_deref()
        .map(|f| format!("\"{f}\""))
        .unwrap_or_else(|| "the \\Sent mailbox".into());
    let mut line = format!(
        "{asked}; copies to {folder} on {} security={}",
        imap.server,
        imap.server.security.as_str()
    );
    if imap.password.is_some() {
        line += " (own password)";
    }
    if imap.provider_keeps_copy {
        line += if p.save_sent == SaveSent::Always {
            "; the provider also keeps its own copy"
        } else {
            "; the provider keeps its own copy of what is sent, so rmail adds none"
        };
    }
    Some(line)
}

/// `rmail queue list`: every kept message, oldest first: the waiting ones with their age,
/// attempts, last error and next attempt, then the failed ones with the reply that failed them.
pub(crate) fn queue(waiting: &[Entry], failed: &[Entry], dir: &Path, now: u64) -> String {
    if waiting.is_empty() && failed.is_empty() {
        return format!("outbox is empty ({})\n", dir.display());
    }
    let mut out = String::new();
    for entry in waiting {
        let next = match entry.meta.next_attempt.saturating_sub(now) {
            0 => "next attempt: at the next flush".to_string(),
            wait => format!("next attempt in {}", age(wait)),
        };
        let last = format!("last error: {}; {next}", entry.meta.last_error);
        entry_line(&mut out, entry, "waiting", &last, now);
    }
    for entry in failed {
        let last = format!("failed: {}", entry.meta.last_error);
        entry_line(&mut out, entry, "failed", &last, now);
    }
    let _ = writeln!(
        out,
        "{} message(s) waiting in {}",
        waiting.len(),
        dir.display()
    );
    if !failed.is_empty() {
        let _ = writeln!(
            out,
            "{} failed message(s) in {} (never sent again: `rmail queue retry ID` or \
             `rmail queue drop --failed`)",
            failed.len(),
            dir.join("failed").display()
        );
    }
    out
}

/// One kept entry: id, state, age, attempts, profile, what it is and its recipients, then
/// `last` (the error, and when it is tried again) on a line of its own.
fn entry_line(out: &mut String, entry: &Entry, state: &str, last: &str, now: u64) {
    let _ = writeln!(
        out,
        "{}  {state}  age {}  attempts {}  profile {}  {} {}\n    {last}",
        entry.id,
        age(now.saturating_sub(entry.meta.queued_at)),
        entry.meta.attempts,
        entry.meta.profile,
        // A delivered message whose copy in Sent is still to be saved says so.
        what(entry),
        entry.meta.recipients.join(", "),
    );
}

/// "to", or what a copy-in-Sent entry is.
fn what(entry: &Entry) -> &'static str {
    match entry.meta.kind {
        EntryKind::Send if entry.meta.sent_copy => "(then a copy for Sent) to",
        EntryKind::Send => "to",
        EntryKind::SentCopy => "copy for Sent, delivered to",
    }
}

fn age(secs: u64) -> String {
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}
