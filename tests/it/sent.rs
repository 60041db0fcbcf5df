//! A copy in Sent (issue 14): after the SMTP server accepted a message, rmail APPENDs it to
//! the account's `\Sent` mailbox over IMAP. Real servers: Dovecot (`support::imapd`) next to
//! aiosmtpd; what landed in the mailbox is read back by Python's imaplib.

use crate::support::imapd::{Imapd, ImapdOptions, SENT_MAILBOX};

/// The harness itself: Dovecot starts from its generated config, the `\Sent` mailbox is not
/// called "Sent", and a fresh mailbox is empty.
#[test]
fn dovecot_harness_lists_a_sent_special_use_mailbox() {
    let imap = Imapd::start(ImapdOptions::default());
    let boxes = imap.mailboxes();
    let sent: Vec<_> = boxes
        .iter()
        .filter(|m| m.flags.iter().any(|f| f == "\\Sent"))
        .collect();
    assert_eq!(sent.len(), 1, "{boxes:?}");
    assert_eq!(sent[0].name, SENT_MAILBOX);
    assert!(imap.messages(SENT_MAILBOX).is_empty());
}
