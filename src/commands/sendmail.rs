//! `rmail sendmail`: the message on stdin, sent as it is (headers completed), or kept.

use std::io::Read;

use crate::delivery::deliver;
use crate::delivery::log::DeliveryLog;
use crate::delivery::outbox::Outbox;
use crate::delivery::sent;
use crate::error::{Error, ErrorKind, Result};
use crate::message::raw;
use crate::mime::data::MessageData;
use crate::mime::dkim;
use crate::report::Report;
use crate::settings::sendmail::SendmailRequest;

pub(crate) fn run(request: SendmailRequest) -> Result<Report> {
    let signer = dkim::Signer::from_profile(&request.profile)?;
    let mut input = Vec::new();
    std::io::stdin().read_to_end(&mut input).map_err(|e| {
        Error::new(
            ErrorKind::NoInput,
            format!("cannot read the message from stdin: {e}"),
        )
        .with_source(e)
    })?;
    let prepared = raw::prepare(&request, &input)?;
    // Signed before the outbox stores it, so a queued message is flushed as signed.
    let message = MessageData::from(dkim::maybe_sign(signer.as_ref(), prepared.message)?);
    let outbox =
        Outbox::at(request.outbox_dir.clone()).with_sent_copies(request.sent_copy.is_some());
    let log = DeliveryLog::from(&request.log);
    deliver::deliver_or_keep(
        &request.profile,
        &prepared.envelope,
        &message,
        &log,
        &outbox,
        deliver::Keep::AlsoOnTlsInjection,
    )?;
    let mut report = Report::default();
    if let Some(account) = &request.sent_copy {
        sent::copy_one(
            &request.profile,
            account,
            &outbox,
            &log,
            &prepared.envelope,
            &message,
            &mut report,
        );
    }
    Ok(report)
}
