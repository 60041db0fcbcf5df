//! MIME bytes + envelope + profile → delivered, for the one-message commands (`send`).

use crate::error::Result;
use crate::message::Envelope;
use crate::profile::Profile;
use crate::transport::{ConnectOptions, Session};

/// Opens a session with the profile, sends one message and quits. Returns the server's
/// reply to the message data (e.g. `250 2.0.0 Ok: queued as 4Q2…`).
pub fn deliver(
    profile: &Profile,
    envelope: &Envelope,
    message: &[u8],
    verbose: bool,
) -> Result<String> {
    let secret = profile.secret()?;
    let options = ConnectOptions {
        verbose,
        ..ConnectOptions::default()
    };
    let mut session = Session::open(profile, secret.as_ref(), options)?;
    let reply = session.send(envelope, message)?;
    session.quit();
    Ok(reply)
}
