//! The first half of a merge: every selected row rendered and checked, with no connection
//! open. Any bad row stops the merge here with nothing sent.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::delivery::merge::data::{Dataset, Row};
use crate::error::{Error, ErrorKind, Result};
use crate::message::address::Mailbox;
use crate::message::spec::{Envelope, Header, MessageSpec, Part};
use crate::mime::{dkim, render as mime};
use crate::template::confine::Confined;
use crate::template::{self, Rendered, Template};

/// How many rows use each file.
pub(crate) type Uses = HashMap<Confined, usize>;

/// Rows that cannot be sent: one line per problem, and the error the merge exits with.
#[derive(Debug)]
pub(crate) struct Invalid {
    pub(crate) lines: Vec<String>,
    pub(crate) error: Error,
}

impl Plan {
    /// A plan for `data` rendered through `template`.
    pub(crate) fn new(
        template: Template,
        data: Dataset,
        roots: Vec<PathBuf>,
        default_from: Option<Mailbox>,
        redirect: Option<Mailbox>,
        signer: Option<dkim::Signer>,
    ) -> Plan {
        Plan {
            template,
            data,
            roots,
            default_from,
            redirect,
            cache: HashMap::new(),
            signer,
            rendered: Vec::new(),
        }
    }
}

/// What every row is rendered with.
pub(crate) struct Plan {
    pub(crate) template: Template,
    pub(crate) data: Dataset,
    /// Folders attachments may come from: the template's and the data file's.
    roots: Vec<PathBuf>,
    default_from: Option<Mailbox>,
    redirect: Option<Mailbox>,
    /// Files used by more than one row, read and base64-encoded once.
    cache: HashMap<Confined, Part>,
    /// The profile's DKIM key: every message is signed as it is built.
    signer: Option<dkim::Signer>,
    /// Each selected row as validation rendered it (by row index), so that sending does
    /// not render and resolve paths a second time.
    rendered: Vec<Option<Rendered>>,
}

impl Plan {
    /// Renders one row: template, default sender, redirect, checks.
    fn render(&self, row: &Row) -> Result<Rendered> {
        let mut rendered = self
            .template
            .render(&template::context(&row.values), &self.roots)
            .map_err(|e| self.with_fix(e))?;
        let spec = &mut rendered.spec;
        if spec.from.is_none() {
            spec.from = self.default_from.clone();
        }
        if let Some(to) = &self.redirect {
            // A rehearsal: only ADDR gets the message, in the envelope and in To; the
            // original recipients are shown in a header so each message can be checked.
            let original: Vec<String> = spec
                .to
                .iter()
                .chain(&spec.cc)
                .map(|m| m.to_string())
                .collect();
            spec.to = vec![to.clone()];
            spec.cc.clear();
            spec.bcc.clear();
            spec.headers.push(Header {
                name: "X-Rmail-Redirected-From".into(),
                value: original.join(", "),
            });
        }
        spec.validate()?;
        Ok(rendered)
    }

    /// An undefined variable gets the fix: the column the data file lacks.
    fn with_fix(&self, err: Error) -> Error {
        let Some(var) = template::undefined_variable(&err) else {
            return err;
        };
        let data = self.data.path.display();
        let add = if self.data.columns.is_empty() {
            format!("add the key \"{var}\" to each object in {data}")
        } else {
            let has = self.data.columns.join(", ");
            format!("add a column {var} to {data} (it has: {has})")
        };
        Error::data(format!(
            "{}; {add}, or write {{{{ {var} | default(\"\") }}}} in the template",
            err.message()
        ))
    }

    /// The message for one row, as bytes.
    pub(crate) fn build(&self, index: usize) -> Result<(Envelope, Vec<u8>)> {
        let spec = self.spec(index)?;
        let bytes = dkim::maybe_sign(self.signer.as_ref(), mime::render(&spec))?;
        Ok((spec.envelope(), bytes))
    }

    /// The message for one row, with its files read.
    fn spec(&self, index: usize) -> Result<MessageSpec> {
        let rendered = match self.rendered.get(index) {
            Some(Some(rendered)) => rendered.clone(),
            _ => self.render(&self.data.rows[index])?,
        };
        rendered.into_spec(|file| match self.cache.get(file) {
            Some(part) => Ok(part.clone()),
            None => file.read(),
        })
    }

