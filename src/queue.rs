//! `rmail queue list | flush | drop`: the outbox as the user sees it.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::config::LoadedConfig;
use crate::deliver;
use crate::error::{Error, Result};
use crate::mime::MessageData;
use crate::outbox::{Entry, Outbox};
use crate::profile;
use crate::report::{Delivery, DeliveryLog, Outcome};
use crate::transport::Session;

/// Prints every kept message.
pub fn list(outbox: &Outbox) -> Result<()> {
    let entries = outbox.list()?;
    if entries.is_empty() {
        println!("outbox is empty ({})", outbox.dir().display());
        return Ok(());
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    for entry in &entries {
        println!(
            "{}  age {}  attempts {}  profile {}  to {}\n    last error: {}",
            entry.id,
            age(now.saturating_sub(entry.meta.queued_at)),
            entry.meta.attempts,
            entry.meta.profile,
            entry.meta.recipients.join(", "),
            entry.meta.last_error
        );
    }
    println!("{} message(s) in {}", entries.len(), outbox.dir().display());
    Ok(())
}

/// Sends every kept message. Each is removed only after a server accepted it; a failure
/// keeps it with the new error. Holds the outbox lock throughout, so a second flush waits
/// and then finds only what is still left: no message is sent twice.
///
/// One connection per profile carries all of its messages; a profile whose server cannot be
/// reached is tried once, not once per message (a queue of fifty behind a dead relay must
/// not wait out fifty timeouts).
pub fn flush(config: &LoadedConfig, outbox: &Outbox, log: &DeliveryLog) -> Result<()> {
    let _lock = outbox.lock()?;
    let entries = outbox.list()?;
    let mut connections: HashMap<String, Connection> = HashMap::new();
    let (mut sent, mut worst): (usize, Option<Error>) = (0, None);
    for entry in &entries {
        let result = outbox
            .message(entry)
            .and_then(|message| send_kept(config, &mut connections, entry, message, log));
        match result {
            Ok(_) => {
                outbox.remove(&entry.id)?;
                sent += 1;
            }
            Err(err) => {
                eprintln!("rmail: {} kept: {err}", entry.id);
                outbox.record_failure(entry, err.reply().unwrap_or(err.message()))?;
                if worst
                    .as_ref()
                    .is_none_or(|w| err.kind().severity() > w.kind().severity())
                {
                    worst = Some(err);
                }
            }
        }
    }
    for connection in connections.into_values() {
        if let Connection::Open(session) = connection {
            session.quit();
        }
    }
    let kept = entries.len() - sent;
    if log.verbose || kept > 0 {
        eprintln!(
            "rmail: queue flush: {sent} sent, {kept} kept in {}",
            outbox.dir().display()
        );
    }
    match worst {
        None => Ok(()),
        Some(err) => Err(Error::new(
            err.kind(),
            format!(
                "{kept} message(s) still in the outbox; the worst failure: {}",
                err.message()
            ),
        )),
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
    config: &LoadedConfig,
    connections: &mut HashMap<String, Connection>,
    entry: &Entry,
    message: Vec<u8>,
    log: &DeliveryLog,
) -> Result<String> {
    let name = &entry.meta.profile;
    let profile = profile::select(config, Some(name))?
        .ok_or_else(|| Error::config(format!("profile '{name}' is gone")))?;
    let envelope = entry.envelope();
    let size = message.len();
    let session = match connections.remove(name) {
        Some(Connection::Open(session)) => Ok(*session),
        Some(Connection::Down(err)) => Err(err),
        None => deliver::connect(&profile, log.verbose),
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

/// Removes one message without sending it.
pub fn drop(outbox: &Outbox, id: &str) -> Result<()> {
    let _lock = outbox.lock()?;
    outbox.remove(id)?;
    println!("dropped {id}");
    Ok(())
}

fn age(secs: u64) -> String {
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}
