//! `rmail merge`: the plan (every row rendered and checked, nothing open), then the pool
//! (rows not yet in the journal, over reused sessions), then the summary.

use std::path::{Path, PathBuf};

use crate::delivery::log::DeliveryLog;
use crate::delivery::merge::data::{Dataset, Row};
use crate::delivery::merge::journal::Journal;
use crate::delivery::merge::pace::Pace;
use crate::delivery::merge::plan::Plan;
use crate::delivery::merge::pool::{Event, Outcome, Pool};
use crate::delivery::outbox::Outbox;
use crate::delivery::sent::SentCopies;
use crate::error::{Error, ErrorKind, Result};
use crate::mime::dkim;
use crate::report::Report;
use crate::report::progress::Progress;
use crate::settings::merge::MergeRequest;
use crate::template::Template;

pub(crate) fn run(request: MergeRequest) -> Result<Report> {
    let template = Template::load(&request.template)?;
    let data = Dataset::read(&request.data)?;
    let data_dir = request
        .data
        .canonicalize()
        .map_err(|e| Error::read_file("data file", &request.data, &e))?
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/"));
    // Loaded before anything is rendered, so a bad key fails fast. Shared by sessions.
    let signer = match &request.profile {
        Some(profile) => dkim::Signer::from_profile(profile)?,
        None => None,
    };
    let roots = vec![template.dir().to_path_buf(), data_dir];
    let mut plan = Plan::new(
        template,
        data,
        roots,
        request.default_from.clone(),
        request.redirect.clone(),
        signer,
    );
    let selected: Vec<usize> = (0..plan.data.rows.len())
        .filter(|i| match request.shard {
            Some((k, n)) => i % n == k - 1,
            None => true,
        })
        .collect();
    let uses = match plan.validate(&selected) {
        Ok(uses) => uses,
        Err(invalid) => {
            for line in &invalid.lines {
                eprintln!("rmail: {line}");
            }
            return Err(invalid.error);
        }
    };
    let limit = request.limit.unwrap_or(usize::MAX);

    if let Some(out_dir) = &request.dry_run_dir {
        let rows: Vec<usize> = selected.into_iter().take(limit).collect();
        let count = rows.len();
        plan.dry_run(&rows, out_dir, &uses)?;
        return Ok(Report::note(format!(
            "merge: dry run, {count} message(s) written to {}; nothing sent",
            out_dir.display()
        )));
    }
    let Some(profile) = &request.profile else {
        return Err(Error::config("no SMTP profile configured"));
    };

    let mut journal = Journal::open(&request.journal)?;
    let keys = plan.data.row_keys();
    let already = selected
        .iter()
        .filter(|&&i| journal.contains(&keys[i]))
        .count();
    let pending: Vec<usize> = selected
        .iter()
        .copied()
        .filter(|&i| !journal.contains(&keys[i]))
        .take(limit)
        .collect();
    if pending.is_empty() {
        return Ok(Report::note(format!(
            "merge: 0 sent, 0 failed, {already} already sent (journal {})",
            journal.path().display()
        )));
    }

    // A file every row (or several) attaches is read and encoded once, not once per row.
    plan.cache_shared(&uses)?;
    let secret = profile.secret()?;
    let build = |row: usize| plan.build(row);
    // To log_file only: with -v the merge prints its own line per row, under the bar.
    let log = DeliveryLog {
        file: request.log.file.clone(),
        verbose: false,
    };
    let pool = Pool {
        profile,
        secret: secret.as_ref(),
        verbose: request.verbose,
        log: &log,
        pace: request.rate.map(Pace::new),
        build: &build,
    };
    let sessions = request.concurrency.clamp(1, pending.len());
    let total = pending.len();
    let progress = Progress::new(total as u64);
    let rows = &plan.data.rows;
    let outbox;
    let mut copies = match (&request.sent_copy, &request.outbox_dir) {
        (Some(account), Some(outbox_dir)) => {
            outbox = Outbox::at(outbox_dir.clone());
            Some(SentCopies::new(profile, account, &outbox, request.verbose))
        }
        _ => None,
    };
    let outcome = pool.send_all(pending, sessions, |event| {
        match event {
            Event::Sent {
                row,
                reply,
                to,
                envelope,
                message,
            } => {
                progress.inc();
                journal.record(&keys[*row], &format!("row {} to {to}", rows[*row].number))?;
                // After the journal: a copy is only ever made of a row that counts as sent.
                if let Some(line) = copies
                    .as_mut()
                    .and_then(|c| c.save_or_keep(envelope, message))
                {
                    progress.say(line);
                }
                if request.verbose {
                    progress.say(format!(
                        "merge: {} sent to {to}: {reply}",
                        rows[*row].describe()
                    ));
                }
            }
            Event::Failed { row, error, to } => {
                progress.inc();
                if request.verbose {
                    progress.say(format!(
                        "merge: {} to {to} failed: {error}",
                        rows[*row].describe()
                    ));
                }
            }
            Event::SessionLost(error) if request.verbose => {
                progress.say(format!("merge: one session fewer: {error}"));
            }
            Event::SessionLost(_) | Event::Fatal(_) => {}
        }
        Ok(())
    });
    if let Some(line) = copies.and_then(SentCopies::finish) {
        progress.say(line);
    }
    progress.finish();
    finish(outcome, &plan.data, &request, &journal, already, total)
}

