//! The audit record of a run: JSON (versioned schema, `docs/report-schema.md`), a
//! self-contained printable HTML page, and CSV. Built from results that hold no secret; the
//! runbook names passwords only as placeholders.

use crate::backup::{KeyRef, KeyResult, Outcome};
use crate::inventory::ServerFacts;
use crate::KeysafeError;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::path::PathBuf;

pub const SCHEMA: &str = "keysafe.report/1";

#[derive(Debug, Clone, Serialize, Default)]
pub struct Custody {
    /// Who takes the medium off-site.
    pub carrier: Option<String>,
    /// Where it is stored.
    pub storage_location: Option<String>,
    pub notes: Option<String>,
    /// The backup password was generated and split among custodians (never a share here).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_split: Option<crate::custody::SplitCustody>,
}

#[derive(Debug, Clone, Serialize)]
pub struct InstanceReport {
    pub server: String,
    pub facts: Option<ServerFacts>,
    pub server_folder: Option<String>,
    /// What was done to protect the server folder, and what was read back.
    pub folder_protection: String,
    /// The protection was applied and what the file system kept is not what was applied: a
    /// failed check, counted in the summary's failures like a failed key.
    #[serde(default)]
    pub folder_protection_failed: bool,
    pub keys: Vec<KeyResult>,
    /// A failure before any key (connection, preflight).
    pub error: Option<KeysafeError>,
    /// `backup changed` found every key backed up and unchanged: nothing to do, and that is
    /// a success.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub up_to_date: bool,
    /// This instance's backup password has a split of its own (one split per instance of a
    /// fleet run); otherwise the run's custody says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_split: Option<crate::custody::SplitCustody>,
    /// What the inventory found at the run, and on a group run key parity's risks for this
    /// member: most severe first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub risks: Vec<crate::inventory::Risk>,
}

impl InstanceReport {
    /// The report of an instance before anything was learned about it.
    pub fn new(server: String) -> Self {
        InstanceReport {
            server,
            facts: None,
            server_folder: None,
            folder_protection: String::new(),
            folder_protection_failed: false,
            keys: vec![],
            error: None,
            up_to_date: false,
            password_split: None,
            risks: vec![],
        }
    }

    /// What stopped the instance, or else the first key's error.
    pub fn first_error(&self) -> Option<&KeysafeError> {
        self.error
            .as_ref()
            .or_else(|| self.keys.iter().find_map(|k| k.error.as_ref()))
    }

    pub fn all_verified(&self) -> bool {
        self.error.is_none()
            && !self.folder_protection_failed
            && (self.up_to_date && self.keys.is_empty()
                || !self.keys.is_empty()
                    && self.keys.iter().all(|k| k.outcome == Outcome::Verified))
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub instances: usize,
    pub keys_requested: usize,
    pub keys_verified: usize,
    pub failures: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema: &'static str,
    pub run_id: uuid::Uuid,
    pub tool_version: &'static str,
    pub operator: String,
    pub workstation: String,
    pub started: DateTime<Utc>,
    pub finished: DateTime<Utc>,
    pub destination: PathBuf,
    /// The medium's volume as seen at the end of the run, and what to worry about.
    pub destination_volume: Option<crate::volumes::Volume>,
    pub destination_warnings: Vec<String>,
    pub custody: Custody,
    pub instances: Vec<InstanceReport>,
    pub summary: Summary,
    pub runbook: Vec<String>,
    /// The history record this run was written as, so a history cut short disagrees with
    /// the reports on its media (`keysafe history --verify --medium`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<crate::history::HistoryLink>,
}

/// A run's result as the Back Up dialog and `keysafe backup` show it: the engine's words.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RunResult {
    pub run_id: String,
    pub succeeded: bool,
    pub keys_requested: u32,
    pub keys_verified: u32,
    /// "7 of 7 keys verified on 1 instance".
    pub headline: String,
    pub keys: Vec<KeyLine>,
    /// Instances where nothing was backed up, and why.
    pub instance_errors: Vec<KeysafeError>,
    pub folder_protection: Vec<FolderLine>,
    pub destination_warnings: Vec<String>,
}

