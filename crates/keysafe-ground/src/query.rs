//! The query pane's engine: a script split into batches at `GO` lines as SSMS and sqlcmd do,
//! each batch run on its own, its result sets read as text and its error kept in SSMS's
//! `Msg N, Level L, State S, Line L` form with the line counted from the top of the script.

use crate::connection::{map_tiberius, SqlConnection};
use crate::error::{ErrorCode, KeysafeError, Result, ServerMessage};
use futures_util::TryStreamExt;
use serde::Serialize;
use tiberius::{ColumnData, QueryItem};

/// One batch of a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub text: String,
    /// 1-based line of the script where the batch starts.
    pub first_line: u32,
    /// `GO 3` runs the batch three times.
    pub repeat: u32,
}

/// Splits a script at lines holding only `GO` (any case, an optional count, an optional
/// `--` comment). A `GO` inside a block comment or a string literal does not split.
pub fn split_batches(script: &str) -> Vec<Batch> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut first_line = 1u32;
    let mut in_comment = 0u32; // block comments nest in T-SQL
    let mut in_string = false;
    for (i, line) in script.split_inclusive('\n').enumerate() {
        let number = i as u32 + 1;
        if in_comment == 0 && !in_string {
            if let Some(repeat) = go_line(line) {
                push(&mut out, &current, first_line, repeat);
                current.clear();
                first_line = number + 1;
                continue;
            }
        }
        scan(line, &mut in_comment, &mut in_string);
        current.push_str(line);
    }
    push(&mut out, &current, first_line, 1);
    out
}

fn push(out: &mut Vec<Batch>, text: &str, first_line: u32, repeat: u32) {
    if text.trim().is_empty() {
        return;
    }
    // Leading blank lines do not count as the batch's first line.
    let skipped = text.lines().take_while(|l| l.trim().is_empty()).count();
    let body: String = text.split_inclusive('\n').skip(skipped).collect();
    let skipped = skipped as u32;
    out.push(Batch {
        text: body.trim_end().to_string(),
        first_line: first_line + skipped,
        repeat,
    });
}

fn go_line(line: &str) -> Option<u32> {
    let t = line.trim();
    let t = match t.find("--") {
        Some(i) => t[..i].trim_end(),
        None => t,
    };
    t.get(..2).filter(|g| g.eq_ignore_ascii_case("go"))?;
    let count = t[2..].trim();
    if count.is_empty() {
        return Some(1);
    }
    count.parse::<u32>().ok().filter(|n| *n > 0)
}

/// Tracks whether a line leaves us inside a block comment or a string literal.
fn scan(line: &str, in_comment: &mut u32, in_string: &mut bool) {
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if *in_string {
            if b[i] == b'\'' {
                if b.get(i + 1) == Some(&b'\'') {
                    i += 1;
                } else {
                    *in_string = false;
                }
            }
        } else if *in_comment > 0 {
            if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                *in_comment -= 1;
                i += 1;
            } else if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                *in_comment += 1;
                i += 1;
            }
        } else if b[i] == b'-' && b.get(i + 1) == Some(&b'-') {
            return;
        } else if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            *in_comment += 1;
            i += 1;
        } else if b[i] == b'\'' {
            *in_string = true;
        }
        i += 1;
    }
}

/// A result set as text: `None` is NULL.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ResultSet {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
}

/// What one run of a batch produced.
#[derive(Debug, Clone, Serialize)]
pub struct BatchOutcome {
    pub first_line: u32,
    pub result_sets: Vec<ResultSet>,
    /// The server's error, its line counted from the top of the script.
    pub error: Option<ServerMessage>,
}

impl BatchOutcome {
    /// The Messages tab's lines for this batch, as SSMS writes them.
    pub fn messages(&self) -> Vec<String> {
        let mut m: Vec<String> = self
            .result_sets
            .iter()
            .map(|r| {
                format!(
                    "({} row{} affected)",
                    r.rows.len(),
                    if r.rows.len() == 1 { "" } else { "s" }
                )
            })
            .collect();
        if let Some(e) = &self.error {
            m.push(format!(
                "Msg {}, Level {}, State {}, Line {}\n{}",
                e.number, e.level, e.state, e.line, e.text
            ));
        }
        m
    }
}