/// Prints the failures, writes the failed rows, sums up, and picks the exit code.
fn finish(
    mut outcome: Outcome,
    data: &Dataset,
    request: &MergeRequest,
    journal: &Journal,
    already: usize,
    pending: usize,
) -> Result<Report> {
    outcome.failures.sort_by_key(|(row, _, _)| *row);
    for (row, error, to) in &outcome.failures {
        let row = &data.rows[*row];
        let to = if to.is_empty() {
            String::new()
        } else {
            format!(" to {to}")
        };
        eprintln!("rmail: {}{to}: {error}", row.describe());
    }
    let failed_file = &request.failed_rows;
    if !outcome.failures.is_empty() {
        let rows: Vec<&Row> = outcome
            .failures
            .iter()
            .map(|(row, _, _)| &data.rows[*row])
            .collect();
        match data.write_rows(failed_file, &rows) {
            Ok(()) => eprintln!("rmail: the failed rows are in {}", failed_file.display()),
            Err(err) => eprintln!("rmail: {err}"),
        }
    }
    let failed = outcome.failures.len();
    let not_sent = pending.saturating_sub(outcome.sent + failed);
    if not_sent > 0 && outcome.fatal.is_none() {
        // Every session lost its connection while rows were left.
        outcome.fatal = Some(Error::new(
            ErrorKind::Temporary,
            format!("{not_sent} row(s) could not be sent: no SMTP session could connect"),
        ));
    }
    let mut summary = format!("merge: {} sent, {failed} failed", outcome.sent);
    if not_sent > 0 {
        summary += &format!(", {not_sent} not attempted");
    }
    let summary = format!(
        "{summary}, {already} already sent (journal {})",
        journal.path().display()
    );

    let worst = outcome
        .failures
        .iter()
        .map(|(_, e, _)| e.kind())
        .chain(outcome.fatal.as_ref().map(Error::kind))
        .max_by_key(|k| k.severity());
    let Some(worst) = worst else {
        // Every row accepted: an older failed-rows file no longer describes anything.
        if failed_file.is_file() {
            let _ = std::fs::remove_file(failed_file);
        }
        return Ok(Report::note(summary));
    };
    eprintln!("{summary}");
    let again = format!(
        "fix the cause (a bad row: in {}) and run the same command again; \
         rows already accepted are not sent twice",
        request.data.display()
    );
    let message = match &outcome.fatal {
        Some(fatal) => format!("merge stopped: {fatal}; {again}"),
        None => format!(
            "{failed} row{} not accepted (listed above); {again}",
            if failed == 1 { " was" } else { "s were" }
        ),
    };
    Err(Error::new(worst, message))
}