/// One key of a run's result.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct KeyLine {
    pub server: String,
    pub label: String,
    pub outcome: Outcome,
    /// "Verified", "Failed", "Skipped".
    pub outcome_words: String,
    pub files: Vec<FileLine>,
    pub restore_check: Option<crate::backup::RestoreCheck>,
    pub error: Option<KeysafeError>,
}

/// One file of a key: where it is on the server and on the medium, and its proof.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FileLine {
    pub server_path: String,
    pub copy_path: Option<String>,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub bytes: u64,
    /// The server's SHA-256 of the file, which the copy matched.
    pub sha256: String,
    pub verified: bool,
}

/// What was done to an instance's server folder, and whether its read-back failed (a failed
/// check, like a failed key).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FolderLine {
    pub server: String,
    pub text: String,
    pub failed: bool,
}

/// Where a run's reports were written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportFiles {
    pub json: PathBuf,
    pub html: PathBuf,
    pub csv: PathBuf,
}

impl ReportFiles {
    /// HTML (for people) first.
    pub fn all(&self) -> [&PathBuf; 3] {
        [&self.html, &self.json, &self.csv]
    }
}

impl Report {
    pub fn new(
        operator: String,
        started: DateTime<Utc>,
        destination: PathBuf,
        custody: Custody,
        instances: Vec<InstanceReport>,
    ) -> Self {
        let keys_requested = instances.iter().map(|i| i.keys.len()).sum();
        let keys_verified = instances
            .iter()
            .flat_map(|i| &i.keys)
            .filter(|k| k.outcome == Outcome::Verified)
            .count();
        let failures = instances.iter().filter(|i| i.error.is_some()).count()
            + instances
                .iter()
                .filter(|i| i.folder_protection_failed)
                .count()
            + instances
                .iter()
                .flat_map(|i| &i.keys)
                .filter(|k| k.outcome == Outcome::Failed)
                .count();
        let runbook = runbook(&instances);
        let dest = crate::volumes::check_destination(&destination, 0);
        Report {
            destination_volume: dest.volume,
            destination_warnings: dest.warnings,
            schema: SCHEMA,
            run_id: uuid::Uuid::new_v4(),
            tool_version: env!("CARGO_PKG_VERSION"),
            history: None,
            operator,
            workstation: hostname(),
            started,
            finished: Utc::now(),
            destination,
            custody,
            summary: Summary {
                instances: instances.len(),
                keys_requested,
                keys_verified,
                failures,
            },
            instances,
            runbook,
        }
    }

    /// Writes the JSON, HTML and CSV reports into `dir` (never overwriting) and returns
    /// their paths in that order.
    /// Writes the JSON, HTML and CSV reports into `dir`, never over an existing file.
    pub fn write_files(&self, dir: &std::path::Path) -> crate::Result<ReportFiles> {
        crate::private_fs::create_dir_all(dir)?;
        let stem = format!(
            "keysafe-report-{}-{}",
            self.started.format("%Y%m%dT%H%M%SZ"),
            &self.run_id.simple().to_string()[..8]
        );
        let write = |ext: &str, body: String| -> crate::Result<PathBuf> {
            let name = format!("{stem}.{ext}");
            crate::copy::write_new(dir, &name, body.as_bytes())?;
            Ok(dir.join(name))
        };
        Ok(ReportFiles {
            json: write("json", self.to_json())?,
            html: write("html", self.to_html())?,
            csv: write("csv", self.to_csv())?,
        })
    }

    pub fn succeeded(&self) -> bool {
        !self.instances.is_empty() && self.instances.iter().all(InstanceReport::all_verified)
    }

    /// "7 of 7 keys verified on 1 instance": the run in one line.
    pub fn headline(&self) -> String {
        format!(
            "{} of {} verified on {}",
            self.summary.keys_verified,
            count(self.summary.keys_requested as u64, "key"),
            count(self.summary.instances as u64, "instance")
        )
    }

