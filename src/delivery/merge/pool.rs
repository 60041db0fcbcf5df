//! The second half of a merge: rows sent over `concurrency` reused SMTP sessions (plain
//! threads; the work is blocking I/O), paced to the rate cap. The pool knows nothing of
//! rows: jobs come from an iterator (the data file's second pass, read on a thread of its
//! own a few jobs ahead of the sessions, so memory stays flat however many rows there are),
//! the caller builds each message, and hears of each outcome as it happens (to journal an
//! accepted row at once, so that a re-run never sends it again).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, mpsc};
use std::time::{Duration, Instant};

use crate::config::profile::Profile;
use crate::config::secret::Secret;
use crate::delivery::log::{Delivery, DeliveryLog, Outcome as Logged};
use crate::delivery::merge::pace::Pace;
use crate::error::{Error, ErrorKind, Result};
use crate::message::spec::Envelope;
use crate::mime::data::MessageData;
use crate::smtp::session::{ConnectOptions, Session};

/// How long a connection may sit unused before the next message gets a new one.
const IDLE_LIMIT: Duration = Duration::from_secs(20);

/// Jobs read ahead of the sessions, per session.
const READ_AHEAD: usize = 8;

/// Builds the message of a job: its envelope and bytes.
pub(crate) type Build<'a, J> = dyn Fn(&J) -> Result<(Envelope, MessageData)> + Sync + 'a;

/// Records that the server accepted a job (with its recipients): the journal. It runs on
/// the session's thread before that session takes another job, so a journal that cannot be
/// written stops the merge before the next row.
pub(crate) type Record<'a, J> = dyn Fn(&J, &str) -> Result<()> + Sync + 'a;

/// What happened to one job, as it happens.
#[derive(Debug)]
pub(crate) enum Event<J> {
    Sent {
        row: J,
        reply: String,
        to: String,
        /// What was accepted, for a copy in Sent.
        envelope: Envelope,
        message: MessageData,
    },
    Failed {
        row: J,
        error: Error,
        to: String,
    },
    /// Accepted by the server, but [`Record`] failed: a re-run would send it again.
    Unrecorded {
        row: J,
        error: Error,
        to: String,
    },
    /// One session could not connect; the others go on.
    SessionLost(Error),
    /// Nothing more can be sent (login refused, server unreachable from every session).
    Fatal(Error),
}

/// The sessions of one merge.
pub(crate) struct Pool<'a, J> {
    pub(crate) profile: &'a Profile,
    pub(crate) secret: Option<&'a Secret>,
    pub(crate) verbose: bool,
    /// One line per message the server accepted or refused (`log_file`).
    pub(crate) log: &'a DeliveryLog,
    pub(crate) pace: Option<Pace>,
    pub(crate) build: &'a Build<'a, J>,
    /// Set (by Ctrl-C) to stop taking rows: messages in flight finish, the rest wait for
    /// the next run.
    pub(crate) interrupted: &'a AtomicBool,
    pub(crate) record: &'a Record<'a, J>,
}

/// What the pool did, for the summary and the exit code (the failures themselves went to
/// the caller as events).
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub(crate) sent: usize,
    pub(crate) failed: usize,
    /// Rows accepted but not journaled (counted in `sent` too; the caller heard of each
    /// as [`Event::Unrecorded`]).
    pub(crate) unrecorded: usize,
    pub(crate) fatal: Option<Error>,
}

/// Jobs between the reading thread and the sessions: bounded, so reading stays a few jobs
/// ahead; closed when the merge stops.
struct Queue<J> {
    state: Mutex<QueueState<J>>,
    changed: Condvar,
    capacity: usize,
}

struct QueueState<J> {
    jobs: VecDeque<J>,
    /// No more jobs will be pushed.
    finished: bool,
    /// The merge stopped: nobody takes jobs any more.
    closed: bool,
}

