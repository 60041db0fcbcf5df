//! `rmail queue flush` and `queue retry`: the kept messages that are due, sent over one
//! connection per profile; a permanent refusal or an expired message moves to `failed/`.

use std::collections::{BTreeMap, HashMap};

use crate::config::profile::Profile;
use crate::delivery::deliver;
use crate::delivery::log::{Delivery, DeliveryLog, Outcome};
use crate::delivery::outbox::{Entry, Outbox, unknown_id};
use crate::error::{Error, ErrorKind, Result};
use crate::message::spec::Envelope;
use crate::mime::data::MessageData;
use crate::smtp::session::Session;

/// What a flush did: how many were sent, each message kept with why, each moved to
/// `failed/` (refused for good, or expired) with why, and how many were not due yet.
#[derive(Debug, Default)]
pub(crate) struct Flushed {
    pub(crate) sent: usize,
    pub(crate) kept: Vec<(String, Error)>,
    pub(crate) failed: Vec<(String, Error)>,
    pub(crate) waiting: usize,
}

impl Flushed {
    /// The failure a flush of many messages exits with: the most severe one.
    pub(crate) fn worst(&self) -> Option<&Error> {
        self.kept
            .iter()
            .chain(&self.failed)
            .map(|(_, e)| e)
            .max_by_key(|e| e.kind().severity())
    }
}

/// Which kept messages a flush tries.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Which<'a> {
    /// Every message whose backoff is over; expired ones move to `failed/`.
    Due,
    /// Every waiting message, backoff or not (`queue flush --now`); expired ones still move.
    Waiting,
    /// This one now, whatever its backoff or age (`queue retry ID`).
    One(&'a str),
}

/// Sends every kept message. Each is removed only after a server accepted it; a failure
/// keeps it with the new error. Holds the outbox lock throughout, so a second flush waits
/// and then finds only what is still left: no message is sent twice.
///
/// One connection per profile carries all of its messages; a profile whose server cannot be
/// reached is tried once, not once per message (a queue of fifty behind a dead relay must
/// not wait out fifty timeouts).
/// Prepares a sendmail message kept as it was read (see [`Outbox::store_unprepared`]):
/// from the entry and its input, the profile name, the envelope and the bytes to send.
pub(crate) type Prepare<'a> = dyn Fn(&Entry, &[u8]) -> Result<(String, Envelope, Vec<u8>)> + 'a;

pub(crate) fn flush(
    profiles: &BTreeMap<String, Result<Profile>>,
    outbox: &Outbox,
    log: &DeliveryLog,
    lifetime: u64,
    which: Which<'_>,
    prepare: &Prepare<'_>,
) -> Result<Flushed> {
    let _lock = outbox.lock()?;
    let now = crate::time::now();
    let entries = match which {
        Which::Due | Which::Waiting => outbox.list()?,
        Which::One(id) => vec![take_for_retry(outbox, id)?],
    };
    let mut connections: HashMap<String, Connection> = HashMap::new();
    let mut flushed = Flushed::default();
    for entry in &entries {
        let age = now.saturating_sub(entry.meta.queued_at);
        if !matches!(which, Which::One(_)) {
            if age > lifetime {
                let why = format!(
                    "expired after {} in the outbox (queue_lifetime {}); last error: {}",
                    human(age),
                    human(lifetime),
                    entry.meta.last_error
                );
                let mut meta = entry.meta.clone();
                meta.last_error = why.clone();
                outbox.move_to(&outbox.failed(), &entry.id, &meta)?;
                flushed
                    .failed
                    .push((entry.id.clone(), Error::new(ErrorKind::Unavailable, why)));
                continue;
            }
            if matches!(which, Which::Due) && entry.meta.next_attempt > now {
                flushed.waiting += 1;
                continue;
            }
        }
        let entry = &match ready(outbox, entry, prepare) {
            Ok(entry) => entry,
            Err(err) => {
                outbox.record_failure(entry, err.message(), now)?;
                flushed.kept.push((entry.id.clone(), err));
                continue;
            }
        };
        let result = outbox
            .message(entry)
            .and_then(|message| send_kept(profiles, &mut connections, entry, message, log));
        match result {
            Ok(_) => {
                outbox.remove(&entry.id)?;
                flushed.sent += 1;
            }
            Err(err) if err.is_permanent() => {
                // Refused for good: sending it again cannot help. Kept with the reply in
                // failed/, reported this once.
                let mut meta = entry.meta.clone();
                meta.attempts = meta.attempts.saturating_add(1);
                meta.last_attempt = now;
                meta.last_error = err.reply().unwrap_or(err.message()).to_string();
                outbox.move_to(&outbox.failed(), &entry.id, &meta)?;
                flushed.failed.push((entry.id.clone(), err));
            }
            Err(err) => {
                outbox.record_failure(entry, err.reply().unwrap_or(err.message()), now)?;
                flushed.kept.push((entry.id.clone(), err));
            }
        }
    }
    for connection in connections.into_values() {
        if let Connection::Open(session) = connection {
            session.quit();
        }
    }
    Ok(flushed)
}