    /// Renders every selected row before anything is sent. Returns how many rows use each
    /// file; on any bad row, fails with every problem (one line each) and nothing sent.
    pub(crate) fn validate(&mut self, selected: &[usize]) -> std::result::Result<Uses, Invalid> {
        let mut uses: Uses = HashMap::new();
        let mut problems: Vec<(String, Vec<usize>)> = Vec::new();
        self.rendered = vec![None; self.data.rows.len()];
        for &i in selected {
            let row = &self.data.rows[i];
            match self.render(row) {
                Ok(rendered) => {
                    let files = rendered
                        .attach
                        .iter()
                        .chain(rendered.inline.iter().map(|(_, p)| p));
                    for path in files {
                        *uses.entry(path.clone()).or_default() += 1;
                    }
                    self.rendered[i] = Some(rendered);
                }
                Err(err) => {
                    let message = err.message().to_string();
                    match problems.iter_mut().find(|(m, _)| *m == message) {
                        Some((_, rows)) => rows.push(row.number),
                        None => problems.push((message, vec![row.number])),
                    }
                }
            }
        }
        if problems.is_empty() {
            return Ok(uses);
        }
        let bad: usize = problems.iter().map(|(_, rows)| rows.len()).sum();
        let lines = problems
            .iter()
            .map(|(message, rows)| {
                let which = match rows.as_slice() {
                    [one] => self.data.rows[one - 1].describe(),
                    many => format!("rows {} ({} rows)", ranges(many), many.len()),
                };
                format!("{which}: {message}")
            })
            .collect();
        Err(Invalid {
            lines,
            error: Error::data(format!(
                "{bad} of {} rows cannot be sent (listed above); nothing was sent. Fix {} or {} \
                 and run the same command again",
                selected.len(),
                self.template.path().display(),
                self.data.path.display()
            )),
        })
    }

    /// Reads and encodes, once, every file more than one row uses.
    pub(crate) fn cache_shared(&mut self, uses: &Uses) -> Result<()> {
        for (file, &count) in uses {
            if count > 1 {
                let mut part = file.read()?;
                mime::pre_encode(&mut part);
                self.cache.insert(file.clone(), part);
            }
        }
        Ok(())
    }

    /// Writes one `.eml` per row, named after the row number, and sends nothing. `each`
    /// sees every message written (row, file name, spec, envelope): the preview page.
    pub(crate) fn dry_run(
        mut self,
        rows: &[usize],
        out_dir: &Path,
        uses: &Uses,
        mut each: impl FnMut(&Row, &str, &MessageSpec, &Envelope) -> Result<()>,
    ) -> Result<()> {
        let cant = |path: &Path, e: std::io::Error| {
            Error::new(
                ErrorKind::CantCreate,
                format!("cannot write {}: {e}", path.display()),
            )
        };
        std::fs::create_dir_all(out_dir).map_err(|e| cant(out_dir, e))?;
        self.cache_shared(uses)?;
        let width = self.data.rows.len().to_string().len().max(4);
        for &i in rows {
            let row = &self.data.rows[i];
            let spec = self.spec(i)?;
            let bytes = dkim::maybe_sign(self.signer.as_ref(), mime::render(&spec))?;
            let name = format!("{:0width$}.eml", row.number);
            let path = out_dir.join(&name);
            std::fs::write(&path, bytes).map_err(|e| cant(&path, e))?;
            each(row, &name, &spec, &spec.envelope())?;
        }
        Ok(())
    }
}

/// `1, 2, 3, 5, 7, 8` → `1-3, 5, 7-8`.
fn ranges(numbers: &[usize]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < numbers.len() {
        let start = numbers[i];
        let mut end = start;
        while i + 1 < numbers.len() && numbers[i + 1] == end + 1 {
            i += 1;
            end = numbers[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_ranges() {
        assert_eq!(ranges(&[1, 2, 3, 5, 7, 8]), "1-3, 5, 7-8");
        assert_eq!(ranges(&[4]), "4");
    }
}
