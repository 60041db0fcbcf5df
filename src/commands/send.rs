//! `rmail send`: compose, sign, then print (dry run) or deliver.

use crate::commands::{write_file, write_stdout};
use crate::delivery::deliver;
use crate::delivery::log::DeliveryLog;
use crate::delivery::outbox::Outbox;
use crate::delivery::sent;
use crate::error::Result;
use crate::message::{compose, identity};
use crate::mime::data::MessageData;
use crate::mime::{dkim, render};
use crate::report::Report;
use crate::settings::send::SendRequest;

pub(crate) fn run(request: SendRequest) -> Result<Report> {
    // The key is loaded before anything is read or sent, so a bad key fails fast.
    let signer = match &request.profile {
        Some(profile) => dkim::Signer::from_profile(profile)?,
        None => None,
    };
    let mut spec = compose::compose(&request.message, std::io::stdin())?;
    identity::pin_identity(&mut spec);
    // Signed last: --eml, the dry run and the server all see exactly these bytes. DKIM needs
    // the whole message in memory; without it large attachments are encoded as they are sent.
    let message = match &signer {
        Some(signer) => MessageData::from(signer.sign(&render::render(&spec))?),
        None => MessageData::render(&spec),
    };
    let envelope = spec.envelope();
    drop(spec);
    if let Some(path) = &request.eml {
        write_file(path, |out| message.write_to(out))?;
    }
    match (&request.profile, &request.outbox_dir) {
        (Some(profile), Some(outbox_dir)) if !request.dry_run => {
            let outbox =
                Outbox::at(outbox_dir.clone()).with_sent_copies(request.sent_copy.is_some());
            let log = DeliveryLog::from(&request.log);
            deliver::deliver_or_keep(
                profile,
                &envelope,
                &message,
                &log,
                &outbox,
                deliver::Keep::Temporary,
            )?;
            let mut report = Report::default();
            if let Some(account) = &request.sent_copy {
                sent::copy_one(
                    profile,
                    account,
                    &outbox,
                    &log,
                    &envelope,
                    &message,
                    &mut report,
                );
            }
            Ok(report)
        }
        (profile, _) => {
            write_stdout(|out| message.write_to(out))?;
            let via = profile
                .as_ref()
                .map(|p| format!("profile '{}' ({}:{})", p.name, p.host, p.port))
                .unwrap_or_else(|| "no profile".to_string());
            Ok(Report::note(format!(
                "rmail: dry run, nothing sent; envelope from {} to {} via {via}",
                envelope.from,
                envelope.recipients.join(", ")
            )))
        }
    }
}
