//! `rmail send`: compose, sign, then print (dry run) or deliver.

use std::io::IsTerminal;

use crate::commands::{write_file, write_stdout};
use crate::delivery::deliver::{self, Keep};
use crate::error::Result;
use crate::message::stdin::{self, Role};
use crate::message::{compose, identity};
use crate::mime::data::MessageData;
use crate::mime::dkim;
use crate::report::Report;
use crate::settings::send::SendRequest;

pub(crate) fn run(request: SendRequest) -> Result<Report> {
    // The key is loaded before anything is read or sent, so a bad key fails fast.
    let signer = match &request.profile {
        Some(profile) => dkim::Signer::from_profile(profile)?,
        None => None,
    };
    let piped = read_stdin(&request)?;
    let mut spec = compose::compose(&request.message, piped)?;
    for cid in compose::unreferenced_inline(&spec) {
        eprintln!(
            "rmail: warning: the HTML never refers to the inline image cid:{cid} (no \
             src=\"cid:{cid}\"); mail clients show it as an attachment or not at all"
        );
    }
    identity::pin_identity(&mut spec);
    // Signed last: --eml, the dry run and the server all see exactly these bytes. Large
    // attachments are read and encoded as they are written (signing reads them once more).
    let message = dkim::maybe_sign_data(signer.as_ref(), MessageData::render(&spec))?;
    let envelope = spec.envelope();
    drop(spec);
    if let Some(path) = &request.eml {
        write_file(path, |out| message.write_to(out))?;
    }
    match (&request.profile, &request.delivery) {
        (Some(profile), Some(delivery)) => {
            deliver::deliver(profile, &envelope, &message, delivery, Keep::Fixable)
        }
        (profile, _) => {
            write_stdout(|out| message.write_to(out))?;
            let via = profile
                .as_ref()
                .map(|p| format!("profile '{}' ({})", p.name, p.server))
                .unwrap_or_else(|| "no profile".to_string());
            Ok(Report::note(format!(
                "rmail: dry run, nothing sent; envelope from {} to {} via {via}",
                envelope.from,
                envelope.recipients.join(", ")
            )))
        }
    }
}

/// Standard input, when the flags say it is part of the message. On a terminal with no body
/// given, the user types it, as with mail(1).
fn read_stdin(request: &SendRequest) -> Result<Option<String>> {
    let input = std::io::stdin();
    match stdin::role(&request.message, input.is_terminal()) {
        Role::Ignore => Ok(None),
        Role::Body => stdin::read_all(input.lock()).map(Some),
        Role::Typed => {
            eprintln!(
                "rmail: type the message, then press Ctrl-D on a line of its own (Ctrl-C cancels)"
            );
            stdin::read_all(input.lock()).map(Some)
        }
        // An empty stdin (/dev/null) leaves the text part to be generated from the HTML.
        Role::TextPart if stdin::ready(&input) => {
            stdin::read_all(input.lock()).map(|text| Some(text).filter(|t| !t.is_empty()))
        }
        Role::MustBeEmpty if stdin::ready(&input) && stdin::has_bytes(input.lock()) => {
            Err(stdin::given_twice())
        }
        Role::TextPart | Role::MustBeEmpty => Ok(None),
    }
}
