//! `rmail merge`: one personalised message per data row.
//!
//! The run has two halves with a hard line between them. First everything is resolved and
//! checked with no connection open: flags, profile, template, data, and every selected row
//! rendered with its files found inside the allowed folders; any bad row stops the merge
//! here with nothing sent. Then rows not yet in the journal are sent over `concurrency`
//! reused SMTP sessions (plain threads; the work is blocking I/O), paced to the rate cap,
//! and each accepted row is journaled at once so that a re-run never sends it again.

use std::collections::{HashMap, VecDeque};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};

use crate::cli::{GlobalArgs, MergeArgs};
use crate::compose;
use crate::config::LoadedConfig;
use crate::data::{Dataset, Row};
use crate::dkim;
use crate::error::{Error, ErrorKind, Result};
use crate::journal::Journal;
use crate::message::{Envelope, Header, Mailbox, Part};
use crate::mime;
use crate::profile::{self, Profile, Secret};
use crate::template::{self, Rendered, Template};
use crate::transport::{ConnectOptions, Session};

/// Runs a merge.
pub fn run(global: &GlobalArgs, config: &LoadedConfig, args: &MergeArgs) -> Result<()> {
    let options = Options::parse(args)?;
    let profile =
        if args.dry_run {
            profile::select(config, global.profile.as_deref())?
        } else {
            Some(profile::select(config, global.profile.as_deref())?.ok_or_else(|| {
            Error::config(format!(
                "no SMTP profile configured ({}); copy config.example.toml there and edit it, \
                 or rehearse with --dry-run --out-dir DIR",
                config.describe_path()
            ))
        })?)
        };
    let template = Template::load(&template::find(&args.template)?)?;
    let data = Dataset::read(&args.data)?;
    let data_dir = args
        .data
        .canonicalize()
        .map_err(|e| Error::read_file("data file", &args.data, &e))?
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/"));
    let plan = Plan {
        roots: vec![template.dir().to_path_buf(), data_dir],
        default_from: compose::sender(None, profile.as_ref()).ok(),
        redirect: options.redirect.clone(),
        template,
        cache: HashMap::new(),
        rendered: Vec::new(),
        // Loaded before anything is rendered, so a bad key fails fast. Shared by sessions.
        signer: match &profile {
            Some(profile) => dkim::Signer::from_profile(profile)?,
            None => None,
        },
        data,
    };

    let selected: Vec<usize> = (0..plan.data.rows.len())
        .filter(|i| match options.shard {
            Some((k, n)) => i % n == k - 1,
            None => true,
        })
        .collect();
    let mut plan = plan;
    let uses = plan.validate(&selected)?;

    if args.dry_run {
        let out_dir = args.out_dir.as_deref().unwrap_or(Path::new("."));
        let rows: Vec<usize> = selected
            .into_iter()
            .take(options.limit.unwrap_or(usize::MAX))
            .collect();
        return plan.dry_run(&rows, out_dir, &uses);
    }
    let Some(profile) = profile else {
        return Err(Error::config("no SMTP profile configured"));
    };

    let journal_path = args
        .journal
        .clone()
        .unwrap_or_else(|| default_journal(&args.data, &options));
    let journal = Journal::open(&journal_path)?;
    let keys = plan.data.row_keys();
    let already = selected
        .iter()
        .filter(|&&i| journal.contains(&keys[i]))
        .count();
    let pending: Vec<usize> = selected
        .iter()
        .copied()
        .filter(|&i| !journal.contains(&keys[i]))
        .take(options.limit.unwrap_or(usize::MAX))
        .collect();
    if pending.is_empty() {
        eprintln!(
            "merge: 0 sent, 0 failed, {already} already sent (journal {})",
            journal.path().display()
        );
        return Ok(());
    }

    // A file every row (or several) attaches is read and encoded once, not once per row.
    plan.cache_shared(&uses)?;
    let secret = profile.secret()?;
    let run = Sender {
        plan: &plan,
        profile: &profile,
        secret: secret.as_ref(),
        verbose: global.verbose,
        queue: Mutex::new(pending.iter().copied().collect()),
        stop: AtomicBool::new(false),
        alive: AtomicUsize::new(0),
        pace: options.rate.map(Pace::new),
    };
    let concurrency = options
        .concurrency
        .unwrap_or(profile.concurrency)
        .clamp(1, pending.len());
    let outcome = run.send_all(concurrency, journal, &keys);
    outcome.finish(&plan, &args.data, &options, already, pending.len())
}

