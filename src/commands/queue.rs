//! `rmail queue list | flush | retry | drop` (and `sendmail -bp`): the outbox as the user
//! sees it.

use crate::commands::write_stdout;
use crate::delivery::flush::{self, Which};
use crate::delivery::log::DeliveryLog;
use crate::delivery::outbox::{Entry, Outbox, unknown_id, valid_id};
use crate::error::{Error, ErrorKind, Result};
use crate::message::raw;
use crate::mime::dkim;
use crate::report::{Report, listing};
use crate::settings::queue::{DropTarget, QueueRequest};

pub(crate) fn run(request: QueueRequest) -> Result<Report> {
    match request {
        QueueRequest::List { outbox_dir } => {
            let outbox = Outbox::at(outbox_dir);
            let listing = outbox.list_all()?;
            let failed = outbox.failed().list_all()?;
            let mut report = Report::default();
            for path in listing.unreadable.iter().chain(&failed.unreadable) {
                report.push(format!(
                    "rmail: warning: outbox entry {} is unreadable; inspect or remove it",
                    path.display()
                ));
            }
            let text = listing::queue(
                &listing.entries,
                &failed.entries,
                outbox.dir(),
                crate::time::now(),
            );
            write_stdout(|out| out.write_all(text.as_bytes()))?;
            Ok(report)
        }
        QueueRequest::Flush {
            outbox_dir,
            profiles,
            log,
            lifetime,
            retry,
            now,
            sendmail,
        } => {
            let outbox = Outbox::at(outbox_dir);
            let log = DeliveryLog::from(&log);
            if let Some(id) = &retry
                && !valid_id(id)
            {
                return Err(unknown_id(id));
            }
            let which = match &retry {
                Some(id) => Which::One(id),
                None if now => Which::Waiting,
                None => Which::Due,
            };
            let prepare = |entry: &Entry, input: &[u8]| {
                let Some(options) = &entry.meta.unprepared else {
                    return Err(Error::new(ErrorKind::Internal, "entry is prepared already"));
                };
                let request = sendmail.clone()?.for_unprepared(options)?;
                let prepared = raw::prepare(&request, input)?;
                let signer = dkim::Signer::from_profile(&request.profile)?;
                let message = dkim::maybe_sign(signer.as_ref(), prepared.message)?;
                Ok((request.profile.name.clone(), prepared.envelope, message))
            };
            let flushed = flush::flush(&profiles, &outbox, &log, lifetime, which, &prepare)?;
            for (id, err) in &flushed.kept {
                eprintln!("rmail: {id} kept: {err}");
            }
            // Reported this once: from now on it waits in failed/ for the user.
            for (id, err) in &flushed.failed {
                eprintln!(
                    "rmail: {id} failed for good and moved to {}: {err}",
                    outbox.failed().dir().display()
                );
            }
            let (kept, failed) = (flushed.kept.len(), flushed.failed.len());
            let mut report = Report::default();
            // One line whenever there was something to flush (an empty outbox stays
            // silent: an hourly cron job must not mail its owner every hour).
            if log.verbose || flushed.sent + flushed.copies + kept + failed > 0 {
                let copies = match flushed.copies {
                    0 => String::new(),
                    n => format!(
                        ", {n} cop{} saved in Sent",
                        if n == 1 { "y" } else { "ies" }
                    ),
                };
                report.push(format!(
                    "rmail: queue flush: {} sent{copies}, {kept} kept, {failed} failed, {} \
                     waiting for their retry time in {}",
                    flushed.sent,
                    flushed.waiting,
                    outbox.dir().display()
                ));
            }
            // A person at a terminal who flushed and saw nothing happen should hear why; cron
            // (no terminal) must stay quiet, or every run mails its owner.
            let attempted = flushed.sent + flushed.copies + kept + failed;
            if attempted == 0
                && flushed.waiting > 0
                && !log.verbose
                && std::io::IsTerminal::is_terminal(&std::io::stderr())
            {
                report.push(format!(
                    "rmail: {} message(s) wait for their retry time (`rmail queue list` shows \
                     when); `rmail queue flush --now` tries them now",
                    flushed.waiting
                ));
            }
            match flushed.worst() {
                None => Ok(report),
                Some(err) => {
                    for line in report.notes() {
                        eprintln!("{line}");
                    }
                    let what = if failed > 0 {
                        format!(
                            "{failed} message(s) moved to failed/ (`rmail queue list` shows \
                             them, `rmail queue retry ID` sends one again)"
                        )
                    } else {
                        format!("{kept} message(s) still in the outbox")
                    };
                    Err(Error::new(
                        err.kind(),
                        format!("{what}; the worst failure: {}", err.message()),
                    ))
                }
            }
        }
        QueueRequest::Drop { outbox_dir, target } => {
            let outbox = Outbox::at(outbox_dir);
            let _lock = outbox.lock()?;
            let failed = outbox.failed();
            let ids = match &target {
                DropTarget::Id(id) => {
                    if failed.get(id)?.is_some() {
                        failed.remove(id)?;
                    } else {
                        outbox.remove(id)?;
                    }
                    vec![id.clone()]
                }
                DropTarget::Failed | DropTarget::All => {
                    let mut ids = Vec::new();
                    for entry in failed.list()? {
                        failed.remove(&entry.id)?;
                        ids.push(entry.id);
                    }
                    if target == DropTarget::All {
                        for entry in outbox.list()? {
                            outbox.remove(&entry.id)?;
                            ids.push(entry.id);
                        }
                    }
                    ids
                }
            };
            write_stdout(|out| {
                for id in &ids {
                    writeln!(out, "dropped {id}")?;
                }
                if ids.is_empty() {
                    writeln!(out, "nothing to drop")?;
                }
                Ok(())
            })?;
            Ok(Report::default())
        }
    }
}
