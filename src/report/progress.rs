//! The merge's progress bar: shown only when stderr is a terminal; lines printed while it
//! runs go above it.

use std::io::IsTerminal;

/// A progress bar, hidden when stderr is not a terminal (cron, a pipe, a log file).
pub(crate) struct Progress {
    bar: indicatif::ProgressBar,
}

impl Progress {
    pub(crate) fn new(len: u64) -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress {
                bar: indicatif::ProgressBar::hidden(),
            };
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
        Progress { bar }
    }

    /// One more row done.
    pub(crate) fn inc(&self) {
        self.bar.inc(1);
    }

    /// A line on stderr, above the bar when there is one.
    pub(crate) fn say(&self, line: String) {
        if self.bar.is_hidden() {
            eprintln!("{line}");
        } else {
            self.bar.println(line);
        }
    }

    pub(crate) fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
