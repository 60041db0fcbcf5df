//! The outbox: messages kept after a failure, so that none is lost.
//!
//! Each entry is two files in `$XDG_STATE_HOME/rmail/outbox`: `ID.eml`, the exact bytes to
//! send, and `ID.json`, the envelope, profile, attempts and last error. Both are written to a
//! temporary name, fsynced and renamed, and the `.json` goes last: an entry exists once both
//! files do, so a crash at any moment leaves either a whole entry or none. `queue flush` holds
//! an exclusive lock on the folder, so two flushes (two cron jobs) never send a message twice.
//! Kept messages are other people's mail: the folder is created 0700 and the files 0600.
//!
//! The lifecycle follows Postfix's queue: a message waiting after a temporary failure is
//! retried with an exponential, capped backoff ([`backoff`]) until `queue_lifetime`; a message
//! refused for good, or expired, moves to `outbox/failed/` (same format, the reply kept) and is
//! never sent again unless the user says `queue retry ID`.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};
use crate::message::spec::Envelope;
use crate::mime::data::MessageData;
use crate::private;
use crate::settings::{self, sendmail::Unprepared};

/// What is kept beside a message's bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct EntryMeta {
    /// The profile to send it with.
    pub(crate) profile: String,
    /// The config file that profile came from, so a flush finds it without the
    /// `--config` the message was queued with. Only the path: the profile's password
    /// stays where the user keeps it. Absent in entries written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) config: Option<PathBuf>,
    pub(crate) from: String,
    pub(crate) recipients: Vec<String>,
    /// Unix time the message was queued.
    pub(crate) queued_at: u64,
    /// Delivery attempts so far (the first one, which failed, included).
    pub(crate) attempts: u32,
    pub(crate) last_error: String,
    /// Unix time of the last attempt.
    #[serde(default)]
    pub(crate) last_attempt: u64,
    /// Unix time before which `queue flush` leaves it alone (0: at once).
    #[serde(default)]
    pub(crate) next_attempt: u64,
    /// A sendmail message kept as it was read, before the config could be used: the `.eml`
    /// is the input, the envelope is still to be worked out (with these options).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) unprepared: Option<Unprepared>,
    /// What is left to do. Absent in entries written before copies in Sent existed.
    #[serde(default, skip_serializing_if = "EntryKind::is_send")]
    pub(crate) kind: EntryKind,
    /// Mail to send whose copy goes to Sent once a flush delivers it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) sent_copy: bool,
}

/// What a kept entry is waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum EntryKind {
    /// The message is to be sent.
    #[default]
    Send,
    /// The message was delivered; only its copy in the IMAP Sent mailbox is missing. A
    /// flush APPENDs it and never sends the mail again.
    SentCopy,
}

impl EntryKind {
    fn is_send(&self) -> bool {
        *self == EntryKind::Send
    }
}

/// The first wait after a failed retry, and the longest: 5 minutes doubling up to an hour
/// (Postfix: 300 s to 4000 s). The first retry of a new entry is due at once: whoever runs
/// `queue flush` right after a failure has usually just fixed its cause.
pub(crate) const BACKOFF_FIRST: u64 = 300;
pub(crate) const BACKOFF_MAX: u64 = 3600;

/// How long to wait after the `attempts`-th failed attempt before the next one.
pub(crate) fn backoff(attempts: u32) -> u64 {
    match attempts {
        0 | 1 => 0,
        n => BACKOFF_FIRST
            .checked_shl(n - 2)
            .unwrap_or(BACKOFF_MAX)
            .min(BACKOFF_MAX),
    }
}

/// True for a string that can be an outbox id (as [`new_id`] makes them: letters, digits,
/// dashes): anything else (`../../x`, `/etc/passwd`) is refused before it becomes a path.
pub(crate) fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 100
        && !id.starts_with('-')
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// The error for an id that is not in the outbox (or cannot be one).
pub(crate) fn unknown_id(id: &str) -> Error {
    Error::usage(format!(
        "no message '{}' in the outbox; `rmail queue list` shows the ids",
        id.escape_debug()
    ))
}

