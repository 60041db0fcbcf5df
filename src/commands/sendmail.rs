//! `rmail sendmail`: the message on stdin, sent as it is (headers completed), or kept.

use std::io::Read;

use crate::delivery::deliver::{self, Keep};
use crate::delivery::outbox::Outbox;
use crate::error::{Error, ErrorKind, Result};
use crate::message::raw;
use crate::mime::data::MessageData;
use crate::mime::dkim;
use crate::report::Report;
use crate::settings::sendmail::{SendmailRequest, Unprepared, UnresolvedSendmail};

/// The config cannot be used: the message is read and kept as it is, and the error says so
/// (its kind, 78 for a config problem, still tells what happened).
pub(crate) fn keep_unresolved(request: UnresolvedSendmail) -> Result<Report> {
    let input = read_stdin()?;
    let outbox = Outbox::at(request.outbox_dir);
    Err(keep_unprepared(
        &outbox,
        &input,
        &request.options,
        request.error,
    ))
}

/// Keeps the input unprepared (see [`Outbox::store_unprepared`]); the error to exit with.
fn keep_unprepared(outbox: &Outbox, input: &[u8], options: &Unprepared, error: Error) -> Error {
    match outbox.store_unprepared(input, options, error.message()) {
        Ok(id) => Error::new(
            error.kind(),
            format!(
                "{error}; the message is kept in the outbox as {id}: `rmail queue flush` sends \
                 it once the config is fixed"
            ),
        ),
        Err(store_err) => Error::new(
            ErrorKind::CantCreate,
            format!("{error}; and the message could NOT be kept: {store_err}"),
        ),
    }
}

fn read_stdin() -> Result<Vec<u8>> {
    let mut input = Vec::new();
    std::io::stdin().read_to_end(&mut input).map_err(|e| {
        Error::new(
            ErrorKind::NoInput,
            format!("cannot read the message from stdin: {e}"),
        )
        .with_source(e)
    })?;
    Ok(input)
}

pub(crate) fn run(request: SendmailRequest) -> Result<Report> {
    // Read first: whatever fails after this, the message is in hand and is kept.
    let input = read_stdin()?;
    let outbox = Outbox::for_delivery(&request.delivery);
    let message = match prepare_and_sign(&request, &input) {
        Ok(message) => message,
        // A problem in the config met on the way (a DKIM key that cannot be read, an alias
        // that does not parse): kept as it was read, prepared by the flush after the fix.
        Err(err) if err.kind() == ErrorKind::Config => {
            let options = Unprepared {
                recipients: request.recipients.clone(),
                extract_recipients: request.extract_recipients,
                ignore_dots: request.ignore_dots,
                from: Some(request.sender.to_string()),
                full_name: request.full_name.clone(),
            };
            return Err(keep_unprepared(&outbox, &input, &options, err));
        }
        Err(err) => return Err(err),
    };
    let (envelope, message) = message;
    deliver::deliver(
        &request.profile,
        &envelope,
        &message,
        &request.delivery,
        Keep::Everything,
    )
}

/// The message as it goes out: headers completed, signed (before the outbox stores it, so a
/// kept message is flushed as signed).
fn prepare_and_sign(
    request: &SendmailRequest,
    input: &[u8],
) -> Result<(crate::message::spec::Envelope, MessageData)> {
    let signer = dkim::Signer::from_profile(&request.profile)?;
    let prepared = raw::prepare(request, input)?;
    let message = MessageData::from(dkim::maybe_sign(signer.as_ref(), prepared.message)?);
    Ok((prepared.envelope, message))
}
