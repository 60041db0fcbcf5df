//! The rate cap: every session takes the next free time slot, so the whole merge sends at
//! most `max_per_second`.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A global rate cap shared by every session: each send takes the next free time slot.
pub(crate) struct Pace {
    interval: Duration,
    next: Mutex<Instant>,
}

impl Pace {
    pub(crate) fn new(per_second: f64) -> Pace {
        Pace {
            // settings/ bounds the rate; a value that still does not fit means "no wait".
            interval: Duration::try_from_secs_f64(1.0 / per_second).unwrap_or_default(),
            next: Mutex::new(Instant::now()),
        }
    }

    pub(crate) fn wait(&self) {
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