impl SqlConnection {
    /// Runs one batch and reads every result set; a server error ends the batch and is
    /// returned in the outcome, any other failure (a lost connection) is an `Err`.
    pub async fn run_batch(&mut self, batch: &Batch) -> Result<BatchOutcome> {
        let mut out = BatchOutcome {
            first_line: batch.first_line,
            result_sets: vec![],
            error: None,
        };
        let read = async {
            let mut stream = self.client_mut().simple_query(batch.text.as_str()).await?;
            while let Some(item) = stream.try_next().await? {
                match item {
                    QueryItem::Metadata(m) => out.result_sets.push(ResultSet {
                        columns: m.columns().iter().map(|c| c.name().to_string()).collect(),
                        rows: vec![],
                    }),
                    QueryItem::Row(r) => {
                        if let Some(set) = out.result_sets.last_mut() {
                            set.rows
                                .push(r.into_iter().map(|c| cell_text(&c)).collect());
                        }
                    }
                }
            }
            Ok::<(), tiberius::error::Error>(())
        };
        match read.await {
            Ok(()) => Ok(out),
            Err(tiberius::error::Error::Server(t)) => {
                out.error = Some(ServerMessage {
                    number: t.code(),
                    level: t.class(),
                    state: t.state(),
                    // The server counts from the batch's first line, SSMS from the script's.
                    line: t.line().max(1) + batch.first_line - 1,
                    text: t.message().to_string(),
                });
                Ok(out)
            }
            Err(e) => Err(map_tiberius(e)),
        }
    }

    /// The session's current database (`USE` changes it).
    pub async fn current_database(&mut self) -> Result<String> {
        let rows = self.rows("SELECT DB_NAME()").await?;
        rows.first()
            .and_then(|r| r.get::<&str, _>(0).map(str::to_string))
            .ok_or_else(|| KeysafeError::new(ErrorCode::SqlServer, "DB_NAME() returned nothing."))
    }
}

/// A value as SSMS's grid shows it.
pub fn cell_text(c: &ColumnData<'static>) -> Option<String> {
    use tiberius::FromSqlOwned;
    Some(match c {
        ColumnData::U8(v) => v.map(|v| v.to_string())?,
        ColumnData::I16(v) => v.map(|v| v.to_string())?,
        ColumnData::I32(v) => v.map(|v| v.to_string())?,
        ColumnData::I64(v) => v.map(|v| v.to_string())?,
        ColumnData::F32(v) => v.map(|v| v.to_string())?,
        ColumnData::F64(v) => v.map(|v| v.to_string())?,
        ColumnData::Bit(v) => v.map(|v| if v { "1" } else { "0" }.to_string())?,
        ColumnData::String(v) => v.as_deref()?.to_string(),
        ColumnData::Guid(v) => v.map(|v| v.to_string().to_uppercase())?,
        ColumnData::Binary(v) => format!("0x{}", hex::encode_upper(v.as_deref()?)),
        ColumnData::Numeric(v) => v.map(|v| v.to_string())?,
        ColumnData::Xml(v) => v.as_ref()?.to_string(),
        ColumnData::DateTime(_)
        | ColumnData::SmallDateTime(_)
        | ColumnData::DateTime2(_)
        | ColumnData::Date(_)
        | ColumnData::Time(_) => {
            if let Ok(Some(d)) = chrono::NaiveDateTime::from_sql_owned(c.clone()) {
                d.format("%Y-%m-%d %H:%M:%S%.3f").to_string()
            } else if let Ok(Some(d)) = chrono::NaiveDate::from_sql_owned(c.clone()) {
                d.to_string()
            } else if let Ok(Some(t)) = chrono::NaiveTime::from_sql_owned(c.clone()) {
                t.to_string()
            } else {
                return None;
            }
        }
        // Rare in key metadata; tiberius only converts it to chrono for 'static data.
        ColumnData::DateTimeOffset(v) => format!("{:?}", v.as_ref()?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<(String, u32, u32)> {
        split_batches(s)
            .into_iter()
            .map(|b| (b.text, b.first_line, b.repeat))
            .collect()
    }

    #[test]
    fn go_lines_split_batches_and_keep_script_line_numbers() {
        let s = "USE master;\nGO\n\nBACKUP SERVICE MASTER KEY TO FILE = 'x'\n  ENCRYPTION BY PASSWORD = 'p';\ngo 2 -- twice\nSELECT 1";
        assert_eq!(
            texts(s),
            vec![
                ("USE master;".into(), 1, 1),
                (
                    "BACKUP SERVICE MASTER KEY TO FILE = 'x'\n  ENCRYPTION BY PASSWORD = 'p';"
                        .into(),
                    4,
                    2
                ),
                ("SELECT 1".into(), 7, 1),
            ]
        );
    }

    #[test]
    fn go_inside_comments_and_strings_does_not_split() {
        let s = "/* a\nGO\n/* nested */\nGO\n*/ SELECT 'x\nGO\n'\nGO\nSELECT 2 -- GO\n";
        let b = texts(s);
        assert_eq!(b.len(), 2, "{b:?}");
        assert!(b[0].0.ends_with('\''));
        assert_eq!(b[1], ("SELECT 2 -- GO".into(), 9, 1));
    }

    #[test]
    fn words_that_start_with_go_are_not_separators() {
        assert_eq!(texts("GOTO x\nGO\n").len(), 1);
        assert_eq!(texts("SELECT 1\nGO x\n").len(), 1);
        assert_eq!(texts("\n\nGO\n\nGO\n").len(), 0);
    }
}