    /// The run as the Back Up dialog's result and the console show it.
    pub fn result(&self) -> RunResult {
        RunResult {
            run_id: self.run_id.to_string(),
            succeeded: self.succeeded(),
            keys_requested: self.summary.keys_requested as u32,
            keys_verified: self.summary.keys_verified as u32,
            headline: self.headline(),
            keys: self
                .instances
                .iter()
                .flat_map(|i| {
                    i.keys.iter().map(move |k| KeyLine {
                        server: i.server.clone(),
                        label: k.key.label(),
                        outcome: k.outcome,
                        outcome_words: k.outcome.words().into(),
                        files: k
                            .files
                            .iter()
                            .map(|f| FileLine {
                                server_path: f.server_path.clone(),
                                copy_path: f.copy.as_ref().map(|c| c.path.display().to_string()),
                                bytes: f.bytes,
                                sha256: f.server_sha256.clone(),
                                verified: f.verified,
                            })
                            .collect(),
                        restore_check: k.restore_check.clone(),
                        error: k.error.clone(),
                    })
                })
                .collect(),
            instance_errors: self
                .instances
                .iter()
                .filter_map(|i| i.error.clone())
                .collect(),
            folder_protection: self
                .instances
                .iter()
                .map(|i| FolderLine {
                    server: i.server.clone(),
                    text: i.folder_protection.clone(),
                    failed: i.folder_protection_failed,
                })
                .collect(),
            destination_warnings: self.destination_warnings.clone(),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report serializes")
    }

    /// One row per file (and one per failure with no file), for a spreadsheet.
    pub fn to_csv(&self) -> String {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(Vec::new());
        let mut row = |cells: [&str; 11]| {
            w.write_record(cells.iter().map(|c| defuse(c).into_owned()))
                .expect("writing CSV to memory");
        };
        row([
            "instance",
            "key",
            "outcome",
            "server_path",
            "bytes",
            "server_sha256",
            "copy_path",
            "copy_sha256",
            "verified",
            "error_code",
            "error",
        ]);
        for i in &self.instances {
            if let Some(e) = &i.error {
                row([
                    &i.server,
                    "",
                    "failed",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "false",
                    &code(e),
                    &one_line(e),
                ]);
            }
            for k in &i.keys {
                let (ec, et) = k
                    .error
                    .as_ref()
                    .map(|e| (code(e), one_line(e)))
                    .unwrap_or_default();
                let label = k.key.label();
                if k.files.is_empty() {
                    row([
                        &i.server,
                        &label,
                        outcome(k.outcome),
                        "",
                        "",
                        "",
                        "",
                        "",
                        "false",
                        &ec,
                        &et,
                    ]);
                }
                for f in &k.files {
                    let (cp, cs) = f
                        .copy
                        .as_ref()
                        .map(|c| (c.path.display().to_string(), c.sha256.clone()))
                        .unwrap_or_default();
                    row([
                        &i.server,
                        &label,
                        outcome(k.outcome),
                        &f.server_path,
                        &f.bytes.to_string(),
                        &f.server_sha256,
                        &cp,
                        &cs,
                        if f.verified { "true" } else { "false" },
                        &ec,
                        &et,
                    ]);
                }
            }
        }
        String::from_utf8(w.into_inner().expect("CSV in memory")).expect("CSV of UTF-8 fields")
    }

    /// A self-contained printable page (templates/report.html; every value escaped).
    pub fn to_html(&self) -> String {
        use minijinja::context;
        let env = template("report.html", include_str!("../templates/report.html"));
        let size = |b: u64| match b {
            0..1024 => format!("{b} bytes"),
            _ => format!(
                "{} ({b} bytes)",
                humansize::format_size(b, humansize::BINARY)
            ),
        };
        let instances: Vec<_> = self
            .instances
            .iter()
            .map(|i| {
                let keys: Vec<_> = i
                    .keys
                    .iter()
                    .map(|k| {
                        let (ok, text) = match (k.outcome, &k.error) {
                            (Outcome::Verified, _) => match &k.restore_check {
                                Some(crate::restore_check::RestoreCheck::Proven { .. }) => {
                                    (true, "verified, restore proven".to_string())
                                }
                                _ => (true, "verified".to_string()),
                            },
                            (_, Some(e)) => (false, e.describe()),
                            (o, None) => (false, outcome(o).to_string()),
                        };
                        let files: Vec<_> = k
                            .files
                            .iter()
                            .map(|f| {
                                context! {
                                    server_path => f.server_path,
                                    copy_path => f.copy.as_ref().map(|c| c.path.display().to_string()).unwrap_or_default(),
                                    size => size(f.bytes),
                                    sha256 => f.server_sha256,
                                }
                            })
                            .collect();
                        context! { label => k.key.label(), ok, outcome => text, files }
                    })
                    .collect();
                context! {
                    server => i.server,
                    facts => i.facts,
                    folder => i.server_folder,
                    folder_protection => i.folder_protection,
                    error => i.error.as_ref().map(KeysafeError::describe),
                    up_to_date => i.up_to_date,
                    split => i.password_split,
                    risks => i.risks.iter().map(|r| context! {
                        severity => r.severity.word(),
                        bad => r.severity == crate::inventory::Severity::Critical,
                        object => r.object,
                        text => r.text,
                    }).collect::<Vec<_>>(),
                    keys,
                }
            })
            .collect();
        let volume = self.destination_volume.as_ref().map(|v| {
            context! {
                mount_point => v.mount_point.display().to_string(),
                label => v.label,
                file_system => v.file_system,
                drive_type => v.drive_type,
                free => humansize::format_size(v.free_bytes, humansize::BINARY),
                total => humansize::format_size(v.total_bytes, humansize::BINARY),
            }
        });
        env.get_template("report.html")
            .and_then(|t| {
                t.render(context! {
                    run_id => self.run_id.to_string(),
                    operator => self.operator,
                    workstation => self.workstation,
                    started => when(self.started),
                    finished => when(self.finished),
                    succeeded => self.succeeded(),
                    summary => self.summary,
                    destination => self.destination.display().to_string(),
                    volume,
                    warnings => self.destination_warnings,
                    instances,
                    custody => self.custody,
                    runbook => self.runbook,
                })
            })
            .expect("the report renders")
    }
}

fn outcome(o: Outcome) -> &'static str {
    match o {
        Outcome::Verified => "verified",
        Outcome::Failed => "failed",
        Outcome::Skipped => "skipped",
    }
}