/// The entry as it can be sent: an unprepared one is prepared (and rewritten) first.
fn ready(outbox: &Outbox, entry: &Entry, prepare: &Prepare<'_>) -> Result<Entry> {
    if entry.meta.unprepared.is_none() {
        return Ok(entry.clone());
    }
    let input = outbox.message(entry)?;
    let (profile, envelope, message) = prepare(entry, &input)?;
    outbox.prepared(entry, &profile, &envelope, &message)?;
    outbox.get(&entry.id)?.ok_or_else(|| unknown_id(&entry.id))
}

/// The entry `queue retry ID` names: a waiting one, or a failed one moved back to wait.
fn take_for_retry(outbox: &Outbox, id: &str) -> Result<Entry> {
    if let Some(entry) = outbox.get(id)? {
        return Ok(entry);
    }
    let failed = outbox.failed();
    let entry = failed.get(id)?.ok_or_else(|| unknown_id(id))?;
    failed.move_to(outbox, &entry.id, &entry.meta)?;
    Ok(entry)
}

/// `432000` → `5d`, `7200` → `2h`: how people say a queue age.
pub(crate) fn human(secs: u64) -> String {
    match secs {
        s if s % 86_400 == 0 && s > 0 => format!("{}d", s / 86_400),
        s if s >= 172_800 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 && s > 0 => format!("{}h", s / 3600),
        s if s >= 7200 => format!("{}h", s / 3600),
        s if s >= 120 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// A profile's connection during a flush.
enum Connection {
    Open(Box<Session>),
    /// Connecting (or logging in) failed: the rest of its messages get the same error.
    Down(Error),
}

/// Sends one kept message over its profile's connection, opening it if needed.
fn send_kept(
    profiles: &BTreeMap<String, Result<Profile>>,
    connections: &mut HashMap<String, Connection>,
    entry: &Entry,
    message: Vec<u8>,
    log: &DeliveryLog,
) -> Result<String> {
    let name = &entry.meta.profile;
    let profile = match profiles.get(name) {
        Some(Ok(profile)) => profile,
        Some(Err(err)) => return Err(err.clone()),
        None => {
            return Err(Error::config(format!(
                "profile '{name}' is not in the config any more; add it back or `rmail queue drop {}`",
                entry.id
            )));
        }
    };
    let envelope = entry.envelope();
    let size = message.len();
    let session = match connections.remove(name) {
        Some(Connection::Open(session)) => Ok(*session),
        Some(Connection::Down(err)) => Err(err),
        None => deliver::connect(profile, log.verbose),
    };
    let reply = match session {
        Err(err) => {
            connections.insert(name.clone(), Connection::Down(err.clone()));
            Err(err)
        }
        Ok(mut session) => {
            let reply = session.send_data(&envelope, &MessageData::from(message));
            // A refused message leaves the session usable; a broken one is reopened for
            // the next message.
            if !session.is_broken() {
                connections.insert(name.clone(), Connection::Open(Box::new(session)));
            }
            reply
        }
    };
    let (outcome, detail) = match &reply {
        Ok(r) => (Outcome::Sent, r.as_str()),
        Err(e) if e.is_temporary() => (Outcome::Deferred, e.reply().unwrap_or(e.message())),
        Err(e) => (Outcome::Failed, e.reply().unwrap_or(e.message())),
    };
    log.record(&Delivery::of(
        &profile.name,
        &envelope,
        size,
        outcome,
        detail,
    ));
    reply
}
