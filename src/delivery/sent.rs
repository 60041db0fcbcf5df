//! The copy in Sent of a delivered message (`save_sent`): APPENDed to the IMAP Sent mailbox
//! once the SMTP server accepted the message, never before. A copy that cannot be saved
//! never turns a delivered message into a failure: it waits in the outbox as an entry that
//! `queue flush` APPENDs (and never sends again), and the run says so in one warning.

use crate::config::profile::Profile;
use crate::delivery::log::DeliveryLog;
use crate::delivery::outbox::Outbox;
use crate::error::{Error, ErrorKind, Result};
use crate::imap::{self, Account, Saver};
use crate::message::part_data;
use crate::message::spec::Envelope;
use crate::mime::data::MessageData;
use crate::report::Report;

/// The copy of one delivered message (`send`, `sendmail`); what there is to say goes into
/// `report`.
pub(crate) fn copy_one(
    profile: &Profile,
    account: &Account,
    outbox: &Outbox,
    log: &DeliveryLog,
    envelope: &Envelope,
    message: &MessageData,
    report: &mut Report,
) {
    let mut copies = SentCopies::new(profile, account, outbox, log.verbose);
    if let Some(line) = copies.save_or_keep(envelope, message) {
        report.push(line);
    }
    if let Some(line) = copies.finish() {
        report.push(line);
    }
}

/// The copies of one run (one message for `send`, every row of a merge), over one IMAP
/// session opened with the first. Once the server cannot be reached (or refuses the login),
/// the remaining copies of the run are kept without trying again, and only the first is
/// warned about; [`SentCopies::finish`] counts the rest.
pub(crate) struct SentCopies<'a> {
    profile: &'a Profile,
    account: &'a Account,
    outbox: &'a Outbox,
    verbose: bool,
    saver: Option<Saver<'a>>,
    /// Why copies cannot be saved in this run, once that is known.
    down: Option<Error>,
    /// Copies kept in the outbox so far.
    kept: usize,
}

impl<'a> SentCopies<'a> {
    pub(crate) fn new(
        profile: &'a Profile,
        account: &'a Account,
        outbox: &'a Outbox,
        verbose: bool,
    ) -> SentCopies<'a> {
        SentCopies {
            profile,
            account,
            outbox,
            verbose,
            saver: None,
            down: None,
            kept: 0,
        }
    }

    /// Saves the copy of `sent` (the message the SMTP server accepted for `envelope`), with
    /// a Bcc header for the recipients its headers do not name, or keeps it in the outbox.
    /// Returns the line to show: a warning for the first copy kept, a note with `-v`.
    ///
    /// The copy is made in memory (IMAP APPEND and the outbox entry take it whole): with
    /// `save_sent`, a large attachment costs its encoded size, twice, for a moment.
    pub(crate) fn save_or_keep(
        &mut self,
        envelope: &Envelope,
        sent: &MessageData,
    ) -> Option<String> {
        let sent = match sent.to_vec() {
            Ok(sent) => sent,
            Err(e) => {
                let why = part_data::input_error(&e)
                    .map(|err| err.message().to_string())
                    .unwrap_or_else(|| e.to_string());
                return Some(format!(
                    "rmail: warning: delivered, but no copy was saved in Sent: {why}"
                ));
            }
        };
        let sent = sent.as_slice();
        let bcc = imap::hidden_recipients(sent, &envelope.recipients);
        let copy = imap::with_bcc(sent, &bcc);
        let result = match &self.down {
            Some(err) => Err(err.clone()),
            None => self.save(&copy),
        };
        match result {
            Ok(mailbox) => self.verbose.then(|| {
                format!(
                    "rmail: copy saved in \"{mailbox}\" ({})",
                    self.account.server()
                )
            }),
            Err(err) => {
                // The next copy starts a new session, unless there is no point.
                self.saver = None;
                if err.kind() != ErrorKind::Unavailable {
                    self.down = Some(err.clone());
                }
                let line = self.keep(envelope, &copy, &err);
                self.kept += 1;
                (self.kept == 1).then_some(line)
            }
        }
    }

    /// Logs out of IMAP; the line to show when more than one copy was kept.
    pub(crate) fn finish(self) -> Option<String> {
        if let Some(saver) = self.saver {
            saver.close();
        }
        (self.kept > 1).then(|| {
            format!(
                "rmail: warning: {} copies in Sent are kept in the outbox: `rmail queue flush` \
                 saves them",
                self.kept
            )
        })
    }

    fn save(&mut self, copy: &[u8]) -> Result<String> {
        let saver = match &mut self.saver {
            Some(saver) => saver,
            None => self
                .saver
                .insert(Saver::new(self.account, imap::secret(self.profile)?)),
        };
        saver.save(copy)
    }

    fn keep(&self, envelope: &Envelope, copy: &[u8], err: &Error) -> String {
        match self.outbox.store_sent_copy(
            &self.profile.name,
            self.profile.config_file.as_deref(),
            envelope,
            copy,
            err.message(),
        ) {
            Ok(id) => format!(
                "rmail: warning: delivered, but the copy in Sent was not saved: {err}; it is \
                 kept in the outbox as {id}: `rmail queue flush` saves it"
            ),
            Err(store_err) => format!(
                "rmail: warning: delivered, but the copy in Sent was not saved: {err}; and it \
                 could NOT be kept: {store_err}"
            ),
        }
    }
}
