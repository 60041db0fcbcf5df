//! MIME bytes + envelope + profile → delivered, for the one-message commands (`send`,
//! `sendmail`, `queue flush`). A temporary failure keeps the message in the outbox.

use crate::config::profile::Profile;
use crate::delivery::log::{Delivery, DeliveryLog, Outcome};
use crate::delivery::outbox::Outbox;
use crate::error::{Error, ErrorKind, Result};
use crate::message::spec::Envelope;
use crate::mime::data::MessageData;
use crate::smtp::session::{ConnectOptions, Session, is_starttls_injection};

/// Opens a session with the profile, fetching its password first.
pub(crate) fn connect(profile: &Profile, verbose: bool) -> Result<Session> {
    let secret = profile.secret()?;
    let options = ConnectOptions {
        verbose,
        ..ConnectOptions::default()
    };
    Session::open(profile, secret.as_ref(), options)
}

/// Which failures keep the message, besides temporary ones and configuration problems.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keep {
    /// `send`: the user is there to read the error and has the message still.
    Temporary,
    /// `sendmail`: the message came down a pipe and exists nowhere else, so an attack on
    /// the path (bytes injected after STARTTLS, exit 77) keeps it too: a later flush, on a
    /// clean path, delivers it.
    AlsoOnTlsInjection,
}

/// Delivers, or keeps the message in the outbox and says so in the error. Kept are
/// temporary failures (exit 75), configuration problems met while connecting (exit 78:
/// a password agent not running, a variable missing under cron, an unreadable ca_file)
/// and credentials that cannot be had (an OAuth grant to renew with `rmail login`, 77):
/// none may cost the message, and `queue flush` sends it once the cause is gone; and what
/// `keep` adds. Every attempt is written to the delivery log.
pub(crate) fn deliver_or_keep(
    profile: &Profile,
    envelope: &Envelope,
    message: &MessageData,
    log: &DeliveryLog,
    outbox: &Outbox,
    keep_also: Keep,
) -> Result<String> {
    let size = message.len() as usize;
    let record = |outcome, detail: &str| {
        log.record(&Delivery::of(
            &profile.name,
            envelope,
            size,
            outcome,
            detail,
        ))
    };
    let keep = |err: Error| {
        let detail = err.reply().unwrap_or(err.message()).to_string();
        match outbox.store(
            &profile.name,
            profile.config_file.as_deref(),
            envelope,
            message,
            &detail,
        ) {
            Ok(id) => {
                record(Outcome::Queued, &detail);
                Error::new(
                    err.kind(),
                    format!(
                        "{err}; the message is kept in the outbox as {id}: `rmail queue flush` sends it"
                    ),
                )
            }
            Err(store_err) => {
                record(Outcome::Failed, &detail);
                Error::new(
                    ErrorKind::CantCreate,
                    format!("{err}; and the message could NOT be kept: {store_err}"),
                )
            }
        }
    };
    // Credentials that cannot be had right now (a password agent not running, an OAuth
    // refresh token the provider refused: `rmail login` again) cost no message either.
    let secret = profile.secret().map_err(keep)?;
    let options = ConnectOptions {
        verbose: log.verbose,
        ..ConnectOptions::default()
    };
    let result = Session::open(profile, secret.as_ref(), options).and_then(|mut session| {
        let reply = session.send_data(envelope, message)?;
        session.quit();
        Ok(reply)
    });
    match result {
        Ok(reply) => {
            record(Outcome::Sent, &reply);
            Ok(reply)
        }
        Err(err) if err.is_temporary() || err.kind() == ErrorKind::Config => Err(keep(err)),
        Err(err) if keep_also == Keep::AlsoOnTlsInjection && is_starttls_injection(&err) => {
            Err(keep(err))
        }
        Err(err) => {
            record(Outcome::Failed, err.reply().unwrap_or(err.message()));
            Err(err)
        }
    }
}