/// The merge flags, parsed and checked.
#[derive(Debug, Clone, Default)]
struct Options {
    /// (K, N), 1 ≤ K ≤ N.
    shard: Option<(usize, usize)>,
    /// Messages per second.
    rate: Option<f64>,
    concurrency: Option<usize>,
    limit: Option<usize>,
    redirect: Option<Mailbox>,
}

impl Options {
    fn parse(args: &MergeArgs) -> Result<Options> {
        if args.dry_run && args.out_dir.is_none() {
            return Err(Error::usage(
                "--dry-run writes one .eml per row and needs a folder for them: add --out-dir DIR",
            ));
        }
        if args.out_dir.is_some() && !args.dry_run {
            return Err(Error::usage(
                "--out-dir is only for a rehearsal: add --dry-run (nothing is sent then)",
            ));
        }
        if args.concurrency == Some(0) {
            return Err(Error::usage("--concurrency must be at least 1"));
        }
        let redirect = args
            .redirect_to
            .as_deref()
            .map(|a| Mailbox::parse(a).map_err(|e| Error::usage(format!("--redirect-to: {e}"))))
            .transpose()?;
        Ok(Options {
            shard: args.shard.as_deref().map(parse_shard).transpose()?,
            rate: args.rate.as_deref().map(parse_rate).transpose()?,
            concurrency: args.concurrency,
            limit: args.limit,
            redirect,
        })
    }

    /// `.shard-1-of-2` / `.redirect` infixes, so that shards and rehearsals each keep their
    /// own journal and failed-rows file and never mark real rows as sent.
    fn infix(&self) -> String {
        let mut infix = String::new();
        if let Some((k, n)) = self.shard {
            infix += &format!(".shard-{k}-of-{n}");
        }
        if self.redirect.is_some() {
            infix += ".redirect";
        }
        infix
    }
}

/// `K/N` → (K, N).
fn parse_shard(text: &str) -> Result<(usize, usize)> {
    let parsed = text
        .split_once('/')
        .and_then(|(k, n)| Some((k.trim().parse().ok()?, n.trim().parse().ok()?)));
    match parsed {
        Some((k, n)) if k >= 1 && k <= n => Ok((k, n)),
        _ => Err(Error::usage(format!(
            "--shard '{text}' must be K/N with 1 <= K <= N, e.g. --shard 1/2 and --shard 2/2"
        ))),
    }
}

/// `10`, `10/s`, `2.5/s`, `600/m`, `3600/h` → messages per second.
fn parse_rate(text: &str) -> Result<f64> {
    let (number, unit) = text.split_once('/').unwrap_or((text, "s"));
    let per = match unit.trim() {
        "s" | "sec" | "second" => 1.0,
        "m" | "min" | "minute" => 60.0,
        "h" | "hour" => 3600.0,
        _ => f64::NAN,
    };
    match number.trim().parse::<f64>() {
        Ok(n) if n > 0.0 && n.is_finite() && per.is_finite() => Ok(n / per),
        _ => Err(Error::usage(format!(
            "--rate '{text}' must be a positive number of messages per second, e.g. 10 or 10/s (or 600/m)"
        ))),
    }
}

/// `customers.csv.journal` beside the data file (`customers.csv.shard-1-of-2.journal`, …).
fn default_journal(data: &Path, options: &Options) -> PathBuf {
    let mut name = data.file_name().unwrap_or_default().to_os_string();
    name.push(options.infix());
    name.push(".journal");
    data.with_file_name(name)
}

/// `customers.failed.csv` beside the data file: same format, so it opens in the same tools.
fn failed_path(data: &Path, options: &Options) -> PathBuf {
    let stem = data.file_stem().unwrap_or_default().to_string_lossy();
    let ext = data
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    data.with_file_name(format!("{stem}.failed{}{ext}", options.infix()))
}

/// What every row is rendered with.
struct Plan {
    template: Template,
    data: Dataset,
    /// Folders attachments may come from: the template's and the data file's.
    roots: Vec<PathBuf>,
    default_from: Option<Mailbox>,
    redirect: Option<Mailbox>,
    /// Files used by more than one row, read and base64-encoded once.
    cache: HashMap<PathBuf, Part>,
    /// The profile's DKIM key: every message is signed as it is built.
    signer: Option<dkim::Signer>,
    /// Each selected row as validation rendered it (by row index), so that sending does
    /// not render and resolve paths a second time.
    rendered: Vec<Option<Rendered>>,
}