/// One kept message.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) id: String,
    pub(crate) meta: EntryMeta,
}

impl EntryMeta {
    /// A message kept now after its first failed attempt, `error`.
    fn new(
        profile: &str,
        config: Option<&Path>,
        envelope: &Envelope,
        error: &str,
        kind: EntryKind,
    ) -> EntryMeta {
        let now = crate::time::now();
        EntryMeta {
            profile: profile.to_string(),
            config: config.map(Path::to_path_buf),
            from: envelope.from.clone(),
            recipients: envelope.recipients.clone(),
            queued_at: now,
            attempts: 1,
            last_error: error.to_string(),
            last_attempt: now,
            next_attempt: now,
            unprepared: None,
            kind,
            sent_copy: false,
        }
    }
}

impl Entry {
    pub(crate) fn envelope(&self) -> Envelope {
        Envelope {
            from: self.meta.from.clone(),
            recipients: self.meta.recipients.clone(),
        }
    }
}

/// What is in the outbox.
#[derive(Debug, Default)]
pub(crate) struct Listing {
    pub(crate) entries: Vec<Entry>,
    /// `.json` files that cannot be read or parsed: left alone, reported.
    pub(crate) unreadable: Vec<PathBuf>,
}

/// The outbox folder.
#[derive(Debug, Clone)]
pub(crate) struct Outbox {
    dir: PathBuf,
    /// Mail stored from now on wants a copy in Sent once it is delivered.
    sent_copies: bool,
}

impl Outbox {
    pub(crate) fn at(dir: PathBuf) -> Outbox {
        Outbox {
            dir,
            sent_copies: false,
        }
    }

    /// The outbox of one `send` or `sendmail` delivery.
    pub(crate) fn for_delivery(delivery: &settings::Delivery) -> Outbox {
        Outbox::at(delivery.outbox_dir.clone()).with_sent_copies(delivery.sent_copy.is_some())
    }