/// The error on one line, for a CSV cell.
fn one_line(e: &KeysafeError) -> String {
    e.describe().replace("\n  ", " | ")
}

fn code(e: &KeysafeError) -> String {
    serde_json::to_value(e.code)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// A cell a spreadsheet would read as a formula starts with '. OWASP's list (=, +, -, @,
/// tab, carriage return), their full-width forms (＝ ＋ － ＠) which some spreadsheets
/// fold into them, and a line feed.
pub(crate) fn defuse(f: &str) -> std::borrow::Cow<'_, str> {
    if f.starts_with([
        '=', '+', '-', '@', '\t', '\r', '\n', '\u{FF1D}', '\u{FF0B}', '\u{FF0D}', '\u{FF20}',
    ]) {
        format!("'{f}").into()
    } else {
        f.into()
    }
}

/// A moment for the HTML report: shown in this machine's time zone with its offset, UTC on
/// hover (`title`) and machine-readable (`datetime`).
pub(crate) fn when(t: DateTime<Utc>) -> minijinja::Value {
    let local = t.with_timezone(&chrono::Local);
    minijinja::context! {
        iso => t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        utc => t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        local => local.format("%Y-%m-%d %H:%M:%S (UTC%:z)").to_string(),
    }
}

pub use keysafe_ground::host::{current_operator, hostname};

