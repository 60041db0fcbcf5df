//! `rmail queue list | flush | drop` (and `sendmail -bp`): the outbox as the user sees it.

use crate::commands::write_stdout;
use crate::delivery::flush;
use crate::delivery::log::DeliveryLog;
use crate::delivery::outbox::Outbox;
use crate::error::{Error, Result};
use crate::report::{Report, listing};
use crate::settings::queue::QueueRequest;

pub(crate) fn run(request: QueueRequest) -> Result<Report> {
    match request {
        QueueRequest::List { outbox_dir } => {
            let outbox = Outbox::at(outbox_dir);
            let listing = outbox.list_all()?;
            let mut report = Report::default();
            for path in &listing.unreadable {
                report.push(format!(
                    "rmail: warning: outbox entry {} is unreadable; inspect or remove it",
                    path.display()
                ));
            }
            let text = listing::queue(&listing.entries, outbox.dir(), crate::time::now());
            write_stdout(|out| out.write_all(text.as_bytes()))?;
            Ok(report)
        }
        QueueRequest::Flush {
            outbox_dir,
            profiles,
            log,
        } => {
            let outbox = Outbox::at(outbox_dir);
            let log = DeliveryLog::from(&log);
            let flushed = flush::flush(&profiles, &outbox, &log)?;
            for (id, err) in &flushed.kept {
                eprintln!("rmail: {id} kept: {err}");
            }
            let kept = flushed.kept.len();
            let mut report = Report::default();
            // One line whenever there was something to flush (an empty outbox stays
            // silent: an hourly cron job must not mail its owner every hour).
            if log.verbose || flushed.sent + flushed.copies + kept > 0 {
                let copies = match flushed.copies {
                    0 => String::new(),
                    n => format!(
                        ", {n} cop{} saved in Sent",
                        if n == 1 { "y" } else { "ies" }
                    ),
                };
                report.push(format!(
                    "rmail: queue flush: {} sent{copies}, {kept} kept in {}",
                    flushed.sent,
                    outbox.dir().display()
                ));
            }
            match flushed.worst() {
                None => Ok(report),
                Some(err) => {
                    for line in report.notes() {
                        eprintln!("{line}");
                    }
                    Err(Error::new(
                        err.kind(),
                        format!(
                            "{kept} message(s) still in the outbox; the worst failure: {}",
                            err.message()
                        ),
                    ))
                }
            }
        }
        QueueRequest::Drop { outbox_dir, id } => {
            let outbox = Outbox::at(outbox_dir);
            let _lock = outbox.lock()?;
            outbox.remove(&id)?;
            write_stdout(|out| writeln!(out, "dropped {id}"))?;
            Ok(Report::default())
        }
    }
}