    /// The same outbox, marking the mail it stores as wanting a copy in Sent when a later
    /// `queue flush` delivers it (the run that stored it had `save_sent`).
    pub(crate) fn with_sent_copies(mut self, wanted: bool) -> Outbox {
        self.sent_copies = wanted;
        self
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Keeps a message; returns its id. Durable when this returns.
    pub(crate) fn store(
        &self,
        profile: &str,
        config: Option<&Path>,
        envelope: &Envelope,
        message: &MessageData,
        error: &str,
    ) -> Result<String> {
        let meta = EntryMeta::new(profile, config, envelope, error, EntryKind::Send);
        let meta = EntryMeta {
            sent_copy: self.sent_copies,
            ..meta
        };
        self.write_entry(&meta, |file| message.write_to(file))
    }

    /// Keeps the copy in Sent of a message that was delivered (`copy`: the bytes to APPEND);
    /// returns its id. The entry is written whole with its kind, so no crash can leave it
    /// looking like mail still to be sent.
    pub(crate) fn store_sent_copy(
        &self,
        profile: &str,
        config: Option<&Path>,
        envelope: &Envelope,
        copy: &[u8],
        error: &str,
    ) -> Result<String> {
        let meta = EntryMeta::new(profile, config, envelope, error, EntryKind::SentCopy);
        self.write_entry(&meta, |file| file.write_all(copy))
    }

    /// Writes a new entry: its bytes through `fill`, then its metadata; returns its id.
    fn write_entry(
        &self,
        meta: &EntryMeta,
        fill: impl FnOnce(&mut std::io::BufWriter<&File>) -> std::io::Result<()>,
    ) -> Result<String> {
        self.create_dir()?;
        let id = new_id();
        self.write_atomic(&self.path(&id, "eml"), fill)?;
        self.write_meta(&id, meta)?;
        Ok(id)
    }

    /// Keeps a sendmail message exactly as it was read, with the options it came with, when
    /// the config cannot be used yet; returns its id.
    pub(crate) fn store_unprepared(
        &self,
        input: &[u8],
        options: &Unprepared,
        error: &str,
    ) -> Result<String> {
        self.create_dir()?;
        let id = new_id();
        let envelope = Envelope {
            from: options.from.clone().unwrap_or_default(),
            recipients: options.recipients.clone(),
        };
        // The config could not be used: the flush that prepares it reads the current one.
        let meta = EntryMeta {
            unprepared: Some(options.clone()),
            sent_copy: self.sent_copies,
            ..EntryMeta::new("", None, &envelope, error, EntryKind::Send)
        };
        self.write_atomic(&self.path(&id, "eml"), |file| file.write_all(input))?;
        self.write_meta(&id, &meta)?;
        Ok(id)
    }

    /// Turns an unprepared entry into an ordinary one: `message` (prepared, signed) for its
    /// bytes, and its profile and envelope.
    pub(crate) fn prepared(
        &self,
        entry: &Entry,
        profile: &str,
        envelope: &Envelope,
        message: &[u8],
    ) -> Result<()> {
        let mut meta = entry.meta.clone();
        meta.profile = profile.to_string();
        meta.from = envelope.from.clone();
        meta.recipients = envelope.recipients.clone();
        meta.unprepared = None;
        // The bytes first: a crash in between leaves an entry that is still unprepared and
        // whose input is now the prepared message, which prepares to itself.
        self.write_atomic(&self.path(&entry.id, "eml"), |file| file.write_all(message))?;
        self.write_meta(&entry.id, &meta)
    }

    /// Every complete entry, oldest first.
    pub(crate) fn list(&self) -> Result<Vec<Entry>> {
        Ok(self.list_all()?.entries)
    }

    /// Every complete entry, oldest first, and the entries whose metadata cannot be read.
    pub(crate) fn list_all(&self) -> Result<Listing> {
        let dir = match fs::read_dir(&self.dir) {
            Ok(dir) => dir,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Listing::default()),
            Err(e) => {
                return Err(Error::new(
                    ErrorKind::NoInput,
                    format!("cannot read the outbox {}: {e}", self.dir.display()),
                ));
            }
        };
        let mut listing = Listing::default();
        for item in dir.flatten() {
            let name = item.file_name().to_string_lossy().into_owned();
            let Some(id) = name.strip_suffix(".json") else {
                continue;
            };
            if id.starts_with('.') || !self.path(id, "eml").exists() {
                continue;
            }
            let meta = fs::read(item.path())
                .ok()
                .and_then(|bytes| serde_json::from_slice::<EntryMeta>(&bytes).ok());
            match meta {
                Some(meta) => listing.entries.push(Entry {
                    id: id.to_string(),
                    meta,
                }),
                None => listing.unreadable.push(item.path()),
            }
        }
        listing
            .entries
            .sort_by(|a, b| (a.meta.queued_at, &a.id).cmp(&(b.meta.queued_at, &b.id)));
        Ok(listing)
    }

    /// The message bytes of an entry.
    pub(crate) fn message(&self, entry: &Entry) -> Result<Vec<u8>> {
        let path = self.path(&entry.id, "eml");
        fs::read(&path).map_err(|e| Error::read_file("outbox message", &path, &e))
    }

    /// Records another failed attempt at `now` and when the next one is due.
    pub(crate) fn record_failure(&self, entry: &Entry, error: &str, now: u64) -> Result<()> {
        let mut meta = entry.meta.clone();
        meta.attempts = meta.attempts.saturating_add(1);
        meta.last_error = error.to_string();
        meta.last_attempt = now;
        meta.next_attempt = now.saturating_add(backoff(meta.attempts));
        self.write_meta(&entry.id, &meta)
    }

    /// The folder of messages refused for good or expired: `outbox/failed`.
    pub(crate) fn failed(&self) -> Outbox {
        Outbox::at(self.dir.join("failed"))
    }

    /// The entry with this id, if there is one (an invalid id never is).
    pub(crate) fn get(&self, id: &str) -> Result<Option<Entry>> {
        if !valid_id(id) {
            return Ok(None);
        }
        Ok(self.list()?.into_iter().find(|e| e.id == id))
    }

