//! MIME bytes + envelope + profile → delivered, for the one-message commands (`send`,
//! `sendmail`, `queue flush`). A temporary failure keeps the message in the outbox.

use crate::config::profile::Profile;
use crate::config::secret::Secret;
use crate::delivery::log::{Delivery, DeliveryLog, Outcome};
use crate::delivery::outbox::Outbox;
use crate::delivery::sent;
use crate::error::{Error, ErrorKind, Result};
use crate::message::spec::Envelope;
use crate::mime::data::MessageData;
use crate::report::Report;
use crate::settings;
use crate::smtp::session::{ConnectOptions, Session};

/// Opens a session with the profile, fetching its password first.
pub(crate) fn connect(profile: &Profile, verbose: bool) -> Result<Session> {
    open(profile, profile.secret()?.as_ref(), verbose)
}

fn open(profile: &Profile, secret: Option<&Secret>, verbose: bool) -> Result<Session> {
    let options = ConnectOptions {
        verbose,
        ..ConnectOptions::default()
    };
    Session::open(profile, secret, options)
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

/// Delivers one message of `send` or `sendmail`, or keeps it in the outbox (as
/// `keep_policy` says) and says so in the error, whose kind still tells what happened; once
/// delivered, files its copy in Sent when `delivery` names an account (what there is to say
/// about the copy is in the report). Both policies keep temporary failures (exit 75) and
/// configuration problems met while connecting (exit 78: a password agent not running, an
/// unreadable ca_file, an OAuth grant to renew with `rmail login`). Every attempt is
/// written to the delivery log.
pub(crate) fn deliver(
    profile: &Profile,
    envelope: &Envelope,
    message: &MessageData,
    delivery: &settings::Delivery,
    keep_policy: Keep,
) -> Result<Report> {
    let outbox = Outbox::for_delivery(delivery);
    let log = DeliveryLog::from(&delivery.log);
    let record = |outcome, detail: &str| {
        let size = message.len() as usize;
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
        // A permanent refusal goes to failed/, never to be sent again by a flush.
        let (place, outcome) = if err.is_permanent() {
            (outbox.failed(), Outcome::Failed)
        } else {
            (outbox.clone(), Outcome::Queued)
        };
        let stored = place.store(
            &profile.name,
            profile.config_file.as_deref(),
            envelope,
            message,
            &detail,
        );
        match stored {
            Ok(id) => {
                record(outcome, &detail);
                let how = match outcome {
                    Outcome::Failed => format!(
                        "kept as {id} in {} (never sent again; `rmail queue retry {id}` after a fix)",
                        place.dir().display()
                    ),
                    _ => format!("kept in the outbox as {id}: `rmail queue flush` sends it"),
                };
                Error::new(err.kind(), format!("{err}; the message is {how}"))
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
    let result = open(profile, secret.as_ref(), log.verbose).and_then(|mut session| {
        let reply = session.send_data(envelope, message)?;
        session.quit();
        Ok(reply)
    });
    match result {
        Ok(reply) => record(Outcome::Sent, &reply),
        Err(err) if keep_policy == Keep::Everything => return Err(keep(err)),
        Err(err) if err.is_temporary() || err.kind() == ErrorKind::Config => {
            return Err(keep(err));
        }
        Err(err) => {
            record(Outcome::Failed, err.reply().unwrap_or(err.message()));
            return Err(err);
        }
    }
    let mut report = Report::default();
    if let Some(account) = &delivery.sent_copy {
        sent::copy_one(
            profile,
            account,
            &outbox,
            &log,
            envelope,
            message,
            &mut report,
        );
    }
    Ok(report)
}