impl Plan {
    /// Renders one row: template, default sender, redirect, checks.
    fn render(&self, row: &Row) -> Result<Rendered> {
        let mut rendered = self
            .template
            .render(&template::context(&row.values), &self.roots)?;
        let spec = &mut rendered.spec;
        if spec.from.is_none() {
            spec.from = self.default_from.clone();
        }
        if let Some(to) = &self.redirect {
            // A rehearsal: only ADDR gets the message, in the envelope and in To; the
            // original recipients are shown in a header so each message can be checked.
            let original: Vec<String> = spec
                .to
                .iter()
                .chain(&spec.cc)
                .map(|m| m.to_string())
                .collect();
            spec.to = vec![to.clone()];
            spec.cc.clear();
            spec.bcc.clear();
            spec.headers.push(Header {
                name: "X-Rmail-Redirected-From".into(),
                value: original.join(", "),
            });
        }
        spec.validate()?;
        Ok(rendered)
    }

    /// The message for one row, as bytes.
    fn build(&self, index: usize) -> Result<(Envelope, Vec<u8>)> {
        let rendered = match self.rendered.get(index) {
            Some(Some(rendered)) => rendered.clone(),
            _ => self.render(&self.data.rows[index])?,
        };
        let spec = rendered.into_spec(|path| match self.cache.get(path) {
            Some(part) => Ok(part.clone()),
            None => Part::read(path, "attachment"),
        })?;
        let bytes = dkim::maybe_sign(self.signer.as_ref(), mime::render(&spec))?;
        Ok((spec.envelope(), bytes))
    }

    /// Renders every selected row before anything is sent. Returns how many rows use each
    /// file; on any bad row, lists them all and fails with nothing sent.
    fn validate(&mut self, selected: &[usize]) -> Result<HashMap<PathBuf, usize>> {
        let mut uses: HashMap<PathBuf, usize> = HashMap::new();
        let mut problems: Vec<(String, Vec<usize>)> = Vec::new();
        self.rendered = vec![None; self.data.rows.len()];
        for &i in selected {
            let row = &self.data.rows[i];
            match self.render(row) {
                Ok(rendered) => {
                    let files = rendered
                        .attach
                        .iter()
                        .chain(rendered.inline.iter().map(|(_, p)| p));
                    for path in files {
                        *uses.entry(path.clone()).or_default() += 1;
                    }
                    self.rendered[i] = Some(rendered);
                }
                Err(err) => {
                    let message = err.message().to_string();
                    match problems.iter_mut().find(|(m, _)| *m == message) {
                        Some((_, rows)) => rows.push(row.number),
                        None => problems.push((message, vec![row.number])),
                    }
                }
            }
        }
        if problems.is_empty() {
            return Ok(uses);
        }
        let bad: usize = problems.iter().map(|(_, rows)| rows.len()).sum();
        for (message, rows) in &problems {
            let which = match rows.as_slice() {
                [one] => self.data.rows[one - 1].describe(),
                many => format!("rows {} ({} rows)", ranges(many), many.len()),
            };
            eprintln!("rmail: {which}: {message}");
        }
        Err(Error::data(format!(
            "{bad} of {} rows cannot be sent (listed above); nothing was sent. Fix {} or {} \
             and run the same command again",
            selected.len(),
            self.template.path().display(),
            self.data.path.display()
        )))
    }

    /// Reads and encodes, once, every file more than one row uses.
    fn cache_shared(&mut self, uses: &HashMap<PathBuf, usize>) -> Result<()> {
        for (path, &count) in uses {
            if count > 1 {
                let mut part = Part::read(path, "attachment")?;
                mime::pre_encode(&mut part);
                self.cache.insert(path.clone(), part);
            }
        }
        Ok(())
    }

