//! What the user sees: listings, the merge's progress bar and summary, and the [`Report`]
//! each command returns — the lines `main` prints once, when the command is done.

pub(crate) mod listing;
pub(crate) mod preview;
pub(crate) mod progress;

/// What a command has to say when it succeeded: summary lines for stderr (the command's
/// real output, a message or a listing, has already gone to stdout).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    notes: Vec<String>,
}

impl Report {
    /// A report of one line.
    pub(crate) fn note(line: impl Into<String>) -> Report {
        Report {
            notes: vec![line.into()],
        }
    }

    /// Adds a line.
    pub(crate) fn push(&mut self, line: impl Into<String>) {
        self.notes.push(line.into());
    }

    /// The lines to print on stderr, in order.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }
}