    /// Moves an entry to `to` (another folder: `failed/`, or back), with `meta` as its new
    /// metadata. The target's `.json` is written first and the `.eml` renamed after, so the
    /// entry is complete in exactly one folder at every moment.
    pub(crate) fn move_to(&self, to: &Outbox, id: &str, meta: &EntryMeta) -> Result<()> {
        to.create_dir()?;
        to.write_meta(id, meta)?;
        let (from, dest) = (self.path(id, "eml"), to.path(id, "eml"));
        fs::rename(&from, &dest).map_err(|e| self.cant_write(&dest, &e))?;
        let old = self.path(id, "json");
        fs::remove_file(&old).map_err(|e| self.cant_write(&old, &e))?;
        private::sync_dir(&to.dir);
        private::sync_dir(&self.dir);
        Ok(())
    }

    /// Removes an entry (after the server accepted it, or on `queue drop`). The `.json`
    /// goes first: from then on the entry no longer exists, even if removing the `.eml` fails.
    pub(crate) fn remove(&self, id: &str) -> Result<()> {
        if !valid_id(id) {
            return Err(unknown_id(id));
        }
        let meta = self.path(id, "json");
        if !meta.exists() {
            return Err(unknown_id(id));
        }
        fs::remove_file(&meta).map_err(|e| self.cant_write(&meta, &e))?;
        let _ = fs::remove_file(self.path(id, "eml"));
        private::sync_dir(&self.dir);
        Ok(())
    }

    /// Takes the outbox's exclusive lock; it is released when the returned file is dropped.
    /// A second flush waits here until the first is done.
    pub(crate) fn lock(&self) -> Result<File> {
        let path = self.dir.join(".lock");
        private::lock(&path).map_err(|e| self.cant_write(&path, &e))
    }

    fn write_meta(&self, id: &str, meta: &EntryMeta) -> Result<()> {
        let json = serde_json::to_vec_pretty(meta).map_err(|e| {
            Error::new(
                ErrorKind::Internal,
                format!("cannot encode outbox entry: {e}"),
            )
        })?;
        self.write_atomic(&self.path(id, "json"), |file| file.write_all(&json))
    }

    /// Writes through `fill` to a temporary file, fsyncs it and renames it into place.
    fn write_atomic(
        &self,
        path: &Path,
        fill: impl FnOnce(&mut std::io::BufWriter<&File>) -> std::io::Result<()>,
    ) -> Result<()> {
        private::replace(path, fill).map_err(|e| self.cant_write(path, &e))
    }

    /// Creates the folder (and its parents) readable by the user only.
    fn create_dir(&self) -> Result<()> {
        private::create_dir(&self.dir).map_err(|e| self.cant_write(&self.dir, &e))
    }

    fn path(&self, id: &str, ext: &str) -> PathBuf {
        self.dir.join(format!("{id}.{ext}"))
    }

    fn cant_write(&self, path: &Path, err: &std::io::Error) -> Error {
        Error::new(
            ErrorKind::CantCreate,
            format!("cannot write the outbox ({}): {err}", path.display()),
        )
    }
}