impl<J> Queue<J> {
    fn new(capacity: usize) -> Queue<J> {
        Queue {
            state: Mutex::new(QueueState {
                jobs: VecDeque::new(),
                finished: false,
                closed: false,
            }),
            changed: Condvar::new(),
            capacity,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState<J>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wait<'g>(
        &self,
        guard: std::sync::MutexGuard<'g, QueueState<J>>,
    ) -> std::sync::MutexGuard<'g, QueueState<J>> {
        self.changed.wait(guard).unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a job, waiting while the queue is full; false once the merge stopped.
    fn push(&self, job: J) -> bool {
        let mut state = self.lock();
        while state.jobs.len() >= self.capacity && !state.closed {
            state = self.wait(state);
        }
        if state.closed {
            return false;
        }
        state.jobs.push_back(job);
        self.changed.notify_all();
        true
    }

    /// Puts back a job that was not attempted, first in line.
    fn push_front(&self, job: J) {
        let mut state = self.lock();
        state.jobs.push_front(job);
        self.changed.notify_all();
    }

    /// The next job, waiting for the reader; `None` when there are no more or the merge
    /// stopped.
    fn pop(&self) -> Option<J> {
        let mut state = self.lock();
        loop {
            if state.closed {
                return None;
            }
            if let Some(job) = state.jobs.pop_front() {
                self.changed.notify_all();
                return Some(job);
            }
            if state.finished {
                return None;
            }
            state = self.wait(state);
        }
    }

    fn finish(&self) {
        self.lock().finished = true;
        self.changed.notify_all();
    }

    fn close(&self) {
        self.lock().closed = true;
        self.changed.notify_all();
    }
}

/// The state the worker threads share.
struct Shared<'p, 'a, J> {
    pool: &'p Pool<'a, J>,
    queue: Queue<J>,
    stop: AtomicBool,
    /// Workers still running: the last one to lose its connection ends the merge.
    alive: AtomicUsize,
}

impl<J: Send> Pool<'_, J> {
    /// Sends every job of `jobs` over `sessions` parallel sessions. `on_event` runs on this
    /// thread for every outcome; an error from it (the journal cannot be written) stops the
    /// merge before the next row and is reported as fatal, and so does an error from `jobs`
    /// (the data file cannot be read).
    pub(crate) fn send_all(
        &self,
        jobs: impl Iterator<Item = Result<J>> + Send,
        sessions: usize,
        mut on_event: impl FnMut(&Event<J>) -> Result<()>,
    ) -> Outcome {
        let shared = Shared {
            pool: self,
            queue: Queue::new(READ_AHEAD * sessions),
            stop: AtomicBool::new(false),
            alive: AtomicUsize::new(sessions),
        };
        let mut outcome = Outcome::default();
        std::thread::scope(|scope| {
            let (tx, rx) = mpsc::channel();
            for _ in 0..sessions {
                let tx = tx.clone();
                let shared = &shared;
                scope.spawn(move || shared.worker(tx));
            }
            let reader_tx = tx;
            let shared = &shared;
            scope.spawn(move || {
                for job in jobs {
                    match job {
                        Ok(job) => {
                            if !shared.queue.push(job) {
                                break;
                            }
                        }
                        Err(error) => {
                            shared.halt();
                            let _ = reader_tx.send(Event::Fatal(error));
                            break;
                        }
                    }
                }
                shared.queue.finish();
            });
            for event in rx {
                if let Err(err) = on_event(&event) {
                    shared.halt();
                    outcome.fatal.get_or_insert(err);
                }
                match event {
                    Event::Sent { .. } => outcome.sent += 1,
                    Event::Failed { .. } => outcome.failed += 1,
                    Event::Unrecorded { error, .. } => {
                        outcome.sent += 1;
                        outcome.unrecorded += 1;
                        outcome.fatal.get_or_insert(error);
                    }
                    Event::Fatal(error) => {
                        outcome.fatal.get_or_insert(error);
                    }
                    Event::SessionLost(_) => {}
                }
            }
        });
        outcome
    }
}

impl<J> Shared<'_, '_, J> {
    /// Stops the merge: no session takes another job, the reader stops reading.
    fn halt(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.queue.close();
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst) || self.pool.interrupted.load(Ordering::SeqCst)
    }

    fn next_row(&self) -> Option<J> {
        if self.stopped() {
            return None;
        }
        self.queue.pop()
    }

    /// One SMTP session: takes rows off the queue until it is empty, reconnecting when the
    /// connection breaks.
    fn worker(&self, tx: mpsc::Sender<Event<J>>) {
        let mut session: Option<Session> = None;
        let mut last_used = Instant::now();
        while let Some(row) = self.next_row() {
            let (envelope, bytes) = match (self.pool.build)(&row) {
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
            if let Some(pace) = &self.pool.pace {
                pace.wait();
            }
            if self.stopped() {
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
                            self.halt();
                            let _ = tx.send(Event::Fatal(error));
                        } else {
                            let _ = tx.send(Event::SessionLost(error));
                        }
                        return;
                    }
                },
            };
            last_used = Instant::now();
            let sent = current.send_data(&envelope, &bytes);
            let (logged, detail) = match &sent {
                Ok(reply) => (Logged::Sent, reply.as_str()),
                Err(error) => (Logged::Failed, error.reply().unwrap_or(error.message())),
            };
            self.pool.log.record(&Delivery::of(
                &self.pool.profile.name,
                &envelope,
                bytes.len() as usize,
                logged,
                detail,
            ));
            match sent {
                Ok(reply) => {
                    session = Some(current);
                    match (self.pool.record)(&row, &to) {
                        Ok(()) => {
                            let _ = tx.send(Event::Sent {
                                row,
                                reply,
                                to,
                                envelope,
                                message: bytes,
                            });
                        }
                        Err(error) => {
                            self.halt();
                            let _ = tx.send(Event::Unrecorded { row, error, to });
                        }
                    }
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
                        self.halt();
                    }
                    let _ = tx.send(Event::Failed { row, error, to });
                }
            }
        }
        if self.alive.fetch_sub(1, Ordering::SeqCst) == 1 {
            // The last session: whatever the reader still has cannot be sent now.
            self.queue.close();
        }
        if let Some(session) = session {
            session.quit();
        }
    }

    /// Puts a row back at the front of the queue (it was not attempted).
    fn requeue(&self, row: J) {
        self.queue.push_front(row);
    }

    fn open(&self) -> Result<Session> {
        let options = ConnectOptions {
            verbose: self.pool.verbose,
            ..ConnectOptions::default()
        };
        // A long merge outlives an access token: an OAuth profile asks the token source
        // before each new session (free while the token is valid, a refresh when not).
        let fresh = match self.pool.profile.oauth() {
            Some(_) => self.pool.profile.secret()?,
            None => None,
        };
        let secret = fresh.as_ref().or(self.pool.secret);
        Session::open(self.pool.profile, secret, options)
    }
}
