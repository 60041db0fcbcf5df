//! Parse, run, print the report or the error once, exit with its sysexits code.

use std::process::ExitCode;

use clap::Parser;
use rmail::cli::{Cli, Command, MailqCli, QueueCommand, SendmailCli};

fn main() -> ExitCode {
    let cli = match invoked_as().as_deref() {
        Some("sendmail") => SendmailCli::try_parse().map(|s| Cli {
            global: s.global,
            command: Command::Sendmail(s.args),
        }),
        Some("mailq") => MailqCli::try_parse().map(|m| Cli {
            global: m.global,
            command: Command::Queue(QueueCommand::List),
        }),
        _ => rmail::cli::parse(),
    };
    let cli = match cli {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            // clap exits 2 on usage errors; sysexits says 64. Help and --version are not errors.
            return ExitCode::from(if err.use_stderr() { 64 } else { 0 });
        }
    };
    match rmail::run(cli) {
        Ok(report) => {
            for line in report.notes() {
                eprintln!("{line}");
            }
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("rmail: {err}");
            ExitCode::from(err.kind().exit_code())
        }
    }
}

/// Linked as /usr/sbin/sendmail (or called `sendmail` any other way), rmail speaks
/// sendmail's command line, so cron's MAILTO and scripts work unchanged; linked as `mailq`
/// it lists its queue. The file name of argv\[0\] when it is one of those.
fn invoked_as() -> Option<String> {
    let argv0 = std::env::args_os().next()?;
    let name = std::path::Path::new(&argv0).file_name()?.to_str()?;
    matches!(name, "sendmail" | "mailq").then(|| name.to_string())
}