/// Sortable and unique: UTC time to the microsecond, process id, sequence number.
fn new_id() -> String {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let nanos = crate::time::now_nanos();
    format!(
        "{}{:06}-{}-{}",
        crate::time::timestamp((nanos / 1_000_000_000) as u64).replace([':', '-'], ""),
        nanos % 1_000_000_000 / 1_000,
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An outbox in a fresh temporary folder (kept alive by the returned guard).
    fn empty_outbox() -> (tempfile::TempDir, Outbox) {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::at(dir.path().join("outbox"));
        (dir, outbox)
    }

    fn envelope() -> Envelope {
        Envelope {
            from: "a@x.com".into(),
            recipients: vec!["b@x.com".into()],
        }
    }

    #[test]
    fn store_list_fail_remove() {
        let (_dir, outbox) = empty_outbox();
        let env = envelope();
        let id = outbox
            .store(
                "work",
                None,
                &env,
                &b"Subject: x\r\n\r\nhi\r\n".to_vec().into(),
                "421 busy",
            )
            .unwrap();
        let entries = outbox.list().unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].id, id);
        assert_eq!(entries[0].envelope(), env);
        assert_eq!(
            outbox.message(&entries[0]).unwrap(),
            b"Subject: x\r\n\r\nhi\r\n"
        );
        outbox
            .record_failure(&entries[0], "451 later", 1000)
            .unwrap();
        let entries = outbox.list().unwrap();
        assert_eq!(
            (
                entries[0].meta.attempts,
                entries[0].meta.last_error.as_str()
            ),
            (2, "451 later")
        );
        outbox.remove(&id).unwrap();
        assert!(outbox.list().unwrap().is_empty());
        assert!(outbox.remove(&id).is_err());
        // No temporary files left behind.
        let left: Vec<_> = fs::read_dir(outbox.dir())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert!(left.iter().all(|n| n == ".lock"), "{left:?}");
    }

    #[test]
    fn backoff_doubles_up_to_a_cap_and_ids_are_checked() {
        assert_eq!(backoff(1), 0);
        assert_eq!(
            (2..=7).map(backoff).collect::<Vec<_>>(),
            [300, 600, 1200, 2400, 3600, 3600]
        );
        assert_eq!(backoff(u32::MAX), BACKOFF_MAX);
        assert!(valid_id(&new_id()));
        for bad in ["", "../x", "a/b", ".lock", "-x", "a b", "a\nb", "failed"] {
            assert!(!valid_id(bad) || bad == "failed", "{bad:?}");
        }
    }

    #[test]
    fn move_to_failed_and_back() {
        let (_dir, outbox) = empty_outbox();
        let env = envelope();
        let id = outbox
            .store("w", None, &env, &b"x".to_vec().into(), "421 busy")
            .unwrap();
        let mut meta = outbox.list().unwrap()[0].meta.clone();
        meta.last_error = "554 no".into();
        outbox.move_to(&outbox.failed(), &id, &meta).unwrap();
        assert!(outbox.list().unwrap().is_empty());
        let failed = outbox.failed().list().unwrap();
        assert_eq!(
            (failed[0].id.as_str(), failed[0].meta.last_error.as_str()),
            (id.as_str(), "554 no")
        );
        outbox.failed().move_to(&outbox, &id, &meta).unwrap();
        assert!(outbox.failed().list().unwrap().is_empty());
        assert_eq!(outbox.list().unwrap().len(), 1);
    }

    #[test]
    fn half_written_entry_is_invisible() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::at(dir.path().to_path_buf());
        fs::write(dir.path().join("x.eml"), b"data").unwrap();
        assert!(outbox.list().unwrap().is_empty());
    }

    #[test]
    fn a_sent_copy_entry_keeps_its_kind_and_old_entries_are_mail_to_send() {
        let (_dir, outbox) = empty_outbox();
        let env = envelope();
        let id = outbox
            .store_sent_copy("work", None, &env, b"Bcc: c@x.com\r\n\r\nhi\r\n", "refused")
            .unwrap();
        let entries = outbox.list().unwrap();
        assert_eq!(entries[0].meta.kind, EntryKind::SentCopy);
        assert_eq!(
            outbox.message(&entries[0]).unwrap(),
            b"Bcc: c@x.com\r\n\r\nhi\r\n"
        );
        let json = fs::read_to_string(outbox.dir().join(format!("{id}.json"))).unwrap();
        assert!(json.contains("\"kind\": \"sent-copy\""), "{json}");

        // An entry written before kinds existed (or by `store`) has no kind: mail to send.
        outbox
            .store("work", None, &env, &b"x\r\n".to_vec().into(), "421")
            .unwrap();
        let kinds: Vec<EntryKind> = outbox.list().unwrap().iter().map(|e| e.meta.kind).collect();
        assert!(kinds.contains(&EntryKind::Send), "{kinds:?}");
        for entry in fs::read_dir(outbox.dir()).unwrap().flatten() {
            let text = fs::read_to_string(entry.path()).unwrap_or_default();
            if !text.contains("sent-copy") && entry.path().extension().is_some_and(|e| e == "json")
            {
                assert!(!text.contains("kind"), "{text}");
            }
        }
    }
}
