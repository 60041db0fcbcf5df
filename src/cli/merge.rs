//! `rmail merge`: one message per data row, from a template.

use std::path::PathBuf;

use clap::Args;

/// Arguments of `rmail merge`.
#[derive(Debug, Args, Default)]
pub struct MergeArgs {
    /// Template name (looked up in ./templates and the user's templates folder) or path
    #[arg(value_name = "TEMPLATE")]
    pub template: String,

    /// Data: one message per row (.csv, .tsv, .json array of objects, .jsonl)
    #[arg(long, value_name = "FILE")]
    pub data: PathBuf,

    /// Send nothing; write one .eml per row to --out-dir
    #[arg(long)]
    pub dry_run: bool,

    /// Folder for the .eml files of a dry run
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,

    /// Send at most N rows (of those not yet sent)
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,

    /// Send every message to ADDR instead of its recipients (a rehearsal)
    #[arg(long, value_name = "ADDR")]
    pub redirect_to: Option<String>,

    /// Parallel SMTP sessions [default: the profile's concurrency, else 1]
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,

    /// Sending rate cap, messages per second, e.g. 10 or 10/s [default: the profile's max_per_second]
    #[arg(long, value_name = "N/s")]
    pub rate: Option<String>,

    /// Journal of rows already accepted [default: DATA.journal beside the data file]
    #[arg(long, value_name = "PATH")]
    pub journal: Option<PathBuf>,

    /// Take every N-th row starting at row K (1-based): split one merge across machines
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,

    /// Keep a copy of each message in the IMAP Sent mailbox (profile's [imap]); a merge
    /// keeps none by default
    #[arg(long)]
    pub save_sent: bool,
}
