//! `rmail merge` → [`MergeRequest`]: flags checked, the profile's `concurrency` and
//! `max_per_second` applied, the journal and failed-rows files named.

use std::path::{Path, PathBuf};

use crate::cli::MergeArgs;
use crate::config::profile::Profile;
use crate::error::{Error, Result};
use crate::imap;
use crate::message::address::Mailbox;
use crate::settings::send::default_sender;
use crate::settings::{self, Context};

/// A resolved `rmail merge`.
#[derive(Debug)]
pub(crate) struct MergeRequest {
    /// `None` only for a dry run without any profile configured.
    pub(crate) profile: Option<Profile>,
    pub(crate) template: PathBuf,
    pub(crate) data: PathBuf,
    /// `Some(DIR)`: a dry run writing one `.eml` per row there.
    pub(crate) dry_run_dir: Option<PathBuf>,
    pub(crate) limit: Option<usize>,
    /// (K, N), 1 ≤ K ≤ N: every N-th row from row K.
    pub(crate) shard: Option<(usize, usize)>,
    pub(crate) redirect: Option<Mailbox>,
    /// The sender for rows whose template names none.
    pub(crate) default_from: Option<Mailbox>,
    /// Parallel sessions: `--concurrency`, else the profile's `concurrency`, else 1.
    pub(crate) concurrency: usize,
    /// Messages per second: `--rate`, else the profile's `max_per_second`.
    pub(crate) rate: Option<f64>,
    pub(crate) journal: PathBuf,
    /// `--key COLUMN`: journal rows by this column as well as by content.
    pub(crate) key: Option<String>,
    /// Ask before the first message when stdin is a terminal (no `--yes`).
    pub(crate) confirm: bool,
    /// Where the rows that failed are written (same format as the data).
    pub(crate) failed_rows: PathBuf,
    pub(crate) verbose: bool,
    /// The delivery log: one line per message the server accepted or refused.
    pub(crate) log: crate::settings::LogSettings,
    /// Where a copy of each message goes, with `--save-sent` (and not for a dry run).
    pub(crate) sent_copy: Option<imap::Account>,
    /// Where copies that cannot be saved now are kept (with `sent_copy`).
    pub(crate) outbox_dir: Option<PathBuf>,
}

pub(crate) fn resolve(context: &Context<'_>, args: MergeArgs) -> Result<MergeRequest> {
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
    let profile = if args.dry_run {
        context.profile()?
    } else {
        Some(context.require_profile(", or rehearse with --dry-run --out-dir DIR")?)
    };
    let redirect = args
        .redirect_to
        .as_deref()
        .map(|a| Mailbox::parse(a).map_err(|e| Error::usage(format!("--redirect-to: {e}"))))
        .transpose()?;
    let shard = args.shard.as_deref().map(parse_shard).transpose()?;
    let infix = infix(shard, redirect.is_some());
    let sent_copy = match &profile {
        Some(profile) if !args.dry_run => settings::sent_copy(profile, args.save_sent)?,
        _ => None,
    };
    let outbox_dir = match sent_copy {
        Some(_) => Some(context.outbox_dir()?),
        None => None,
    };
    Ok(MergeRequest {
        sent_copy,
        outbox_dir,
        template: crate::template::find::find(&args.template)?,
        journal: args
            .journal
            .clone()
            .unwrap_or_else(|| default_journal(&args.data, &infix)),
        failed_rows: failed_path(&args.data, &infix),
        rate: match args.rate.as_deref() {
            Some(rate) => Some(parse_rate(rate)?),
            None => profile.as_ref().and_then(|p| p.max_per_second),
        },
        concurrency: args
            .concurrency
            .or(profile.as_ref().map(|p| p.concurrency))
            .unwrap_or(1),
        default_from: default_sender(profile.as_ref()).ok(),
        dry_run_dir: args.out_dir.filter(|_| args.dry_run),
        limit: args.limit,
        key: args.key.filter(|k| !k.trim().is_empty()),
        confirm: !args.yes,
        data: args.data,
        shard,
        redirect,
        verbose: context.global.verbose,
        log: context.log(),
        profile,
    })
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
    // At least one message a day: a slower rate is a typo (and its interval would not fit
    // in a Duration).
    const SLOWEST: f64 = 1.0 / 86_400.0;
    match number.trim().parse::<f64>() {
        Ok(n) if n.is_finite() && per.is_finite() && n / per >= SLOWEST => Ok(n / per),
        _ => Err(Error::usage(format!(
            "--rate '{text}' must be a number of messages per second from one a day up, \
             e.g. 10 or 10/s (or 600/m, 24/h)"
        ))),
    }
}

/// `.shard-1-of-2` / `.redirect` infixes, so that shards and rehearsals each keep their
/// own journal and failed-rows file and never mark real rows as sent.
fn infix(shard: Option<(usize, usize)>, redirect: bool) -> String {
    let mut infix = String::new();
    if let Some((k, n)) = shard {
        infix += &format!(".shard-{k}-of-{n}");
    }
    if redirect {
        infix += ".redirect";
    }
    infix
}

/// `customers.csv.journal` beside the data file (`customers.csv.shard-1-of-2.journal`, …).
fn default_journal(data: &Path, infix: &str) -> PathBuf {
    let mut name = data.file_name().unwrap_or_default().to_os_string();
    name.push(infix);
    name.push(".journal");
    data.with_file_name(name)
}

/// `customers.failed.csv` beside the data file: same format, so it opens in the same tools.
fn failed_path(data: &Path, infix: &str) -> PathBuf {
    let stem = data.file_stem().unwrap_or_default().to_string_lossy();
    let ext = data
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    data.with_file_name(format!("{stem}.failed{infix}{ext}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

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
        let data = Path::new("dir/customers.csv");
        assert_eq!(
            default_journal(data, &infix(None, false)),
            Path::new("dir/customers.csv.journal")
        );
        assert_eq!(
            failed_path(data, &infix(None, false)),
            Path::new("dir/customers.failed.csv")
        );
        let shard = infix(Some((1, 2)), false);
        assert_eq!(
            default_journal(data, &shard),
            Path::new("dir/customers.csv.shard-1-of-2.journal")
        );
        assert_eq!(
            failed_path(data, &shard),
            Path::new("dir/customers.failed.shard-1-of-2.csv")
        );
    }
}
