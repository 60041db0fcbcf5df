//! `rmail merge`: the plan (every row rendered and checked, nothing open), then the pool
//! (rows not yet in the journal, over reused sessions), then the summary.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::config::profile::Profile;
use crate::delivery::log::DeliveryLog;
use crate::delivery::merge::data::{Dataset, Row};
use crate::delivery::merge::journal::Journal;
use crate::delivery::merge::key;
use crate::delivery::merge::pace::Pace;
use crate::delivery::merge::plan::Plan;
use crate::delivery::merge::pool::{Event, Outcome, Pool};
use crate::delivery::outbox::Outbox;
use crate::delivery::sent::SentCopies;
use crate::error::{Error, ErrorKind, Result};
use crate::mime::dkim;
use crate::report::Report;
use crate::report::preview::Preview;
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
        let title = format!(
            "rmail merge preview: {} × {}",
            plan.template.path().display(),
            plan.data.path.display()
        );
        let mut preview = Preview::create(out_dir, &title)?;
        plan.dry_run(&rows, out_dir, &uses, |row, eml, spec, envelope| {
            preview.add(&row.describe(), eml, spec, envelope)
        })?;
        let page = preview.finish()?;
        return Ok(Report::note(format!(
            "merge: dry run, {count} message(s) written to {}; nothing sent; preview: {}",
            out_dir.display(),
            page.display()
        )));
    }
    let Some(profile) = &request.profile else {
        return Err(Error::config("no SMTP profile configured"));
    };

    // With --key, each row is journaled under its content key and its column key.
    let column_keys = request
        .key
        .as_deref()
        .map(|column| key::column_keys(&plan.data, column))
        .transpose()?;
    let keys: Vec<String> = match &column_keys {
        Some(by_column) => plan
            .data
            .row_keys()
            .into_iter()
            .zip(by_column)
            .map(|(content, column)| format!("{content} {column}"))
            .collect(),
        None => plan.data.row_keys(),
    };
    let journal = Journal::open(&request.journal)?;
    let sent_before = |journal: &Journal, i: usize| keys[i].split(' ').any(|k| journal.contains(k));
    let already = selected
        .iter()
        .filter(|&&i| sent_before(&journal, i))
        .count();
    let pending: Vec<usize> = selected
        .iter()
        .copied()
        .filter(|&i| !sent_before(&journal, i))
        .take(limit)
        .collect();
    if pending.is_empty() {
        return Ok(Report::note(format!(
            "merge: 0 sent, 0 failed, {already} already sent (journal {})",
            journal.path().display()
        )));
    }

    if request.confirm && std::io::stdin().is_terminal() {
        let (envelope, _) = plan.build(pending[0])?;
        confirm(
            pending.len(),
            already,
            profile,
            &envelope.recipients.join(", "),
        )?;
    }
    // The first Ctrl-C lets the messages in flight finish, then stops and sums up; a second
    // one ends rmail at once (each accepted row is already in the journal).
    let interrupted = Arc::new(AtomicBool::new(false));
    for register in [
        signal_hook::flag::register_conditional_default,
        signal_hook::flag::register,
    ] {
        register(signal_hook::consts::SIGINT, Arc::clone(&interrupted)).map_err(|e| {
            Error::new(ErrorKind::Internal, format!("cannot handle Ctrl-C: {e}")).with_source(e)
        })?;
    }

    // A file every row (or several) attaches is read and encoded once, not once per row.
    plan.cache_shared(&uses)?;
    let secret = profile.secret()?;
    let build = |row: usize| plan.build(row);
    let journal_path = journal.path().to_path_buf();
    let journal = Mutex::new(journal);
    let rows = &plan.data.rows;
    let record = |row: usize, to: &str| {
        journal
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .record(&keys[row], &format!("row {} to {to}", rows[row].number))
    };
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
        interrupted: &interrupted,
        record: &record,
    };
    let sessions = request.concurrency.clamp(1, pending.len());
    let total = pending.len();
    let progress = Progress::new(total as u64);
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
                // The row's session journaled it before this event: a copy is only ever
                // made of a row that counts as sent.
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
            Event::Unrecorded { .. } => progress.inc(),
            Event::SessionLost(_) | Event::Fatal(_) => {}
        }
        Ok(())
    });
    if let Some(line) = copies.and_then(SentCopies::finish) {
        progress.say(line);
    }
    progress.finish();
    drop(journal);
    let interrupted = interrupted.load(Ordering::SeqCst);
    finish(
        outcome,
        &plan.data,
        &request,
        &journal_path,
        already,
        total,
        interrupted,
    )
}

/// On a terminal, before the first message: what is about to happen, and a yes to go on.
/// Anything but y/yes (an empty line, end of input) sends nothing.
fn confirm(count: usize, already: usize, profile: &Profile, first: &str) -> Result<()> {
    let already = if already > 0 {
        format!(" ({already} already sent before)")
    } else {
        String::new()
    };
    eprint!(
        "rmail: send {count} message{} with profile '{}' ({}:{}), the first to {first}{already}? [y/N] ",
        if count == 1 { "" } else { "s" },
        profile.name,
        profile.host,
        profile.port
    );
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().read_line(&mut answer);
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        return Ok(());
    }
    if answer.is_empty() {
        eprintln!();
    }
    Err(Error::new(
        ErrorKind::Cancelled,
        "merge: nothing sent (not confirmed); answer y to send, or pass --yes to skip the question",
    ))
}

/// Prints the failures, writes the failed rows, sums up, and picks the exit code.
fn finish(
    mut outcome: Outcome,
    data: &Dataset,
    request: &MergeRequest,
    journal: &Path,
    already: usize,
    pending: usize,
    interrupted: bool,
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
    if interrupted {
        let failed = if failed > 0 {
            format!(", {failed} failed (listed above)")
        } else {
            String::new()
        };
        return Err(Error::new(
            ErrorKind::Cancelled,
            format!(
                "merge interrupted: {} sent{failed}, {not_sent} not sent yet (journal {}); run \
                 the same command again to send the rest: rows already accepted are not sent twice",
                outcome.sent,
                journal.display()
            ),
        ));
    }
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
        journal.display()
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
         rows the journal records as accepted are not sent again",
        request.data.display()
    );
    let message = match &outcome.fatal {
        Some(fatal) if !outcome.unrecorded.is_empty() => {
            // The rows the server accepted while the journal could not be written: the
            // only ones a re-run would send twice. Name each.
            let rows: Vec<String> = outcome
                .unrecorded
                .iter()
                .map(|(row, to)| format!("{} to {to}", data.rows[*row].describe()))
                .collect();
            format!(
                "merge stopped: {fatal}. Accepted by the server but not journaled, so a re-run \
                 sends them again: {}. Free the disk (or pass --journal PATH elsewhere, with the \
                 journal copied there), remove those rows from {} or accept the repeat, and run \
                 the same command again",
                rows.join("; "),
                request.data.display()
            )
        }
        Some(fatal) => format!("merge stopped: {fatal}; {again}"),
        None => format!(
            "{failed} row{} not accepted (listed above); {again}",
            if failed == 1 { " was" } else { "s were" }
        ),
    };
    Err(Error::new(worst, message))
}
