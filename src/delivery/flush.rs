//! `rmail queue flush` and `queue retry`: the kept messages that are due, sent over one
//! connection per profile, and every kept copy in Sent saved over one IMAP session per
//! profile; a permanent refusal or an expired message moves to `failed/`.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use crate::config::profile::Profile;

use crate::delivery::deliver;
use crate::delivery::log::{Delivery, DeliveryLog, Outcome};
use crate::delivery::outbox::{Entry, EntryKind, Outbox, unknown_id};
use crate::error::{Error, ErrorKind, Result};
use crate::imap::{self, Account, Saver};
use crate::message::spec::Envelope;
use crate::mime::data::MessageData;
use crate::settings::queue::FlushProfiles;
use crate::smtp::session::Session;

/// What a flush did: how many were sent, each message kept with why, each moved to
/// `failed/` (refused for good, or expired) with why, and how many were not due yet.
#[derive(Debug, Default)]
pub(crate) struct Flushed {
    pub(crate) sent: usize,
    /// Copies of delivered messages saved in Sent.
    pub(crate) copies: usize,
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
    profiles: &FlushProfiles,
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
    let accounts = sent_copy_accounts(profiles, &entries);
    let mut copies = Copies {
        profiles,
        accounts: &accounts,
        savers: HashMap::new(),
    };
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
        let copy = entry.meta.kind == EntryKind::SentCopy;
        let result = outbox.message(entry).and_then(|message| {
            if copy {
                copies.save(entry, &message)
            } else {
                // Mail that wants its copy in Sent keeps its bytes for it.
                let sent = entry.meta.sent_copy.then(|| message.clone());
                let reply = send_kept(profiles, &mut connections, entry, message, log)?;
                if let Some(sent) = sent {
                    copies.after_flush(outbox, entry, &sent, &mut flushed);
                }
                Ok(reply)
            }
        });
        match result {
            Ok(_) => {
                outbox.remove(&entry.id)?;
                if copy {
                    flushed.copies += 1;
                } else {
                    flushed.sent += 1;
                }
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
    copies.close();
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

/// The IMAP account of each profile that has copies waiting (or why it cannot have one).
fn sent_copy_accounts(
    profiles: &FlushProfiles,
    entries: &[Entry],
) -> BTreeMap<String, Result<Account>> {
    let mut accounts = BTreeMap::new();
    for entry in entries
        .iter()
        .filter(|e| e.meta.kind == EntryKind::SentCopy || e.meta.sent_copy)
    {
        if let Ok(profile) = profiles.own(&entry.id, &entry.meta) {
            accounts
                .entry(connection_key(profile))
                .or_insert_with(|| Account::for_profile(profile));
        }
    }
    accounts
}

/// The copies in Sent a flush saves, over one IMAP session per profile.
struct Copies<'a> {
    profiles: &'a FlushProfiles,
    accounts: &'a BTreeMap<String, Result<Account>>,
    /// Per profile: its IMAP session, or the error that keeps its copies waiting.
    savers: HashMap<&'a str, Result<Saver<'a>>>,
}

impl<'a> Copies<'a> {
    /// The copy in Sent of kept mail a flush just delivered. If it cannot be saved, it is
    /// kept as an entry of its own and reported like any kept entry. The mail is delivered
    /// either way, so nothing here may keep its own entry (that would send it again).
    fn after_flush(&mut self, outbox: &Outbox, entry: &Entry, sent: &[u8], flushed: &mut Flushed) {
        let envelope = entry.envelope();
        let bcc = imap::hidden_recipients(sent, &envelope.recipients);
        let copy = imap::with_bcc(sent, &bcc);
        match self.save(entry, &copy) {
            Ok(_) => flushed.copies += 1,
            Err(err) => {
                match outbox.store_sent_copy(
                    &entry.meta.profile,
                    entry.meta.config.as_deref(),
                    &envelope,
                    &copy,
                    err.message(),
                ) {
                    Ok(id) => flushed.kept.push((id, err)),
                    Err(store_err) => flushed.kept.push((
                        entry.id.clone(),
                        Error::new(
                            store_err.kind(),
                            format!(
                                "delivered, but its copy in Sent was not saved ({err}) and could \
                                 NOT be kept: {store_err}"
                            ),
                        ),
                    )),
                }
            }
        }
    }

    /// APPENDs one kept copy in Sent over its profile's IMAP session, opening it if needed.
    /// The message itself was delivered when the copy was kept: it is never sent again.
    fn save(&mut self, entry: &Entry, copy: &[u8]) -> Result<String> {
        // A copy for Sent belongs to the account the mail was queued with, even when `-p`
        // re-routes the mail itself.
        let profile = self.profiles.own(&entry.id, &entry.meta)?;
        let name = &profile.name;
        let (key, account) = match self.accounts.get_key_value(&connection_key(profile)) {
            Some((key, Ok(account))) => (key.as_str(), account),
            Some((_, Err(err))) => return Err(err.clone()),
            None => {
                return Err(Error::config(format!(
                    "profile '{name}' has no IMAP server"
                )));
            }
        };
        let mut saver = match self.savers.remove(key) {
            Some(Ok(saver)) => saver,
            Some(Err(err)) => {
                self.savers.insert(key, Err(err.clone()));
                return Err(err);
            }
            None => match imap::secret(profile) {
                Ok(secret) => Saver::new(account, secret),
                Err(err) => {
                    self.savers.insert(key, Err(err.clone()));
                    return Err(err);
                }
            },
        };
        match saver.save(copy) {
            Ok(saved) => {
                self.savers.insert(key, Ok(saver));
                Ok(saved)
            }
            // The server refused this copy: the next one may still go in, on a new session.
            Err(err) if err.kind() == ErrorKind::Unavailable => Err(err),
            // Unreachable, or the login refused: the other copies are not tried this time.
            Err(err) => {
                self.savers.insert(key, Err(err.clone()));
                Err(err)
            }
        }
    }

    /// Logs out of every IMAP session.
    fn close(self) {
        for saver in self.savers.into_values().flatten() {
            saver.close();
        }
    }
}

/// What identifies a resolved profile during a flush: the same name in two config files
/// is two profiles, with a connection each.
fn connection_key(profile: &Profile) -> String {
    let config = profile.config_file.as_deref().unwrap_or(Path::new(""));
    format!("{}\0{}", config.display(), profile.name)
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
    let name = &connection_key(profile);
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
