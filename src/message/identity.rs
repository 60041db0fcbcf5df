//! What makes a message itself: its Message-ID and Date, fixed once so that every
//! rendering (dry run, `--eml`, the wire, a DKIM signature) is the same message.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::message::address::Mailbox;
use crate::message::spec::{Header, MessageSpec};

/// Fixes the Message-ID and Date of a message as headers, so that every rendering of it
/// is the same message.
pub(crate) fn pin_identity(spec: &mut MessageSpec) {
    if !spec.headers.iter().any(|h| h.name == "Message-ID") {
        let id = new_message_id(spec.from.as_ref().map_or("localhost", Mailbox::domain));
        spec.headers.push(Header {
            name: "Message-ID".into(),
            value: format!("<{id}>"),
        });
    }
    if !spec.headers.iter().any(|h| h.name == "Date") {
        spec.headers.push(Header {
            name: "Date".into(),
            value: date_now(),
        });
    }
}

/// Now, as an RFC 5322 `Date` header value.
pub(crate) fn date_now() -> String {
    mail_builder::headers::date::Date::new(crate::time::now() as i64).to_rfc822()
}

/// A globally unique Message-ID (without the angle brackets) in the sender's domain: time,
/// process, a per-process random number and a sequence number. The random part is drawn
/// once per process; a merge makes thousands of ids.
pub(crate) fn new_message_id(domain: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    static PROCESS: std::sync::OnceLock<(u32, u64)> = std::sync::OnceLock::new();
    let (pid, random) = *PROCESS.get_or_init(|| {
        let mut random = [0u8; 8];
        // Without randomness the time, pid and counter are still unique on this host.
        let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut random);
        (std::process::id(), u64::from_le_bytes(random))
    });
    let nanos = crate::time::now_nanos();
    format!(
        "{:x}.{:x}.{}.{:x}@{}",
        nanos,
        pid,
        COUNTER.fetch_add(1, Ordering::Relaxed),
        random,
        domain
    )
}