    /// Writes one `.eml` per row, named after the row number, and sends nothing.
    fn dry_run(
        mut self,
        rows: &[usize],
        out_dir: &Path,
        uses: &HashMap<PathBuf, usize>,
    ) -> Result<()> {
        let cant = |path: &Path, e: std::io::Error| {
            Error::new(
                ErrorKind::CantCreate,
                format!("cannot write {}: {e}", path.display()),
            )
        };
        std::fs::create_dir_all(out_dir).map_err(|e| cant(out_dir, e))?;
        self.cache_shared(uses)?;
        let width = self.data.rows.len().to_string().len().max(4);
        for &i in rows {
            let row = &self.data.rows[i];
            let (_, bytes) = self.build(i)?;
            let path = out_dir.join(format!("{:0width$}.eml", row.number));
            std::fs::write(&path, bytes).map_err(|e| cant(&path, e))?;
        }
        eprintln!(
            "merge: dry run, {} message(s) written to {}; nothing sent",
            rows.len(),
            out_dir.display()
        );
        Ok(())
    }
}

/// `1, 2, 3, 5, 7, 8` → `1-3, 5, 7-8`.
fn ranges(numbers: &[usize]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < numbers.len() {
        let start = numbers[i];
        let mut end = start;
        while i + 1 < numbers.len() && numbers[i + 1] == end + 1 {
            i += 1;
            end = numbers[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    parts.join(", ")
}

/// A global rate cap shared by every session: each send takes the next free time slot.
struct Pace {
    interval: Duration,
    next: Mutex<Instant>,
}

impl Pace {
    fn new(per_second: f64) -> Pace {
        Pace {
            interval: Duration::from_secs_f64(1.0 / per_second),
            next: Mutex::new(Instant::now()),
        }
    }

    fn wait(&self) {
        let slot = {
            let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
            let slot = (*next).max(Instant::now());
            *next = slot + self.interval;
            slot
        };
        let now = Instant::now();
        if slot > now {
            std::thread::sleep(slot - now);
        }
    }
}

/// How long a connection may sit unused before the next message gets a new one.
const IDLE_LIMIT: Duration = Duration::from_secs(20);

/// What a sending thread reports to the main thread.
enum Event {
    Sent {
        row: usize,
        reply: String,
        to: String,
    },
    Failed {
        row: usize,
        error: Error,
        to: String,
    },
    /// Nothing more can be sent (login refused, server unreachable from every session).
    Fatal(Error),
}

/// The sending half: shared by the worker threads.
struct Sender<'a> {
    plan: &'a Plan,
    profile: &'a Profile,
    secret: Option<&'a Secret>,
    verbose: bool,
    /// Row indices still to send.
    queue: Mutex<VecDeque<usize>>,
    stop: AtomicBool,
    /// Workers still running: the last one to lose its connection ends the merge.
    alive: AtomicUsize,
    pace: Option<Pace>,
}

/// What happened, for the summary and the exit code.
struct Outcome {
    sent: usize,
    failures: Vec<(usize, Error, String)>,
    fatal: Option<Error>,
    journal: PathBuf,
}

impl Sender<'_> {
    fn send_all(&self, sessions: usize, mut journal: Journal, keys: &[String]) -> Outcome {
        let total = self.queue.lock().map(|q| q.len()).unwrap_or(0);
        let bar = progress_bar(total as u64);
        let say = |line: String| {
            if bar.is_hidden() {
                eprintln!("{line}");
            } else {
                bar.println(line);
            }
        };
        let mut outcome = Outcome {
            sent: 0,
            failures: Vec::new(),
            fatal: None,
            journal: journal.path().to_path_buf(),
        };
        self.alive.store(sessions, Ordering::SeqCst);
        std::thread::scope(|scope| {
            let (tx, rx) = mpsc::channel();
            for _ in 0..sessions {
                let tx = tx.clone();
                scope.spawn(move || self.worker(tx));
            }
            drop(tx);
            for event in rx {
                match event {
                    Event::Sent { row, reply, to } => {
                        let number = self.plan.data.rows[row].number;
                        if let Err(err) =
                            journal.record(&keys[row], &format!("row {number} to {to}"))
                        {
                            self.stop.store(true, Ordering::SeqCst);
                            outcome.fatal.get_or_insert(err);
                        }
                        outcome.sent += 1;
                        bar.inc(1);
                        if self.verbose {
                            say(format!(
                                "merge: {} sent to {to}: {reply}",
                                self.plan.data.rows[row].describe()
                            ));
                        }
                    }
                    Event::Failed { row, error, to } => {
                        bar.inc(1);
                        if self.verbose {
                            say(format!(
                                "merge: {} to {to} failed: {error}",
                                self.plan.data.rows[row].describe()
                            ));
                        }
                        outcome.failures.push((row, error, to));
                    }
                    Event::Fatal(error) => {
                        outcome.fatal.get_or_insert(error);
                    }
                }
            }
        });
        bar.finish_and_clear();
        outcome
    }

    fn next_row(&self) -> Option<usize> {
        if self.stop.load(Ordering::SeqCst) {
            return None;
        }
        self.queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop_front()
    }

    /// One SMTP session: takes rows off the queue until it is empty, reconnecting when the
    /// connection breaks.
    fn worker(&self, tx: mpsc::Sender<Event>) {
        let mut session: Option<Session> = None;
        let mut last_used = Instant::now();
        while let Some(row) = self.next_row() {
            let (envelope, bytes) = match self.plan.build(row) {
                Ok(message) => message,
                Err(error) => {
                    let _ = tx.send(Event::Failed {
                        row,
                        error,
                        to: String::new(),
                    });
                    continue;
                }
            };
            let to = envelope.recipients.join(", ");
            if let Some(pace) = &self.pace {
                pace.wait();
            }
            if self.stop.load(Ordering::SeqCst) {
                self.requeue(row);
                break;
            }
            // Servers close idle connections (often after a minute); under a slow rate cap
            // start a fresh one rather than have the next message fail on a dead socket.
            if last_used.elapsed() > IDLE_LIMIT
                && let Some(old) = session.take()
            {
                old.quit();
            }
            let mut current = match session.take() {
                Some(s) => s,
                None => match self.open() {
                    Ok(s) => s,
                    Err(error) => {
                        // Not this row's fault: put it back for another session, or for
                        // the next run if this was the last session.
                        self.requeue(row);
                        let last = self.alive.fetch_sub(1, Ordering::SeqCst) == 1;
                        let fatal = matches!(error.kind(), ErrorKind::Auth | ErrorKind::Config);
                        if last || fatal {
                            self.stop.store(true, Ordering::SeqCst);
                            let _ = tx.send(Event::Fatal(error));
                        } else if self.verbose {
                            eprintln!("merge: one session fewer: {error}");
                        }
                        return;
                    }
                },
            };
            last_used = Instant::now();
            match current.send(&envelope, &bytes) {
                Ok(reply) => {
                    session = Some(current);
                    let _ = tx.send(Event::Sent { row, reply, to });
                }
                Err(error) => {
                    // A refused recipient leaves the session clean (rmail sent RSET); after
                    // anything else start over on a new connection rather than guess its state.
                    let reusable = error.kind() == ErrorKind::Data
                        && error.reply().is_some()
                        && !current.is_broken();
                    if reusable {
                        session = Some(current);
                    } else if error.reply().is_some() && !current.is_broken() {
                        current.quit();
                    }
                    if error.kind() == ErrorKind::Auth {
                        self.stop.store(true, Ordering::SeqCst);
                    }
                    let _ = tx.send(Event::Failed { row, error, to });
                }
            }
        }
        self.alive.fetch_sub(1, Ordering::SeqCst);
        if let Some(session) = session {
            session.quit();
        }
    }

    /// Puts a row back at the front of the queue (it was not attempted).
    fn requeue(&self, row: usize) {
        self.queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_front(row);
    }

    fn open(&self) -> Result<Session> {
        let options = ConnectOptions {
            verbose: self.verbose,
            ..ConnectOptions::default()
        };
        let mut session = Session::open(self.profile, self.secret, options)?;
        session.use_pipelining(self.profile)?;
        Ok(session)
    }
}

fn progress_bar(len: u64) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    // `{rate}` rather than indicatif's `{per_sec}`, which prints four decimals.
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("merge {bar:30} {pos}/{len} {rate} ETA {eta}")
    {
        bar.set_style(style.with_key(
            "rate",
            |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.0} msg/s", state.per_sec());
            },
        ));
    }
    bar
}

