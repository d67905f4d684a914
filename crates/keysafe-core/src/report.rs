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
}

impl InstanceReport {
    pub fn all_verified(&self) -> bool {
        self.error.is_none()
            && !self.folder_protection_failed
            && !self.keys.is_empty()
            && self.keys.iter().all(|k| k.outcome == Outcome::Verified)
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
        std::fs::create_dir_all(dir)?;
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

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report serializes")
    }

    /// One row per file.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("instance,key,outcome,server_path,bytes,server_sha256,copy_path,copy_sha256,verified,error_code,error\r\n");
        for i in &self.instances {
            if let Some(e) = &i.error {
                out.push_str(&csv_row(&[
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
                ]));
            }
            for k in &i.keys {
                let err = k.error.as_ref();
                if k.files.is_empty() {
                    out.push_str(&csv_row(&[
                        &i.server,
                        &k.key.label(),
                        outcome(k.outcome),
                        "",
                        "",
                        "",
                        "",
                        "",
                        "false",
                        &err.map(code).unwrap_or_default(),
                        &err.map(one_line).unwrap_or_default(),
                    ]));
                }
                for f in &k.files {
                    let (cp, cs) = f
                        .copy
                        .as_ref()
                        .map(|c| (c.path.display().to_string(), c.sha256.clone()))
                        .unwrap_or_default();
                    out.push_str(&csv_row(&[
                        &i.server,
                        &k.key.label(),
                        outcome(k.outcome),
                        &f.server_path,
                        &f.bytes.to_string(),
                        &f.server_sha256,
                        &cp,
                        &cs,
                        if f.verified { "true" } else { "false" },
                        &err.map(code).unwrap_or_default(),
                        &err.map(one_line).unwrap_or_default(),
                    ]));
                }
            }
        }
        out
    }

    /// A self-contained printable page.
    pub fn to_html(&self) -> String {
        let mut h = String::new();
        h.push_str("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Keysafe backup report</title><style>");
        h.push_str("body{font:14px/1.4 system-ui,Segoe UI,sans-serif;margin:2em;color:#111}table{border-collapse:collapse;width:100%;margin:1em 0}th,td{border:1px solid #999;padding:4px 6px;text-align:left;vertical-align:top}th{background:#eee}.ok{color:#064}.bad{color:#a00;font-weight:bold}code{font-size:12px;word-break:break-all}@media print{body{margin:0}}");
        h.push_str("</style></head><body>");
        h.push_str(&format!("<h1>Keysafe backup report</h1><p>Run <code>{}</code> by <b>{}</b> on {} from {} to {} (UTC).</p>", self.run_id, esc(&self.operator), esc(&self.workstation), self.started.format("%Y-%m-%d %H:%M:%S"), self.finished.format("%Y-%m-%d %H:%M:%S")));
        let verdict = if self.succeeded() {
            "<p class=ok>Every requested key was backed up, copied and verified.</p>"
        } else {
            "<p class=bad>Not every key was verified: see below.</p>"
        };
        h.push_str(verdict);
        h.push_str(&format!(
            "<p>{} instance(s), {} key(s) requested, {} verified, {} failure(s). Destination: <code>{}</code></p>",
            self.summary.instances,
            self.summary.keys_requested,
            self.summary.keys_verified,
            self.summary.failures,
            esc(&self.destination.display().to_string())
        ));
        if let Some(v) = &self.destination_volume {
            h.push_str(&format!(
                "<p>Medium: {} ({}, {}, {} drive), {} of {} bytes free.</p>",
                esc(&v.mount_point.display().to_string()),
                esc(v.label.as_deref().unwrap_or("no label")),
                esc(&v.file_system),
                esc(&v.drive_type),
                v.free_bytes,
                v.total_bytes
            ));
        }
        for w in &self.destination_warnings {
            h.push_str(&format!("<p class=bad>{}</p>", esc(w)));
        }
        for i in &self.instances {
            h.push_str(&format!("<h2>{}</h2>", esc(&i.server)));
            if let Some(f) = &i.facts {
                h.push_str(&format!(
                    "<p>SQL Server {} ({}) on {}; service account <code>{}</code>; login <code>{}</code>.</p>",
                    esc(&f.product_version),
                    esc(&f.edition),
                    esc(&f.host_platform),
                    esc(f.service_account.as_deref().unwrap_or("unknown")),
                    esc(&f.login)
                ));
            }
            if let Some(d) = &i.server_folder {
                h.push_str(&format!(
                    "<p>Server folder <code>{}</code>: {}</p>",
                    esc(d),
                    esc(&i.folder_protection).replace('\n', "<br>")
                ));
            }
            if let Some(e) = &i.error {
                h.push_str(&format!(
                    "<p class=bad>{}</p>",
                    esc(&e.describe()).replace('\n', "<br>")
                ));
            }
            h.push_str("<table><tr><th>Key</th><th>Outcome</th><th>Files (server → medium)</th><th>SHA-256</th></tr>");
            for k in &i.keys {
                let files: Vec<String> = k
                    .files
                    .iter()
                    .map(|f| {
                        format!(
                            "<code>{}</code> → <code>{}</code> ({} bytes)",
                            esc(&f.server_path),
                            esc(&f
                                .copy
                                .as_ref()
                                .map(|c| c.path.display().to_string())
                                .unwrap_or_default()),
                            f.bytes
                        )
                    })
                    .collect();
                let hashes: Vec<String> = k
                    .files
                    .iter()
                    .map(|f| format!("<code>{}</code>", f.server_sha256))
                    .collect();
                let out = match (k.outcome, &k.error) {
                    (Outcome::Verified, _) => match &k.restore_check {
                        Some(crate::restore_check::RestoreCheck::Proven { .. }) => {
                            "<span class=ok>verified, restore proven</span>".to_string()
                        }
                        Some(crate::restore_check::RestoreCheck::Failed { reason, .. }) => format!(
                            "<span class=bad>verified copy, restore FAILED: {}</span>",
                            esc(reason)
                        ),
                        _ => "<span class=ok>verified</span>".to_string(),
                    },
                    (_, Some(e)) => format!(
                        "<span class=bad>{}</span>",
                        esc(&e.describe()).replace('\n', "<br>")
                    ),
                    (o, None) => outcome(o).to_string(),
                };
                h.push_str(&format!(
                    "<tr><td>{}</td><td>{out}</td><td>{}</td><td>{}</td></tr>",
                    esc(&k.key.label()),
                    files.join("<br>"),
                    hashes.join("<br>")
                ));
            }
            h.push_str("</table>");
        }
        h.push_str("<h2>Custody</h2><table>");
        for (k, v) in [
            ("Carried by", &self.custody.carrier),
            ("Stored at", &self.custody.storage_location),
            ("Notes", &self.custody.notes),
        ] {
            h.push_str(&format!(
                "<tr><th>{k}</th><td>{}</td></tr>",
                esc(v.as_deref().unwrap_or("(not recorded)"))
            ));
        }
        h.push_str("</table><h2>Restore runbook</h2><ol>");
        for step in &self.runbook {
            h.push_str(&format!("<li><code>{}</code></li>", esc(step)));
        }
        h.push_str("</ol><p>Passwords are never written in this report. Each placeholder names the password to fetch from where it is kept.</p></body></html>\n");
        h
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

fn csv_row(fields: &[&str]) -> String {
    let cells: Vec<String> = fields
        .iter()
        .map(|f| {
            // A leading =, +, - or @ would be a formula in a spreadsheet.
            let f = if f.starts_with(['=', '+', '-', '@']) {
                format!("'{f}")
            } else {
                f.to_string()
            };
            if f.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", f.replace('"', "\"\""))
            } else {
                f
            }
        })
        .collect();
    format!("{}\r\n", cells.join(","))
}

pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Who runs Keysafe, for the report: the login name, from the environment or (Unix) the
/// password database when the environment has none (a scheduled task, a WebDriver session).
pub fn current_operator() -> String {
    if let Some(u) = ["USER", "USERNAME", "LOGNAME"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .find(|u| !u.is_empty())
    {
        return u;
    }
    #[cfg(unix)]
    {
        // SAFETY: getpwuid returns a pointer into static storage or null; read at once.
        let name = unsafe {
            let pw = libc::getpwuid(libc::getuid());
            (!pw.is_null() && !(*pw).pw_name.is_null()).then(|| {
                std::ffi::CStr::from_ptr((*pw).pw_name)
                    .to_string_lossy()
                    .into_owned()
            })
        };
        if let Some(n) = name {
            return n;
        }
    }
    "unknown".into()
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .unwrap_or_else(|| "unknown".into())
}

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
                    i.server,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        assert_eq!(
            csv_row(&["a,b", "=1+1", "x\"y"]),
            "\"a,b\",'=1+1,\"x\"\"y\"\r\n"
        );
    }

    #[test]
    fn html_escapes_everything_it_prints() {
        assert_eq!(esc("<script>&'\""), "&lt;script&gt;&amp;&#39;&quot;");
    }
}
