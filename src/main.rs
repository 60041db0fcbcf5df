//! Parse, run, print the report or the error once, exit with its sysexits code.

use std::process::ExitCode;

use clap::Parser;
use rmail::cli::{Cli, Command, SendmailCli};

fn main() -> ExitCode {
    let cli = if invoked_as_sendmail() {
        SendmailCli::try_parse().map(|s| Cli {
            global: s.global,
            command: Command::Sendmail(s.args),
        })
    } else {
        rmail::cli::parse()
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
/// sendmail's command line, so cron's MAILTO and scripts work unchanged.
fn invoked_as_sendmail() -> bool {
    std::env::args_os()
        .next()
        .as_deref()
        .map(std::path::Path::new)
        .and_then(|p| p.file_name())
        .is_some_and(|name| name == "sendmail")
}