impl Outcome {
    /// Prints the failures and the summary, writes the failed rows, picks the exit code.
    fn finish(
        mut self,
        plan: &Plan,
        data_path: &Path,
        options: &Options,
        already: usize,
        pending: usize,
    ) -> Result<()> {
        self.failures.sort_by_key(|(row, _, _)| *row);
        for (row, error, to) in &self.failures {
            let row = &plan.data.rows[*row];
            let to = if to.is_empty() {
                String::new()
            } else {
                format!(" to {to}")
            };
            eprintln!("rmail: {}{to}: {error}", row.describe());
        }
        let failed_file = failed_path(data_path, options);
        if !self.failures.is_empty() {
            let rows: Vec<&Row> = self
                .failures
                .iter()
                .map(|(row, _, _)| &plan.data.rows[*row])
                .collect();
            match plan.data.write_rows(&failed_file, &rows) {
                Ok(()) => eprintln!("rmail: the failed rows are in {}", failed_file.display()),
                Err(err) => eprintln!("rmail: {err}"),
            }
        }
        let failed = self.failures.len();
        let not_sent = pending.saturating_sub(self.sent + failed);
        if not_sent > 0 && self.fatal.is_none() {
            // Every session lost its connection while rows were left.
            self.fatal = Some(Error::new(
                ErrorKind::Temporary,
                format!("{not_sent} row(s) could not be sent: no SMTP session could connect"),
            ));
        }
        let mut summary = format!("merge: {} sent, {failed} failed", self.sent);
        if not_sent > 0 {
            summary += &format!(", {not_sent} not attempted");
        }
        eprintln!(
            "{summary}, {already} already sent (journal {})",
            self.journal.display()
        );

        let worst = self
            .failures
            .iter()
            .map(|(_, e, _)| e.kind())
            .chain(self.fatal.as_ref().map(Error::kind))
            .max_by_key(|k| k.severity());
        let Some(worst) = worst else {
            // Every row accepted: an older failed-rows file no longer describes anything.
            if failed_file.is_file() {
                let _ = std::fs::remove_file(&failed_file);
            }
            return Ok(());
        };
        let again = format!(
            "fix the cause (a bad row: in {}) and run the same command again; \
             rows already accepted are not sent twice",
            data_path.display()
        );
        let message = match &self.fatal {
            Some(fatal) => format!("merge stopped: {fatal}; {again}"),
            None => format!(
                "{failed} row{} not accepted (listed above); {again}",
                if failed == 1 { " was" } else { "s were" }
            ),
        };
        Err(Error::new(worst, message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_and_rates() {
        assert_eq!(parse_shard("1/2").unwrap(), (1, 2));
        assert_eq!(parse_shard(" 2 / 2 ").unwrap(), (2, 2));
        for bad in ["0/2", "3/2", "1", "a/b", "1/0"] {
            assert_eq!(
                parse_shard(bad).unwrap_err().kind(),
                ErrorKind::Usage,
                "{bad}"
            );
        }
        assert_eq!(parse_rate("10").unwrap(), 10.0);
        assert_eq!(parse_rate("2.5/s").unwrap(), 2.5);
        assert_eq!(parse_rate("600/m").unwrap(), 10.0);
        for bad in ["0", "-1", "x", "10/d", "inf"] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn file_names_beside_the_data() {
        let mut options = Options::default();
        let data = Path::new("dir/customers.csv");
        assert_eq!(
            default_journal(data, &options),
            Path::new("dir/customers.csv.journal")
        );
        assert_eq!(
            failed_path(data, &options),
            Path::new("dir/customers.failed.csv")
        );
        options.shard = Some((1, 2));
        assert_eq!(
            default_journal(data, &options),
            Path::new("dir/customers.csv.shard-1-of-2.journal")
        );
        assert_eq!(
            failed_path(data, &options),
            Path::new("dir/customers.failed.shard-1-of-2.csv")
        );
    }

    #[test]
    fn row_ranges() {
        assert_eq!(ranges(&[1, 2, 3, 5, 7, 8]), "1-3, 5, 7-8");
        assert_eq!(ranges(&[4]), "4");
    }

    #[test]
    fn worst_failure_order() {
        let mut kinds = vec![
            ErrorKind::Temporary,
            ErrorKind::Data,
            ErrorKind::Unavailable,
            ErrorKind::Auth,
        ];
        kinds.sort_by_key(|k| std::cmp::Reverse(k.severity()));
        assert_eq!(
            kinds,
            [
                ErrorKind::Auth,
                ErrorKind::Unavailable,
                ErrorKind::Data,
                ErrorKind::Temporary
            ]
        );
    }
}
