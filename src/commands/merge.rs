//! `rmail merge`: the plan (every row rendered and checked, nothing open), then the pool
//! (rows not yet in the journal, over reused sessions), then the summary.
//!
//! The data file is read twice, a row at a time: once to check every row (and count what the
//! journal already has), once to send. Nothing grows with the number of rows but a bit and a
//! digest prefix per row, so a merge of a million rows fits in a few tens of MB.

use std::path::{Path, PathBuf};

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
    );
    let selection = Selection {
        shard: request.shard,
        limit: request.limit,
    };
    let sending = request.dry_run_dir.is_none();
    if sending && request.profile.is_none() {
        return Err(Error::config("no SMTP profile configured"));
    }
    let mut journal = if sending {
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

    let (Some(profile), Some(journal)) = (&request.profile, journal.as_mut()) else {
        let out_dir = request.dry_run_dir.as_deref().unwrap_or(Path::new("."));
        let count = plan.dry_run(&data, &checked, selection, out_dir)?;
        return Ok(Report::note(format!(
            "merge: dry run, {count} message(s) written to {}; nothing sent",
            out_dir.display()
        )));
    };
    let already = checked.already;
    if checked.pending == 0 {
        return Ok(Report::note(format!(
            "merge: 0 sent, 0 failed, {already} already sent (journal {})",
            journal.path().display()
        )));
    }

    let secret = profile.secret()?;
    let build = |job: &(Row, String)| plan.build(&job.0);
    let pool = Pool {
        profile,
        secret: secret.as_ref(),
        verbose: request.verbose,
        pace: request.rate.map(Pace::new),
        build: &build,
    };
    let sessions = request.concurrency.clamp(1, checked.pending);
    let total = checked.pending;
    let progress = Progress::new(total as u64);
    let mut failures = Failures::new(&request.failed_rows, &data, &checked);
    let outbox;
    let mut copies = match (&request.sent_copy, &request.outbox_dir) {
        (Some(account), Some(outbox_dir)) => {
            outbox = Outbox::at(outbox_dir.clone());
            Some(SentCopies::new(profile, account, &outbox, request.verbose))
        }
        _ => None,
    };
    let outcome = pool.send_all(plan.pending(&data, &checked)?, sessions, |event| {
        match event {
            Event::Sent {
                row: (row, key),
                reply,
                to,
                envelope,
                message,
            } => {
                progress.inc();
                journal.record(key, &format!("row {} to {to}", row.number))?;
                // After the journal: a copy is only ever made of a row that counts as sent.
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
            Event::SessionLost(_) | Event::Fatal(_) => {}
        }
        Ok(())
    });
    if let Some(line) = copies.and_then(SentCopies::finish) {
        progress.say(line);
    }
    progress.finish();
    finish(outcome, failures, &request, journal, already, total)
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
    journal: &Journal,
    already: usize,
    pending: usize,
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
