//! `rmail merge`: the plan (every row rendered and checked, nothing open), then the pool
//! (rows not yet in the journal, over reused sessions), then the summary.
//!
//! The data file is read twice, a row at a time: once to check every row (and count what the
//! journal already has), once to send. Nothing grows with the number of rows but a bit and a
//! digest prefix per row, so a merge of a million rows fits in a few tens of MB.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::config::profile::Profile;
use crate::delivery::log::DeliveryLog;
use crate::delivery::merge::data::{DataFile, FailedRows, Row};
use crate::delivery::merge::journal::Journal;
use crate::delivery::merge::pace::Pace;
use crate::delivery::merge::plan::{Plan, Refused, Selection};
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

/// Failures listed one by one at the end; beyond this they are counted (every failed row
/// is in the failed-rows file either way).
const MAX_LISTED_FAILURES: usize = 1000;

pub(crate) fn run(request: MergeRequest) -> Result<Report> {
    let template = Template::load(&request.template)?;
    let data = DataFile::open(&request.data)?;
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
        roots,
        request.default_from.clone(),
        request.redirect.clone(),
        signer,
        request.key.clone(),
    );
    let selection = Selection {
        shard: request.shard,
        limit: request.limit,
    };
    let sending = request.dry_run_dir.is_none();
    if sending && request.profile.is_none() {
        return Err(Error::config("no SMTP profile configured"));
    }
    let journal = if sending {
        Some(Journal::open(&request.journal)?)
    } else {
        None
    };
    let checked = match plan.check(&data, selection, journal.as_ref()) {
        Ok(checked) => checked,
        Err(Refused::Rows(invalid)) => {
            for line in &invalid.lines {
                eprintln!("rmail: {line}");
            }
            return Err(invalid.error);
        }
        Err(Refused::File(error)) => return Err(error),
    };
    // A file every row (or several) attaches is read and encoded once, not once per row.
    plan.cache_shared(&checked.uses)?;

    let (Some(profile), Some(journal)) = (&request.profile, journal) else {
        let out_dir = request.dry_run_dir.as_deref().unwrap_or(Path::new("."));
        let title = format!(
            "rmail merge preview: {} × {}",
            plan.template.path().display(),
            data.path.display()
        );
        let mut preview = Preview::create(out_dir, &title)?;
        let count = plan.dry_run(
            &data,
            &checked,
            selection,
            out_dir,
            |row, eml, spec, envelope| preview.add(&row.describe(), eml, spec, envelope),
        )?;
        let page = preview.finish()?;
        return Ok(Report::note(format!(
            "merge: dry run, {count} message(s) written to {}; nothing sent; preview: {}",
            out_dir.display(),
            page.display()
        )));
    };
    let already = checked.already;
    if checked.pending == 0 {
        return Ok(Report::note(format!(
            "merge: 0 sent, 0 failed, {already} already sent (journal {})",
            journal.path().display()
        )));
    }

    // The second pass, a few rows ahead of the sessions.
    let mut jobs = plan.pending(&data, &checked)?.peekable();
    if request.confirm && std::io::stdin().is_terminal() {
        let first = match jobs.peek() {
            Some(Ok((row, _))) => plan.build(row)?.0.recipients.join(", "),
            _ => String::new(),
        };
        confirm(checked.pending, already, profile, &first)?;
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

    let secret = profile.secret()?;
    let build = |job: &(Row, String)| plan.build(&job.0);
    let journal_path = journal.path().to_path_buf();
    let journal = Mutex::new(journal);
    let record = |(row, key): &(Row, String), to: &str| {
        journal
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .record(key, &format!("row {} to {to}", row.number))
    };
    // To log_file only: with -v the merge prints its own line per row, under the bar.
    let log = DeliveryLog::new(request.log.file.clone(), false);
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
    let sessions = request.concurrency.clamp(1, checked.pending);
    let total = checked.pending;
    let progress = Progress::new(total as u64);
    let mut failures = Failures::new(&request.failed_rows, &data, &checked);
    // Rows the server accepted but the journal could not record: named at the end.
    let mut unrecorded: Vec<String> = Vec::new();
    let outbox;
    let mut copies = match (&request.sent_copy, &request.outbox_dir) {
        (Some(account), Some(outbox_dir)) => {
            outbox = Outbox::at(outbox_dir.clone());
            Some(SentCopies::new(profile, account, &outbox, request.verbose))
        }
        _ => None,
    };
    let outcome = pool.send_all(jobs, sessions, |event| {
        match event {
            Event::Sent {
                row: (row, _),
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
                    progress.say(format!("merge: {} sent to {to}: {reply}", row.describe()));
                }
            }
            Event::Failed {
                row: (row, _),
                error,
                to,
            } => {
                progress.inc();
                if request.verbose {
                    progress.say(format!("merge: {} to {to} failed: {error}", row.describe()));
                }
                failures.push(row, error, to);
            }
            Event::SessionLost(error) if request.verbose => {
                progress.say(format!("merge: one session fewer: {error}"));
            }
            Event::Unrecorded {
                row: (row, _), to, ..
            } => {
                progress.inc();
                unrecorded.push(format!("{} to {to}", row.describe()));
            }
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
        failures,
        &request,
        &journal_path,
        Counts {
            already,
            pending: total,
        },
        interrupted,
        &unrecorded,
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
        "rmail: send {count} message{} with profile '{}' ({}), the first to {first}{already}? [y/N] ",
        if count == 1 { "" } else { "s" },
        profile.name,
        profile.server
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

/// Rows journaled before this run, and rows this run set out to send.
struct Counts {
    already: usize,
    pending: usize,
}

/// The rows not accepted: listed at the end (up to [`MAX_LISTED_FAILURES`]) and written to
/// the failed-rows file as they happen.
struct Failures<'a> {
    path: &'a Path,
    data: &'a DataFile,
    columns: Vec<String>,
    file: Option<Result<FailedRows>>,
    /// (row number, line for the listing, worst kind so far) of the listed failures.
    listed: Vec<(usize, String)>,
    count: usize,
    worst: Option<ErrorKind>,
}

impl<'a> Failures<'a> {
    fn new(
        path: &'a Path,
        data: &'a DataFile,
        checked: &crate::delivery::merge::plan::Checked,
    ) -> Failures<'a> {
        Failures {
            path,
            data,
            columns: checked.columns.clone(),
            file: None,
            listed: Vec::new(),
            count: 0,
            worst: None,
        }
    }

    fn push(&mut self, row: &Row, error: &Error, to: &str) {
        self.count += 1;
        self.worst = self
            .worst
            .into_iter()
            .chain([error.kind()])
            .max_by_key(|k| k.severity());
        if self.listed.len() < MAX_LISTED_FAILURES {
            let to = if to.is_empty() {
                String::new()
            } else {
                format!(" to {to}")
            };
            self.listed
                .push((row.number, format!("{}{to}: {error}", row.describe())));
        }
        let (path, format, columns) = (self.path, self.data.format, &self.columns);
        let file = self
            .file
            .get_or_insert_with(|| FailedRows::create(path, format, columns));
        if let Ok(out) = file
            && let Err(err) = out.push(row)
        {
            self.file = Some(Err(err));
        }
    }
}

/// Prints the failures, closes the failed-rows file, sums up, and picks the exit code.
fn finish(
    mut outcome: Outcome,
    mut failures: Failures<'_>,
    request: &MergeRequest,
    journal: &Path,
    Counts { already, pending }: Counts,
    interrupted: bool,
    unrecorded: &[String],
) -> Result<Report> {
    failures.listed.sort_by_key(|(number, _)| *number);
    for (_, line) in &failures.listed {
        eprintln!("rmail: {line}");
    }
    if failures.count > failures.listed.len() {
        eprintln!(
            "rmail: … and {} more failed row(s)",
            failures.count - failures.listed.len()
        );
    }
    let failed_file = &request.failed_rows;
    match failures
        .file
        .take()
        .map(|file| file.and_then(FailedRows::finish))
    {
        Some(Ok(())) => eprintln!("rmail: the failed rows are in {}", failed_file.display()),
        Some(Err(err)) => eprintln!("rmail: {err}"),
        None => {}
    }
    let failed = outcome.failed;
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

    let worst = failures
        .worst
        .into_iter()
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
        Some(fatal) if !unrecorded.is_empty() => {
            // The rows the server accepted while the journal could not be written: the
            // only ones a re-run would send twice. Name each.
            format!(
                "merge stopped: {fatal}. Accepted by the server but not journaled, so a re-run \
                 sends them again: {}. Free the disk (or pass --journal PATH elsewhere, with the \
                 journal copied there), remove those rows from {} or accept the repeat, and run \
                 the same command again",
                unrecorded.join("; "),
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
