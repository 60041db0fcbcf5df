//! rmail: send email from the command line.
//!
//! The pipeline, one module a step:
//! CLI args + config (`cli`, `config`) → `profile` → message spec (`message`, `compose`) →
//! MIME bytes (`mime`) → SMTP (`transport`, `deliver`) → what the user sees (`report`).

pub mod check;
pub mod cli;
pub mod compose;
pub mod config;
pub mod data;
pub mod deliver;
pub mod dkim;
pub mod error;
pub mod html_text;
pub mod journal;
pub mod merge;
pub mod message;
pub mod mime;
pub mod outbox;
pub mod packaging;
pub mod profile;
pub mod provider;
pub mod queue;
pub mod report;
pub mod sendmail;
pub mod template;
pub mod transport;

use std::io::Read;

pub use error::{Error, ErrorKind, Result};

use cli::{Cli, Command, GlobalArgs, QueueCommand, SendArgs, SendmailArgs};
use config::LoadedConfig;
use mime::MessageData;

/// Runs one command line to completion.
pub fn run(cli: Cli) -> Result<()> {
    let config = match cli.command {
        // Generated from the clap definitions alone: a broken config must not stop them.
        Command::Completions { .. } | Command::Man => LoadedConfig::default(),
        _ => config::load(cli.global.config.as_deref())?,
    };
    for warning in &config.warnings {
        eprintln!("rmail: {warning}");
    }
    match cli.command {
        Command::Send(args) => send(&cli.global, &config, &args),
        Command::Merge(args) => merge::run(&cli.global, &config, &args),
        Command::Sendmail(args) => sendmail(&cli.global, &config, &args),
        Command::Queue(command) => queue(&cli.global, &config, command),
        Command::Profiles => {
            let profiles = profile::all(&config)?;
            if profiles.is_empty() {
                println!(
                    "no profiles in {}; see config.example.toml",
                    config.describe_path()
                );
            }
            let default = config
                .config
                .default_profile
                .as_ref()
                .map(|d| d.get_ref().as_str());
            print!("{}", report::profiles(&profiles, default));
            Ok(())
        }
        Command::Check => {
            let profile = require_profile(&config, cli.global.profile.as_deref())?;
            check::run(&profile, cli.global.verbose)
        }
        Command::Completions { shell } => packaging::completions(shell),
        Command::Man => packaging::man(),
    }
}

/// `rmail send`: compose, then print (dry run) or deliver.
fn send(global: &GlobalArgs, config: &LoadedConfig, args: &SendArgs) -> Result<()> {
    let profile = if args.dry_run {
        profile::select(config, global.profile.as_deref())?
    } else {
        Some(require_profile(config, global.profile.as_deref())?)
    };
    // The key is loaded before anything is read or sent, so a bad key fails fast.
    let signer = match &profile {
        Some(profile) => dkim::Signer::from_profile(profile)?,
        None => None,
    };
    let mut spec = compose::from_args(args, profile.as_ref(), std::io::stdin())?;
    mime::pin_identity(&mut spec);
    // Signed last: --eml, the dry run and the server all see exactly these bytes. DKIM needs
    // the whole message in memory; without it large attachments are encoded as they are sent.
    let message = match &signer {
        Some(signer) => MessageData::from(signer.sign(&mime::render(&spec))?),
        None => MessageData::render(&spec),
    };
    let envelope = spec.envelope();
    drop(spec);
    if let Some(path) = &args.eml {
        std::fs::File::create(path)
            .and_then(|file| message.write_to(std::io::BufWriter::new(file)))
            .map_err(|e| {
                Error::new(
                    ErrorKind::CantCreate,
                    format!("cannot write {}: {e}", path.display()),
                )
            })?;
    }
    match profile {
        Some(profile) if !args.dry_run => {
            let outbox = outbox::Outbox::default_location()?;
            let log = delivery_log(global, config);
            deliver::deliver_or_keep(&profile, &envelope, &message, &log, &outbox)?;
            Ok(())
        }
        profile => {
            message.write_to(std::io::stdout().lock()).map_err(|e| {
                Error::new(
                    ErrorKind::CantCreate,
                    format!("cannot write to stdout: {e}"),
                )
            })?;
            let via = profile
                .map(|p| format!("profile '{}' ({}:{})", p.name, p.host, p.port))
                .unwrap_or_else(|| "no profile".to_string());
            eprintln!(
                "rmail: dry run, nothing sent; envelope from {} to {} via {via}",
                envelope.from,
                envelope.recipients.join(", ")
            );
            Ok(())
        }
    }
}

/// The selected profile, or an error that explains how to create one.
fn require_profile(config: &LoadedConfig, requested: Option<&str>) -> Result<profile::Profile> {
    profile::select(config, requested)?.ok_or_else(|| {
        Error::config(format!(
            "no SMTP profile configured ({}); copy config.example.toml there and edit it, \
             or try --dry-run",
            config.describe_path()
        ))
    })
}

/// `rmail sendmail`: the message on stdin, sent as it is (headers completed).
fn sendmail(global: &GlobalArgs, config: &LoadedConfig, args: &SendmailArgs) -> Result<()> {
    let profile = require_profile(config, global.profile.as_deref())?;
    let signer = dkim::Signer::from_profile(&profile)?;
    let mut input = Vec::new();
    std::io::stdin().read_to_end(&mut input).map_err(|e| {
        Error::new(
            ErrorKind::NoInput,
            format!("cannot read the message from stdin: {e}"),
        )
    })?;
    let prepared = sendmail::prepare(args, &input, Some(&profile), &config.config.aliases)?;
    // Signed before the outbox stores it, so a queued message is flushed as signed.
    let message = MessageData::from(dkim::maybe_sign(signer.as_ref(), prepared.message)?);
    let outbox = outbox::Outbox::default_location()?;
    deliver::deliver_or_keep(
        &profile,
        &prepared.envelope,
        &message,
        &delivery_log(global, config),
        &outbox,
    )?;
    Ok(())
}

fn queue(global: &GlobalArgs, config: &LoadedConfig, command: QueueCommand) -> Result<()> {
    let outbox = outbox::Outbox::default_location()?;
    match command {
        QueueCommand::List => queue::list(&outbox),
        QueueCommand::Flush => queue::flush(config, &outbox, &delivery_log(global, config)),
        QueueCommand::Drop { id } => queue::drop(&outbox, &id),
    }
}

fn delivery_log(global: &GlobalArgs, config: &LoadedConfig) -> report::DeliveryLog {
    report::DeliveryLog {
        file: config.config.log_file.clone(),
        verbose: global.verbose,
    }
}
