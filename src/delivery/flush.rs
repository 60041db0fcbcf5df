//! `rmail queue flush`: every kept message sent over one connection per profile.

use std::collections::{BTreeMap, HashMap};

use crate::config::profile::Profile;
use crate::delivery::deliver;
use crate::delivery::log::{Delivery, DeliveryLog, Outcome};
use crate::delivery::outbox::{Entry, Outbox};
use crate::error::{Error, Result};
use crate::mime::data::MessageData;
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
    profiles: &BTreeMap<String, Result<Profile>>,
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
    log.record(&Delivery {
        profile: &profile.name,
        from: &envelope.from,
        recipients: &envelope.recipients,
        size,
        outcome: match &reply {
            Ok(_) => Outcome::Sent,
            Err(e) if e.is_temporary() => Outcome::Deferred,
            Err(_) => Outcome::Failed,
        },
        detail: match &reply {
            Ok(r) => r,
            Err(e) => e.reply().unwrap_or(e.message()),
        },
    });
    reply
}
