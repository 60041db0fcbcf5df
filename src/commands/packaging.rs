//! `rmail completions SHELL` and `rmail man`: shell completions and a man page generated
//! from the clap definitions in `cli.rs`, so they can never drift from the real options.
//! Packagers run them at build time (`rmail man > rmail.1`); users can pipe them directly.

use clap_complete::Shell;
use clap_mangen::Man;

use crate::cli;
use crate::commands::manual;
use crate::commands::write_stdout;
use crate::error::{Error, ErrorKind, Result};
use crate::report::Report;

/// Prints the completion script for `shell` on stdout.
pub(crate) fn completions(shell: Shell) -> Result<Report> {
    let mut cmd = cli::command();
    // Generated into memory first: clap_complete panics on a write error, and a closed pipe
    // (`rmail completions bash | head`) must be an error, not a panic.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "rmail", &mut script);
    write_stdout(|out| out.write_all(&script))?;
    Ok(Report::default())
}

/// Prints the man page, `rmail(1)` in roff, on stdout.
pub(crate) fn man() -> Result<Report> {
    let page = man_page()?;
    write_stdout(|out| out.write_all(&page))?;
    Ok(Report::default())
}

/// One page for rmail and every subcommand: the top-level page as clap_mangen renders it,
/// then a section per subcommand (description, synopsis, options, examples as
/// subsections), then CONFIGURATION, ENVIRONMENT, FILES and EXIT STATUS, so `man rmail`
/// documents everything without a page per subcommand.
pub(crate) fn man_page() -> Result<Vec<u8>> {
    // Built: each subcommand has its bin name, so synopses read `rmail send …`.
    let cmd = cli::command();
    let mut page = Vec::new();
    Man::new(cmd.clone())
        .render(&mut page)
        .map_err(render_error)?;
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        // The global options are documented once, at the top; repeating them in every
        // section would bury each command's own options.
        let sub = sub.clone().mut_args(|arg| {
            if arg.is_global_set() || arg.get_id() == "version" {
                arg.hide(true)
            } else {
                arg
            }
        });
        let man = Man::new(sub.clone());
        let heading = format!(".SH \"RMAIL {}\"\n", sub.get_name().to_ascii_uppercase());
        page.extend_from_slice(heading.as_bytes());
        man.render_description_section(&mut page)
            .map_err(render_error)?;
        man.render_synopsis_section(&mut page)
            .map_err(render_error)?;
        if sub.get_arguments().any(|a| !a.is_hide_set()) {
            man.render_options_section(&mut page)
                .map_err(render_error)?;
        }
        if sub.has_subcommands() {
            man.render_subcommands_section(&mut page)
                .map_err(render_error)?;
        }
        if sub.get_after_help().is_some() {
            man.render_extra_section(&mut page).map_err(render_error)?;
        }
    }
    let mut page = tidy(&String::from_utf8_lossy(&page));
    page += &manual::sections();
    Ok(page.into_bytes())
}

/// Turns clap_mangen's separate renders into one page:
/// - inside a subcommand's section, its sections become subsections (`.SH X` → `.SS X`);
/// - references to pages that do not exist (`rmail-send(1)`) become `rmail send`;
/// - the string-definition preamble that each partial render repeats is kept once;
/// - "EXTRA" (clap_mangen's title for `after_help`, in rmail always examples) becomes an
///   unfilled EXAMPLES section, so each example stays on its own line.
fn tidy(roff: &str) -> String {
    let mut out = String::with_capacity(roff.len());
    let mut seen_preamble = false;
    let mut in_subcommand = false;
    let mut in_examples = false;
    for line in roff.lines() {
        if line.starts_with(".ie \\n(.g .ds Aq") || line.starts_with(".el .ds Aq") {
            if !seen_preamble {
                out.push_str(line);
                out.push('\n');
                seen_preamble = line.starts_with(".el");
            }
            continue;
        }
        let is_heading = line.starts_with(".SH ") || line.starts_with(".SS ");
        if is_heading && in_examples {
            out.push_str(".fi\n");
            in_examples = false;
        }
        let line = if line.starts_with(".SH \"RMAIL ") {
            in_subcommand = true;
            line.to_string()
        } else {
            match line.strip_prefix(".SH ") {
                Some(rest) if in_subcommand => format!(".SS {rest}"),
                _ => line.to_string(),
            }
        };
        if line == ".SH EXTRA" || line == ".SS EXTRA" {
            out.push_str(&line.replace("EXTRA", "EXAMPLES"));
            out.push_str("\n.nf\n");
            in_examples = true;
        } else if in_examples && (line == "Examples:" || line == "Example:") {
            // The section title already says it.
        } else if let Some(name) = line
            .strip_suffix("(1)")
            .filter(|name| name.starts_with("rmail\\-"))
        {
            out.push_str(&format!("\\fB{}\\fR\n", name.replace("\\-", " ")));
        } else {
            out.push_str(&line);
            out.push('\n');
        }
    }
    if in_examples {
        out.push_str(".fi\n");
    }
    out
}

fn render_error(e: std::io::Error) -> Error {
    Error::new(
        ErrorKind::Internal,
        format!("cannot render the man page: {e}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn man_page_has_a_section_per_subcommand() {
        let page = String::from_utf8(man_page().unwrap()).unwrap();
        assert!(page.starts_with(".ie") || page.starts_with(".TH"), "{page}");
        for name in [
            "SEND",
            "MERGE",
            "SENDMAIL",
            "QUEUE",
            "PROFILES",
            "CHECK",
            "COMPLETIONS",
            "MAN",
        ] {
            assert!(page.contains(&format!(".SH \"RMAIL {name}\"")), "{name}");
        }
        for name in ["CONFIGURATION", "ENVIRONMENT", "FILES", "\"EXIT STATUS\""] {
            assert_eq!(
                page.matches(&format!("\n.SH {name}\n")).count(),
                1,
                "{name}"
            );
        }
        assert!(!page.contains("EXTRA"), "{page}");
        assert!(
            !page.contains("(1)\n"),
            "links to pages that do not exist: {page}"
        );
        assert_eq!(page.matches(".ds Aq").count(), 2, "{page}");
        // Every .nf is closed.
        assert_eq!(
            page.matches("\n.nf\n").count(),
            page.matches("\n.fi\n").count()
        );
    }
}