fn runbook(instances: &[InstanceReport]) -> Vec<String> {
    let mut steps = Vec::new();
    for i in instances {
        for k in i.keys.iter().filter(|k| k.outcome == Outcome::Verified) {
            let file = |n: usize| {
                k.files
                    .get(n)
                    .map(|f| f.server_path.replace('\'', "''"))
                    .unwrap_or_default()
            };
            match &k.key {
                KeyRef::ServiceMasterKey => steps.push(format!(
                    "-- {}: only if the service master key is lost (a new server, or a rebuilt one)\nRESTORE SERVICE MASTER KEY FROM FILE = N'{}' DECRYPTION BY PASSWORD = N'<backup password>';",
                    // A comment ends at a line break: the server's name, its word, cannot
                    // carry T-SQL out of it.
                    i.server.replace(|c: char| c.is_control(), " "),
                    file(0)
                )),
                KeyRef::DatabaseMasterKey { database } => steps.push(format!(
                    "USE [{}];\nRESTORE MASTER KEY FROM FILE = N'{}' DECRYPTION BY PASSWORD = N'<backup password>' ENCRYPTION BY PASSWORD = N'<new master key password>';\nALTER MASTER KEY ADD ENCRYPTION BY SERVICE MASTER KEY;",
                    database.replace(']', "]]"),
                    file(0)
                )),
                KeyRef::Certificate { database, name } => {
                    let with = if k.files.len() == 1 {
                        format!("FROM FILE = N'{}' WITH FORMAT = 'PFX', PRIVATE KEY (DECRYPTION BY PASSWORD = N'<backup password>')", file(0))
                    } else {
                        format!("FROM FILE = N'{}' WITH PRIVATE KEY (FILE = N'{}', DECRYPTION BY PASSWORD = N'<backup password>')", file(0), file(1))
                    };
                    steps.push(format!("USE [{}];\nCREATE CERTIFICATE [{}] {with};", database.replace(']', "]]"), name.replace(']', "]]")));
                }
            }
        }
    }
    steps
}

pub use crate::words::count;

/// A page's template, with the filters every page uses (`{{ n|count("key") }}`).
pub(crate) fn template(
    name: &'static str,
    source: &'static str,
) -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    env.add_filter("count", |n: u64, one: String| count(n, &one));
    env.add_template(name, source)
        .unwrap_or_else(|e| panic!("the template {name} parses: {e}"));
    env
}

/// The history record of a finished run: its summary, where its JSON report is, and each
/// key's outcome and file hashes (never a secret: the report holds none).
pub fn run_record(report: &Report, report_json: &std::path::Path) -> serde_json::Value {
    use crate::history::{KeyRecord, RunCounts, RECORD_SCHEMA};
    let s = &report.summary;
    let record = crate::history::RunRecord {
        schema: RECORD_SCHEMA,
        run_id: report.run_id,
        started: report.started,
        finished: report.finished,
        operator: report.operator.clone(),
        succeeded: report.succeeded(),
        summary: RunCounts {
            instances: s.instances,
            keys_requested: s.keys_requested,
            keys_verified: s.keys_verified,
            failures: s.failures,
        },
        report: report_json.to_path_buf(),
        keys: report
            .instances
            .iter()
            .flat_map(|i| {
                i.keys.iter().map(move |k| KeyRecord {
                    server: i.server.clone(),
                    key: k.key.clone(),
                    label: k.key.label(),
                    outcome: k.outcome,
                    sha256: k.files.iter().map(|f| f.server_sha256.clone()).collect(),
                    thumbprint: k.thumbprint.clone(),
                    key_guid: k.key_guid.clone(),
                })
            })
            .collect(),
    };
    serde_json::to_value(record).expect("a run record serializes")
}

