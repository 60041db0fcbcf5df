//! MIME bytes + envelope + profile → delivered, for the one-message commands (`send`,
//! `sendmail`, `queue flush`). A temporary failure keeps the message in the outbox.

use crate::config::profile::Profile;
use crate::delivery::log::{Delivery, DeliveryLog, Outcome};
use crate::delivery::outbox::Outbox;
use crate::error::{Error, ErrorKind, Result};
use crate::message::spec::Envelope;
use crate::mime::data::MessageData;
use crate::smtp::session::{ConnectOptions, Session};

/// Opens a session with the profile, fetching its password first.
pub(crate) fn connect(profile: &Profile, verbose: bool) -> Result<Session> {
    let secret = profile.secret()?;
    let options = ConnectOptions {
        verbose,
        ..ConnectOptions::default()
    };
    Session::open(profile, secret.as_ref(), options)
}

/// Which failures keep the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keep {
    /// `rmail send`: temporary failures (exit 75) and configuration problems met while
    /// connecting (exit 78: a password agent not running, an unreadable ca_file). A person
    /// is watching; a wrong password or a refused address is theirs to see and fix.
    Fixable,
    /// `sendmail`: nobody is watching (cron), so a message that was read is never dropped.
    /// Every failure keeps it in the outbox (a wrong password or a TLS problem is fixable,
    /// bytes injected after STARTTLS are an attack on this path, not the next one; `queue
    /// flush` sends it after the fix), except a permanent refusal, which is kept in
    /// `failed/` with the reply, never sent again by a flush.
    Everything,
}

/// Delivers, or keeps the message in the outbox (as `keep` says) and says so in the error,
/// whose kind still tells what happened. Both policies keep temporary failures (exit 75) and
/// configuration problems met while connecting (exit 78: a password agent not running, an
/// unreadable ca_file, an OAuth grant to renew with `rmail login`). Every attempt is written
/// to the delivery log.
pub(crate) fn deliver_or_keep(
    profile: &Profile,
    envelope: &Envelope,
    message: &MessageData,
    log: &DeliveryLog,
    outbox: &Outbox,
    keep_policy: Keep,
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
        if err.is_permanent() {
            let failed = outbox.failed();
            return match failed.store(
                &profile.name,
                profile.config_file.as_deref(),
                envelope,
                message,
                &detail,
            ) {
                Ok(id) => {
                    record(Outcome::Failed, &detail);
                    Error::new(
                        err.kind(),
                        format!(
                            "{err}; the message is kept as {id} in {} (never sent again; \
                             `rmail queue retry {id}` after a fix)",
                            failed.dir().display()
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
            };
        }
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
        Err(err) if keep_policy == Keep::Everything => Err(keep(err)),
        Err(err) if err.is_temporary() || err.kind() == ErrorKind::Config => Err(keep(err)),
        Err(err) => {
            record(Outcome::Failed, err.reply().unwrap_or(err.message()));
            Err(err)
        }
    }
}
