//! `rmail queue flush`: every kept message sent over one connection per profile.

use std::collections::HashMap;

use crate::delivery::deliver;
use crate::delivery::log::{Delivery, DeliveryLog, Outcome};
use crate::delivery::outbox::{Entry, Outbox};
use crate::error::{Error, Result};
use crate::mime::data::MessageData;
use crate::settings::queue::FlushProfiles;
use crate::smtp::session::Session;

/// What a flush did: how many were sent, and each message kept with why.
#[derive(Debug, Default)]
pub(crate) struct Flushed {
    pub(crate) sent: usize,
    pub(crate) kept: Vec<(String, Error)>,
}

impl Flushed {
    /// The failure a flush of many messages exits with: the most severe one.
    pub(crate) fn worst(&self) -> Option<&Error> {
        self.kept
            .iter()
            .map(|(_, e)| e)
            .max_by_key(|e| e.kind().severity())
    }
}

/// Sends every kept message. Each is removed only after a server accepted it; a failure
/// keeps it with the new error. Holds the outbox lock throughout, so a second flush waits
/// and then finds only what is still left: no message is sent twice.
///
/// One connection per profile carries all of its messages; a profile whose server cannot be
/// reached is tried once, not once per message (a queue of fifty behind a dead relay must
/// not wait out fifty timeouts).
pub(crate) fn flush(
    profiles: &FlushProfiles,
    outbox: &Outbox,
    log: &DeliveryLog,
) -> Result<Flushed> {
    let _lock = outbox.lock()?;
    let entries = outbox.list()?;
    let mut connections: HashMap<String, Connection> = HashMap::new();
    let mut flushed = Flushed::default();
    for entry in &entries {
        let result = outbox
            .message(entry)
            .and_then(|message| send_kept(profiles, &mut connections, entry, message, log));
        match result {
            Ok(_) => {
                outbox.remove(&entry.id)?;
                flushed.sent += 1;
            }
            Err(err) => {
                outbox.record_failure(entry, err.reply().unwrap_or(err.message()))?;
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

/// A profile's connection during a flush.
enum Connection {
    Open(Box<Session>),
    /// Connecting (or logging in) failed: the rest of its messages get the same error.
    Down(Error),
}

/// Sends one kept message over its profile's connection, opening it if needed.
fn send_kept(
    profiles: &FlushProfiles,
    connections: &mut HashMap<String, Connection>,
    entry: &Entry,
    message: Vec<u8>,
    log: &DeliveryLog,
) -> Result<String> {
    let profile = profiles.for_entry(&entry.id, &entry.meta)?;
    // One connection per profile as resolved: the same name in two config files is two
    // profiles.
    let name = &format!(
        "{}\0{}",
        profile
            .config_file
            .as_deref()
            .unwrap_or(std::path::Path::new(""))
            .display(),
        profile.name
    );
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