/// Records a finished run (see `run_record`).
pub fn record_run(
    path: &std::path::Path,
    report: &Report,
    report_json: &std::path::Path,
) -> crate::Result<crate::history::Entry> {
    crate::history::append(path, run_record(report, report_json))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hostile() -> Report {
        let now = Utc::now();
        let key = crate::backup::KeyResult {
            key: crate::backup::KeyRef::Certificate {
                database: "Sales\",\"x".into(),
                name: "<img src=x onerror=alert(1)>".into(),
            },
            outcome: Outcome::Failed,
            script: String::new(),
            files: vec![],
            started: now,
            finished: now,
            error: Some(KeysafeError::new(
                crate::ErrorCode::SqlServer,
                "=HYPERLINK(\"http://evil\")",
            )),
            restore_check: None,
            thumbprint: None,
            key_guid: None,
            description: Some("<b>subject</b>".into()),
        };
        Report::new(
            "op<b>".into(),
            now,
            PathBuf::from("/media/<keys>"),
            Custody {
                carrier: Some("@SUM(A1)".into()),
                storage_location: None,
                notes: Some("</td><script>x</script>".into()),
                password_split: Some(crate::custody::SplitCustody {
                    split_id: "AB12CD34".into(),
                    threshold: 2,
                    custodians: vec!["<script>c</script>".into(), "Bob".into()],
                }),
            },
            vec![InstanceReport {
                server: "<script>alert('s')</script>".into(),
                facts: None,
                server_folder: Some("C:\\K&eys".into()),
                folder_protection: "line one\nline two".into(),
                folder_protection_failed: false,
                keys: vec![key],
                error: None,
                up_to_date: false,
                password_split: None,
                risks: vec![crate::inventory::Risk {
                    severity: crate::inventory::Severity::Critical,
                    object: "master.<script>o</script>".into(),
                    text: "key parity: <script>r</script>".into(),
                }],
            }],
        )
    }

    #[test]
    fn a_server_name_with_a_line_break_stays_inside_the_runbooks_comment() {
        let mut r = hostile();
        r.instances[0].server = "SQL01\r\nDROP DATABASE Payroll; --".into();
        r.instances[0].keys[0].key = crate::backup::KeyRef::ServiceMasterKey;
        r.instances[0].keys[0].outcome = Outcome::Verified;
        let steps = super::runbook(&r.instances);
        assert_eq!(steps.len(), 1);
        let lines: Vec<&str> = steps[0].lines().collect();
        assert!(lines[0].starts_with("-- SQL01  DROP DATABASE"), "{steps:?}");
        assert!(
            lines.iter().skip(1).all(|l| l.starts_with("RESTORE")),
            "{steps:?}"
        );
    }

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        let csv = hostile().to_csv();
        let mut r = csv::Reader::from_reader(csv.as_bytes());
        let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 1, "{csv}");
        assert_eq!(&rows[0][0], "<script>alert('s')</script>");
        assert!(
            rows[0][1].contains("Sales\",\"x"),
            "quoted, round-trips: {csv}"
        );
        assert!(rows[0][10].starts_with("'="), "a formula is defused: {csv}");
        for hostile in [
            "\t=1+1",
            "\r=1",
            "\u{FF1D}HYPERLINK(\"x\")",
            "\u{FF0B}1",
            "@SUM(1)",
            "-1+1",
        ] {
            assert!(defuse(hostile).starts_with('\''), "{hostile:?}");
        }
        assert_eq!(defuse("Sales"), "Sales");
        assert!(csv.ends_with("\r\n"));
    }

    #[test]
    fn html_escapes_everything_it_prints() {
        let html = hostile().to_html();
        for raw in ["<script>", "<img src=x", "</td><script>", "op<b>", "<keys>"] {
            assert!(!html.contains(raw), "{raw} printed raw");
        }
        assert!(html.contains("&lt;script&gt;alert("));
        assert!(
            html.contains("key parity: &lt;script&gt;r&lt;"),
            "the risk, escaped"
        );
        assert!(html.contains("C:\\K&amp;eys"));
        assert!(
            html.contains("line one\nline two"),
            "line breaks kept for white-space: pre-line"
        );
        assert!(html.contains("(not recorded)"));
        let at = html
            .find("split AB12CD34")
            .expect("the split in the report");
        assert!(
            html[at..].starts_with(
                "split AB12CD34: any 2 of 2 shares rebuild it (custodians: &lt;script&gt;c&lt;"
            ),
            "the split's custodians, escaped: {}",
            &html[at..at + 120]
        );
    }
}
