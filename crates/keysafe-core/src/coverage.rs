//! Coverage: can every backup this instance keeps be restored, and where are the keys for it?
//!
//! Every backup set in msdb's history within the retention the user sets, with the
//! certificate it needs: its backup encryption certificate (`encryptor_thumbprint`), and for
//! a TDE database the certificate that protected its encryption key when the backup was
//! taken. That is the database's current certificate when it has not changed since the
//! backup (`set_date`); otherwise the backup file says it itself (RESTORE FILELISTONLY's
//! TDEThumbprint, or the thumbprint in SQL Server's 33111 when the certificate is no longer
//! here). Each certificate is then present on the server or not, and has a verified Keysafe
//! copy in the history or not. A certificate retained backups need that is gone from the
//! server and has no copy is the loudest line: those backups cannot be restored anywhere.

use crate::connection::SqlConnection;
use crate::error::{ErrorCode, KeysafeError, Result};
use crate::history::RunRecord;
use crate::report::count;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;

/// Why a backup needs a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum NeedKind {
    /// BACKUP ... WITH ENCRYPTION (SERVER CERTIFICATE = ...).
    BackupEncryption,
    /// Transparent Data Encryption of the database.
    Tde,
}

/// What a retained backup needs, and how Keysafe knows.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Need {
    pub kind: NeedKind,
    pub thumbprint: String,
    /// "msdb", "the database's certificate, unchanged since the backup", "the backup file".
    pub source: String,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RetainedBackup {
    pub database: String,
    /// D (full), I (differential), L (log).
    pub kind: String,
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub finished: NaiveDateTime,
    pub device: String,
    /// Which backup set in the media file (BACKUP appends; msdb's backupset.position).
    pub position: Option<i32>,
    pub needs: Vec<Need>,
    /// Why what it needs could not be read (the file is gone, no permission), if so.
    pub unknown: Option<String>,
}

impl RetainedBackup {
    /// What kind of backup it is, in words: full, differential or log.
    pub fn kind_words(&self) -> &'static str {
        match self.kind.as_str() {
            "D" => "full",
            "I" => "differential",
            "L" => "log",
            _ => "other",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Not on the server and no verified copy: the backups that need it cannot be restored.
    Lost,
    /// On the server only: lose the server and these backups are lost with it.
    ServerOnly,
    /// Not on the server, but a verified Keysafe copy exists (restore it before it is needed).
    CopyOnly,
    /// On the server and a verified Keysafe copy exists.
    Covered,
}

/// How loud a verdict is: every front end colours and orders by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Tone {
    Bad,
    Warn,
    Ok,
}

impl Verdict {
    /// The words for this verdict, the same in the terminal, the app, CSV and HTML.
    pub fn title(self) -> &'static str {
        match self {
            Verdict::Lost => "LOST: not on the server, no copy",
            Verdict::ServerOnly => "AT RISK: only on the server",
            Verdict::CopyOnly => "COPY ONLY: not on the server",
            Verdict::Covered => "Covered",
        }
    }

    pub fn tone(self) -> Tone {
        match self {
            Verdict::Lost => Tone::Bad,
            Verdict::ServerOnly | Verdict::CopyOnly => Tone::Warn,
            Verdict::Covered => Tone::Ok,
        }
    }
}

/// The answer to "can every kept backup be restored?" in one sentence, worst first.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Summary {
    pub tone: Tone,
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CertificateCoverage {
    pub thumbprint: String,
    /// Its name in master, or (gone) the name a Keysafe copy recorded.
    pub name: Option<String>,
    pub on_server: bool,
    /// The newest verified Keysafe copy: when and the report that lists it.
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub keysafe_copy: Option<DateTime<Utc>>,
    pub copy_report: Option<String>,
    /// How many retained backups need it, and the oldest of them.
    pub backups: usize,
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub oldest_backup: Option<NaiveDateTime>,
    pub verdict: Verdict,
    /// `verdict.title()`, for front ends that cannot call it.
    pub verdict_title: String,
    pub tone: Tone,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Coverage {
    pub server: String,
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub generated: DateTime<Utc>,
    pub retention_days: u32,
    pub backups: Vec<RetainedBackup>,
    /// Worst first.
    pub certificates: Vec<CertificateCoverage>,
    pub summary: Summary,
}

impl Coverage {
    /// Every retained backup's keys are on the server and in a verified copy.
    pub fn all_covered(&self) -> bool {
        self.certificates
            .iter()
            .all(|c| c.verdict == Verdict::Covered)
            && self.backups.iter().all(|b| b.unknown.is_none())
    }
}

fn hex_col(r: &tiberius::Row, i: usize) -> Option<String> {
    r.try_get::<&[u8], _>(i)
        .ok()
        .flatten()
        .filter(|b| !b.is_empty())
        .map(hex::encode_upper)
}

/// The thumbprint SQL Server names in 33111 ("... with thumbprint '0x...'").
fn thumbprint_in_33111(e: &KeysafeError) -> Option<String> {
    let text = &e.server.as_ref().filter(|s| s.number == 33111)?.text;
    let at = text.find("0x")? + 2;
    let hex: String = text[at..]
        .chars()
        .take_while(|c| c.is_ascii_hexdigit())
        .collect();
    (!hex.is_empty()).then(|| hex.to_uppercase())
}

/// Reads the instance's retained backups and what they need, and judges every certificate
/// against the server and Keysafe's history (`runs`, for this server as `server` names it).
/// What coverage reads, checked before it reads anything: a certificate this login cannot see
/// would otherwise be judged lost, and an encrypted backup it cannot read, unknown.
async fn permissions_for_coverage(c: &mut SqlConnection) -> Result<()> {
    let rows = c
        .rows(
            "SELECT HAS_PERMS_BY_NAME(N'msdb.dbo.backupset', 'OBJECT', 'SELECT'), HAS_PERMS_BY_NAME(N'msdb.dbo.backupmediafamily', 'OBJECT', 'SELECT'),
       HAS_PERMS_BY_NAME(NULL, NULL, 'VIEW SERVER STATE'), HAS_PERMS_BY_NAME(NULL, NULL, 'CREATE ANY DATABASE'),
       HAS_PERMS_BY_NAME(N'master', 'DATABASE', 'VIEW DEFINITION'), SUSER_SNAME()",
        )
        .await?;
    let Some(r) = rows.first() else {
        return Ok(());
    };
    let login = r.get::<&str, _>(5).unwrap_or("the login");
    let user = crate::tsql::ident(login).unwrap_or_else(|_| "[login]".into());
    let checks = [
        (0, "SELECT on msdb.dbo.backupset", "reads the backup history", format!("USE msdb; GRANT SELECT ON OBJECT::dbo.backupset TO <{login}'s user in msdb>;")),
        (1, "SELECT on msdb.dbo.backupmediafamily", "reads where each backup is", format!("USE msdb; GRANT SELECT ON OBJECT::dbo.backupmediafamily TO <{login}'s user in msdb>;")),
        (2, "VIEW SERVER STATE", "reads sys.dm_database_encryption_keys", format!("GRANT VIEW SERVER STATE TO {user};")),
        (3, "CREATE ANY DATABASE", "reads backup files (RESTORE FILELISTONLY)", format!("GRANT CREATE ANY DATABASE TO {user};")),
        (4, "VIEW DEFINITION in master", "sees master's certificates (one it cannot see would be judged lost)", format!("USE master; GRANT VIEW DEFINITION TO <{login}'s user in master>; (or GRANT VIEW ANY DEFINITION TO {user};)")),
    ];
    // 0 is a refusal; NULL (a name the server does not know) is left to the statement itself.
    let missing: Vec<_> = checks
        .iter()
        .filter(|(i, ..)| r.get::<i32, _>(*i) == Some(0))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(KeysafeError::new(
        ErrorCode::PermissionDenied,
        format!(
            "Coverage needs {} for {login}: {}. Nothing was read.",
            missing.iter().map(|m| m.1).collect::<Vec<_>>().join(", "),
            missing
                .iter()
                .map(|m| format!("{} ({})", m.1, m.2))
                .collect::<Vec<_>>()
                .join("; ")
        ),
    )
    .next(
        missing
            .iter()
            .map(|m| m.3.as_str())
            .collect::<Vec<_>>()
            .join(" "),
    ))
}

/// One row of msdb's history, its dates in UTC.
struct HistoryRow {
    database: String,
    kind: String,
    /// None when the server did not record its time zone.
    start_utc: Option<NaiveDateTime>,
    finished: NaiveDateTime,
    encryptor: Option<String>,
    device: String,
    position: Option<i32>,
}

/// backupset.time_zone: the server's offset from UTC when the backup was taken, in
/// 15-minute steps; None when unknown (127) or out of range.
pub(crate) fn time_zone_quarters(r: &tiberius::Row, i: usize) -> Option<i32> {
    r.try_get::<i16, _>(i)
        .ok()
        .flatten()
        .map(i32::from)
        .or_else(|| r.try_get::<i32, _>(i).ok().flatten())
        .filter(|q| *q != 127 && q.abs() <= 14 * 4)
}

/// A backupset date (the server's local time) in UTC, by its time_zone; as is when unknown.
pub(crate) fn backupset_utc(local: NaiveDateTime, quarters: Option<i32>) -> NaiveDateTime {
    match quarters {
        Some(q) => local - chrono::Duration::minutes(q as i64 * 15),
        None => local,
    }
}

/// The source of a need `spanning_log_needs` inferred.
pub const EARLIER_LOG: &str =
    "log written before the database's certificate changed (an earlier backup of the span needed it)";

/// A log backup holds the log written since the database's previous log backup (or, with
/// none kept, since the backups before it): when its TDE certificate changed in that time,
/// the log written before the change is still encrypted by the old one, and restoring the
/// log backup needs both (Msg 33111 for either missing; Microsoft's KB4534430). SQL Server's
/// metadata names one certificate per backup, so the older ones are inferred from the
/// backups before it: each TDE certificate another backup of the span needed is needed too.
/// `backups` are in finish order.
fn spanning_log_needs(backups: &mut [RetainedBackup]) {
    let tde = |b: &RetainedBackup| -> Vec<String> {
        b.needs
            .iter()
            .filter(|n| n.kind == NeedKind::Tde)
            .map(|n| n.thumbprint.clone())
            .collect()
    };
    // What each backup's own metadata says, before anything is inferred: a log backup's
    // span ends at the previous one, whose inferred needs are not this one's.
    let own: Vec<Vec<String>> = backups.iter().map(tde).collect();
    for i in 0..backups.len() {
        if backups[i].kind != "L" {
            continue;
        }
        let db = backups[i].database.clone();
        let earlier: Vec<usize> = (0..i)
            .filter(|&j| backups[j].database.eq_ignore_ascii_case(&db))
            .collect();
        // Back to the previous log backup, which ends where this one's log begins.
        let from = earlier
            .iter()
            .rev()
            .find(|&&j| backups[j].kind == "L")
            .copied();
        let span: Vec<usize> = earlier
            .into_iter()
            .filter(|&j| from.is_none_or(|f| j >= f))
            .collect();
        let mine = &own[i];
        if mine.is_empty() {
            continue;
        }
        let mut older: Vec<String> = Vec::new();
        for j in span {
            for t in own[j].iter().cloned() {
                if !mine.contains(&t) && !older.contains(&t) {
                    older.push(t);
                }
            }
        }
        for t in older {
            backups[i].needs.push(Need {
                kind: NeedKind::Tde,
                thumbprint: t,
                source: EARLIER_LOG.into(),
            });
        }
    }
}

/// The backup history one msdb keeps (the instance's, or a contained availability group's
/// `<group>_msdb`) for the last `retention_days`.
fn history_sql(msdb: &str, retention_days: u32) -> String {
    format!(
        "SELECT bs.database_name, bs.type, bs.backup_start_date, bs.backup_finish_date, bs.encryptor_thumbprint, mf.physical_device_name, bs.time_zone, bs.position
  FROM {msdb}.dbo.backupset AS bs INNER JOIN {msdb}.dbo.backupmediafamily AS mf ON mf.media_set_id = bs.media_set_id
  WHERE bs.backup_finish_date >= DATEADD(day, -{retention_days}, GETDATE())
  ORDER BY bs.backup_finish_date"
    )
}

/// The contained availability groups (SQL Server 2022) whose primary replica this instance
/// is: each has its own msdb, where backups taken in the group's environment are recorded,
/// and its own master, where TDE also finds certificates. Only where the local replica is the
/// primary: a secondary's copies of them may not be readable (and the primary's say the
/// same). None before 2022 (the column does not exist there), and none for a login that may
/// not see the groups or the replica states (VIEW ANY DEFINITION, VIEW SERVER STATE).
pub async fn contained_groups(c: &mut SqlConnection) -> Vec<String> {
    c.rows("SELECT ag.name FROM sys.availability_groups AS ag INNER JOIN sys.dm_hadr_availability_replica_states AS rs ON rs.group_id = ag.group_id WHERE ag.is_contained = 1 AND rs.is_local = 1 AND rs.role_desc = N'PRIMARY'")
        .await
        .map(|rows| {
            rows.iter()
                .filter_map(|r| r.get::<&str, _>(0).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Every msdb that records this instance's backups, quoted for a three-part name: `msdb`,
/// and each contained availability group's own (`contained_groups`).
pub async fn msdbs(c: &mut SqlConnection) -> Result<Vec<String>> {
    let mut out = vec!["msdb".to_string()];
    for g in contained_groups(c).await {
        out.push(crate::tsql::ident(&format!("{g}_msdb"))?);
    }
    Ok(out)
}

pub async fn coverage(
    c: &mut SqlConnection,
    retention_days: u32,
    runs: &[RunRecord],
) -> Result<Coverage> {
    permissions_for_coverage(c).await?;
    let sets = c
        .batch(&format!(
            "SELECT CAST(@@SERVERNAME AS nvarchar(128));
{};
SELECT name, thumbprint FROM master.sys.certificates;
SELECT DB_NAME(database_id), encryptor_thumbprint, set_date, encryption_state, modify_date, regenerate_date FROM sys.dm_database_encryption_keys;",
            history_sql("msdb", retention_days)
        ))
        .await
        .map_err(|e| match e.server.as_ref().map(|s| s.number) {
            Some(229) => e.next("Coverage reads msdb's backup history: grant the login db_datareader in msdb (or use a sysadmin login)."),
            Some(300) | Some(297) => e.next("Coverage reads sys.dm_database_encryption_keys: the login needs VIEW SERVER STATE."),
            _ => e,
        })?;
    let empty = Vec::new();
    let set = |i: usize| sets.get(i).unwrap_or(&empty);
    let server = set(0)
        .first()
        .and_then(|r| r.get::<&str, _>(0))
        .unwrap_or("")
        .to_string();
    let mut certs: Vec<(String, String)> = set(2)
        .iter()
        .filter_map(|r| Some((r.get::<&str, _>(0)?.to_string(), hex_col(r, 1)?)))
        .collect();
    // A contained availability group's own msdb and master count as the instance's do.
    let mut history: Vec<tiberius::Row> = Vec::new();
    for g in contained_groups(c).await {
        let (msdb, master) = (
            crate::tsql::ident(&format!("{g}_msdb"))?,
            crate::tsql::ident(&format!("{g}_master"))?,
        );
        history.extend(c.rows(&history_sql(&msdb, retention_days)).await.map_err(|e| {
            let m = e.message.clone();
            e.with_message(format!("The backup history of contained availability group {g} ({msdb}) cannot be read: {m}"))
        })?);
        certs.extend(
            c.rows(&format!(
                "SELECT name, thumbprint FROM {master}.sys.certificates"
            ))
            .await?
            .iter()
            .filter_map(|r| Some((r.get::<&str, _>(0)?.to_string(), hex_col(r, 1)?))),
        );
    }
    // database -> (current encryptor, the last time its key changed in any way, in UTC as
    // the DMV keeps them): set, modified or regenerated.
    let deks: Vec<(String, Option<String>, Option<NaiveDateTime>)> = set(3)
        .iter()
        .filter_map(|r| {
            let changed = [2, 4, 5]
                .iter()
                .filter_map(|i| r.get::<NaiveDateTime, _>(*i))
                .max();
            Some((r.get::<&str, _>(0)?.to_string(), hex_col(r, 1), changed))
        })
        .collect();
    let mut rows: Vec<HistoryRow> = set(1)
        .iter()
        .chain(history.iter())
        .filter_map(|r| {
            // backupset keeps the server's local time and its offset in 15-minute steps
            // (127: unknown); everything is compared in UTC.
            let quarters = time_zone_quarters(r, 6);
            let to_utc = |local: NaiveDateTime| backupset_utc(local, quarters);
            let start = r.get::<NaiveDateTime, _>(2)?;
            Some(HistoryRow {
                database: r.get::<&str, _>(0)?.to_string(),
                kind: r.get::<&str, _>(1).unwrap_or("D").to_string(),
                start_utc: quarters.map(|_| to_utc(start)),
                finished: to_utc(r.get::<NaiveDateTime, _>(3)?),
                encryptor: hex_col(r, 4),
                device: r.get::<&str, _>(5).unwrap_or("").to_string(),
                position: r.try_get::<i32, _>(7).ok().flatten().filter(|p| *p >= 1),
            })
        })
        .collect();
    // In finish order, the instance's and the contained groups' msdb together.
    rows.sort_by_key(|r| r.finished);

    let mut backups = Vec::new();
    for HistoryRow {
        database,
        kind,
        start_utc,
        finished,
        encryptor,
        device,
        position,
    } in rows
    {
        let mut needs = Vec::new();
        let mut unknown = None;
        if let Some(t) = encryptor {
            needs.push(Need {
                kind: NeedKind::BackupEncryption,
                thumbprint: t,
                source: "msdb".into(),
            });
        }
        let dek = deks.iter().find(|d| d.0.eq_ignore_ascii_case(&database));
        match (dek, start_utc) {
            // The key has not changed since before the backup started: its certificate now is
            // the one the backup needs. Otherwise (or with no time zone to compare in), the
            // backup file says.
            (Some((_, Some(t), Some(changed))), Some(start)) if *changed < start => {
                needs.push(Need {
                    kind: NeedKind::Tde,
                    thumbprint: t.clone(),
                    source: "the database's certificate, unchanged since the backup".into(),
                })
            }
            _ => {
                // The encryptor changed since, or the database is not encrypted now: the
                // backup file itself says whether it was and by what.
                let lit = crate::tsql::path_literal(&device)?;
                // The set this row describes: a media file may hold several (BACKUP appends).
                let file = position
                    .map(|p| format!(" WITH FILE = {p}"))
                    .unwrap_or_default();
                match c
                    .rows(&format!("RESTORE FILELISTONLY FROM DISK = {lit}{file}"))
                    .await
                {
                    Ok(files) => {
                        if let Some(t) = files.iter().find_map(|r| {
                            r.try_get::<&[u8], _>("TDEThumbprint")
                                .ok()
                                .flatten()
                                .filter(|b| !b.is_empty())
                                .map(hex::encode_upper)
                        }) {
                            needs.push(Need {
                                kind: NeedKind::Tde,
                                thumbprint: t,
                                source: "the backup file".into(),
                            });
                        }
                    }
                    Err(e) => match thumbprint_in_33111(&e) {
                        // SQL Server names the certificate it cannot find.
                        Some(t) if !needs.iter().any(|n| n.thumbprint == t) => needs.push(Need {
                            kind: NeedKind::Tde,
                            thumbprint: t,
                            source: "the backup file (SQL Server cannot find its certificate)"
                                .into(),
                        }),
                        Some(_) => {}
                        None if e.code == ErrorCode::ConnectionLost => return Err(e),
                        None => {
                            unknown = Some(format!(
                                "the backup file could not be read: {}",
                                e.server
                                    .as_ref()
                                    .map(|s| s.text.clone())
                                    .unwrap_or(e.message)
                            ))
                        }
                    },
                }
            }
        }
        backups.push(RetainedBackup {
            database,
            kind,
            finished,
            device,
            position,
            needs,
            unknown,
        });
    }

    spanning_log_needs(&mut backups);

    let mut certificates: Vec<CertificateCoverage> = Vec::new();
    for b in &backups {
        for n in &b.needs {
            match certificates
                .iter_mut()
                .find(|c| c.thumbprint == n.thumbprint)
            {
                Some(c) => {
                    c.backups += 1;
                    c.oldest_backup = c.oldest_backup.min(Some(b.finished)).or(Some(b.finished));
                }
                None => certificates.push(CertificateCoverage {
                    thumbprint: n.thumbprint.clone(),
                    name: None,
                    on_server: false,
                    keysafe_copy: None,
                    copy_report: None,
                    backups: 1,
                    oldest_backup: Some(b.finished),
                    verdict: Verdict::Lost,
                    verdict_title: String::new(),
                    tone: Tone::Bad,
                }),
            }
        }
    }
    for c in &mut certificates {
        if let Some((name, _)) = certs.iter().find(|(_, t)| *t == c.thumbprint) {
            c.name = Some(name.clone());
            c.on_server = true;
        }
        // The newest verified Keysafe copy of exactly this certificate, from this server.
        let copy = runs
            .iter()
            .flat_map(|r| r.keys.iter().map(move |k| (r, k)))
            .filter(|(_, k)| {
                k.outcome == crate::backup::Outcome::Verified
                    && k.server.eq_ignore_ascii_case(&server)
                    && k.thumbprint
                        .as_deref()
                        .is_some_and(|t| t.eq_ignore_ascii_case(&c.thumbprint))
            })
            .max_by_key(|(r, _)| r.finished);
        if let Some((r, k)) = copy {
            c.keysafe_copy = Some(r.finished);
            c.copy_report = Some(r.report.display().to_string());
            if c.name.is_none() {
                if let crate::backup::KeyRef::Certificate { name, .. } = &k.key {
                    c.name = Some(name.clone());
                }
            }
        }
        c.verdict = match (c.on_server, c.keysafe_copy.is_some()) {
            (true, true) => Verdict::Covered,
            (true, false) => Verdict::ServerOnly,
            (false, true) => Verdict::CopyOnly,
            (false, false) => Verdict::Lost,
        };
        c.verdict_title = c.verdict.title().into();
        c.tone = c.verdict.tone();
    }
    certificates.sort_by(|a, b| a.verdict.cmp(&b.verdict).then(b.backups.cmp(&a.backups)));
    let summary = summary(&backups, &certificates);
    Ok(Coverage {
        server,
        generated: Utc::now(),
        retention_days,
        backups,
        certificates,
        summary,
    })
}

impl Coverage {
    /// One line per certificate, worst first, as a terminal or the report says it.
    pub fn lines(&self) -> Vec<String> {
        self.certificates
            .iter()
            .map(|c| {
                let name = c
                    .name
                    .clone()
                    .unwrap_or_else(|| "(name unknown: no longer on the server)".into());
                let consequence = match c.verdict {
                    Verdict::Lost => "cannot be restored anywhere".to_string(),
                    Verdict::ServerOnly => "are lost with the server; back it up".to_string(),
                    Verdict::CopyOnly => format!(
                        "need the verified copy of {}",
                        c.keysafe_copy.map(|d| d.to_rfc3339()).unwrap_or_default()
                    ),
                    Verdict::Covered => "can be restored".to_string(),
                };
                let what = format!(
                    "{}: certificate {name}: {}, {consequence}",
                    c.verdict.title(),
                    count(c.backups as u64, "retained backup")
                );
                format!("{what} (thumbprint {})", c.thumbprint)
            })
            .collect()
    }
}

/// Where a coverage report was written.
#[derive(Debug, Clone, Serialize)]
pub struct CoverageFiles {
    pub html: std::path::PathBuf,
    pub json: std::path::PathBuf,
    pub csv: std::path::PathBuf,
}

impl Coverage {
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("coverage serializes")
    }

    /// One row per retained backup and certificate it needs (a backup that needs none has
    /// one row with the certificate cells empty), for a spreadsheet.
    pub fn to_csv(&self) -> String {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(Vec::new());
        let mut row = |cells: [&str; 9]| {
            w.write_record(cells.iter().map(|c| crate::report::defuse(c).into_owned()))
                .expect("writing CSV to memory");
        };
        row([
            "server",
            "database",
            "type",
            "finished",
            "file",
            "needs",
            "thumbprint",
            "certificate",
            "verdict",
        ]);
        for b in &self.backups {
            let finished = b.finished.format("%Y-%m-%d %H:%M:%S").to_string();
            if b.needs.is_empty() {
                let why = b.unknown.clone().unwrap_or_default();
                row([
                    &self.server,
                    &b.database,
                    &b.kind,
                    &finished,
                    &b.device,
                    "",
                    "",
                    "",
                    &why,
                ]);
            }
            for n in &b.needs {
                let c = self
                    .certificates
                    .iter()
                    .find(|c| c.thumbprint == n.thumbprint);
                let kind = match n.kind {
                    NeedKind::Tde => "tde",
                    NeedKind::BackupEncryption => "backup_encryption",
                };
                let verdict = c.map(|c| c.verdict.title()).unwrap_or("");
                let name = c.and_then(|c| c.name.clone()).unwrap_or_default();
                row([
                    &self.server,
                    &b.database,
                    &b.kind,
                    &finished,
                    &b.device,
                    kind,
                    &n.thumbprint,
                    &name,
                    verdict,
                ]);
            }
        }
        String::from_utf8(w.into_inner().expect("CSV in memory")).expect("CSV is UTF-8")
    }

    pub fn to_html(&self) -> String {
        use minijinja::context;
        let env =
            crate::report::template("coverage.html", include_str!("../templates/coverage.html"));
        let certificates: Vec<_> = self
            .certificates
            .iter()
            .map(|c| {
                context! {
                    verdict => c.verdict.title(),
                    class => c.tone,
                    name => c.name,
                    on_server => c.on_server,
                    copy => c.keysafe_copy.map(crate::report::when),
                    copy_report => c.copy_report,
                    backups => c.backups,
                    oldest => c.oldest_backup.map(|d| d.format("%Y-%m-%d %H:%M").to_string()),
                    thumbprint => c.thumbprint,
                }
            })
            .collect();
        let backups: Vec<_> = self
            .backups
            .iter()
            .map(|b| {
                context! {
                    database => b.database,
                    kind => match b.kind.as_str() { "I" => "differential", "L" => "log", _ => "full" },
                    finished => b.finished.format("%Y-%m-%d %H:%M:%S").to_string(),
                    device => b.device,
                    unknown => b.unknown,
                    needs => b.needs.iter().map(|n| context! {
                        kind => match n.kind { NeedKind::Tde => "TDE", NeedKind::BackupEncryption => "backup encryption" },
                        thumbprint => n.thumbprint,
                        source => n.source,
                    }).collect::<Vec<_>>(),
                }
            })
            .collect();
        env.get_template("coverage.html")
            .expect("registered")
            .render(context! {
                server => self.server,
                retention_days => self.retention_days,
                operator => crate::report::current_operator(),
                workstation => crate::report::hostname(),
                generated => crate::report::when(self.generated),
                summary => self.summary,
                certificates => certificates,
                backups => backups,
            })
            .expect("the coverage report renders")
    }

    /// keysafe-coverage-<UTC time>-<server>.{html,json,csv} in `dir`, never replacing a file.
    pub fn write_files(&self, dir: &std::path::Path) -> Result<CoverageFiles> {
        crate::private_fs::create_dir_all(dir)?;
        let server: String = self
            .server
            .chars()
            .map(|c| {
                if c.is_alphanumeric() || "-_".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let stem = format!(
            "keysafe-coverage-{}-{server}",
            self.generated.format("%Y%m%dT%H%M%SZ")
        );
        let write = |ext: &str, body: String| -> Result<std::path::PathBuf> {
            let name = format!("{stem}.{ext}");
            crate::copy::write_new(dir, &name, body.as_bytes())?;
            Ok(dir.join(name))
        };
        Ok(CoverageFiles {
            json: write("json", self.to_json())?,
            html: write("html", self.to_html())?,
            csv: write("csv", self.to_csv())?,
        })
    }
}

/// The first line every front end shows: the worst thing first, in numbers.
fn summary(backups: &[RetainedBackup], certificates: &[CertificateCoverage]) -> Summary {
    let needing = |vs: &[Verdict]| {
        let cs: Vec<_> = certificates
            .iter()
            .filter(|c| vs.contains(&c.verdict))
            .collect();
        (cs.len(), cs.iter().map(|c| c.backups).sum::<usize>())
    };
    let (lost, lost_backups) = needing(&[Verdict::Lost]);
    if lost > 0 {
        return Summary {
            tone: Tone::Bad,
            text: format!(
                "{} cannot be restored anywhere: {} {} {} gone from the server and Keysafe holds no copy.",
                count(lost_backups as u64, "kept backup"),
                count(lost as u64, "certificate"),
                if lost_backups == 1 { "it needs" } else { "they need" },
                if lost == 1 { "is" } else { "are" }
            ),
        };
    }
    let (risky, risky_backups) = needing(&[Verdict::ServerOnly, Verdict::CopyOnly]);
    if risky > 0 {
        return Summary {
            tone: Tone::Warn,
            text: format!(
                "{} {} on {} kept in one place only.",
                count(risky_backups as u64, "kept backup"),
                if risky_backups == 1 {
                    "depends"
                } else {
                    "depend"
                },
                count(risky as u64, "certificate")
            ),
        };
    }
    let unknown = backups.iter().filter(|b| b.unknown.is_some()).count();
    if unknown > 0 {
        return Summary {
            tone: Tone::Warn,
            text: format!(
                "{} could not be read to tell what {} need{}.",
                count(unknown as u64, "kept backup"),
                if unknown == 1 { "it" } else { "they" },
                if unknown == 1 { "s" } else { "" }
            ),
        };
    }
    Summary {
        tone: Tone::Ok,
        text: match backups.len() {
            0 => "No backup in msdb's history within the retention: none needs a certificate.".into(),
            1 => "The one kept backup can be restored: every certificate it needs is on the server and in a verified Keysafe copy.".into(),
            n => format!("All {n} kept backups can be restored: every certificate they need is on the server and in a verified Keysafe copy."),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backup(db: &str, kind: &str, minute: u32, tde: &str) -> RetainedBackup {
        RetainedBackup {
            database: db.into(),
            kind: kind.into(),
            finished: chrono::NaiveDate::from_ymd_opt(2026, 12, 3)
                .unwrap()
                .and_hms_opt(10, minute, 0)
                .unwrap(),
            device: format!("{db}-{minute}"),
            position: Some(1),
            needs: vec![Need {
                kind: NeedKind::Tde,
                thumbprint: tde.into(),
                source: "the backup file".into(),
            }],
            unknown: None,
        }
    }

    fn tde_of(b: &RetainedBackup) -> Vec<&str> {
        b.needs.iter().map(|n| n.thumbprint.as_str()).collect()
    }

    #[test]
    fn a_log_backup_spanning_a_certificate_change_needs_both() {
        // Full and log by OLD; the certificate changes; the next log spans it; the one
        // after holds only NEW's log; Archive's own history is apart.
        let mut b = vec![
            backup("Payroll", "D", 0, "OLD"),
            backup("Payroll", "L", 10, "OLD"),
            backup("Archive", "L", 15, "ARCH"),
            backup("Payroll", "L", 20, "NEW"),
            backup("Payroll", "L", 30, "NEW"),
            backup("Payroll", "D", 35, "NEW"),
        ];
        spanning_log_needs(&mut b);
        assert_eq!(tde_of(&b[1]), ["OLD"]);
        assert_eq!(tde_of(&b[2]), ["ARCH"]);
        assert_eq!(
            tde_of(&b[3]),
            ["NEW", "OLD"],
            "the span since the log at 10"
        );
        assert_eq!(tde_of(&b[4]), ["NEW"], "only the log since the one at 20");
        assert_eq!(tde_of(&b[5]), ["NEW"], "a full backup holds no earlier log");
        // The first log backup kept, after a full one by another certificate: it spans
        // the change too.
        let mut first = vec![backup("HR", "D", 0, "OLD"), backup("HR", "L", 5, "NEW")];
        spanning_log_needs(&mut first);
        assert_eq!(tde_of(&first[1]), ["NEW", "OLD"]);
    }

    #[test]
    fn the_thumbprint_sql_server_cannot_find_is_read_from_33111() {
        let mut e = KeysafeError::new(ErrorCode::SqlServer, "x");
        e.server = Some(crate::error::ServerMessage {
            number: 33111,
            level: 16,
            state: 3,
            line: 1,
            text: "Cannot find server certificate with thumbprint '0xA1B2C3'.".into(),
        });
        assert_eq!(thumbprint_in_33111(&e).as_deref(), Some("A1B2C3"));
        e.server.as_mut().unwrap().number = 3201;
        assert_eq!(thumbprint_in_33111(&e), None);
    }

    fn certificate(verdict: Verdict, backups: usize) -> CertificateCoverage {
        CertificateCoverage {
            thumbprint: "AB".into(),
            name: None,
            on_server: verdict != Verdict::Lost,
            keysafe_copy: None,
            copy_report: None,
            backups,
            oldest_backup: None,
            verdict,
            verdict_title: verdict.title().into(),
            tone: verdict.tone(),
        }
    }

    #[test]
    fn the_summary_says_the_worst_first_in_numbers() {
        let s = summary(
            &[],
            &[
                certificate(Verdict::Lost, 2),
                certificate(Verdict::ServerOnly, 1),
            ],
        );
        assert_eq!(s.tone, Tone::Bad);
        assert_eq!(s.text, "2 kept backups cannot be restored anywhere: 1 certificate they need is gone from the server and Keysafe holds no copy.");
        let s = summary(
            &[],
            &[
                certificate(Verdict::ServerOnly, 1),
                certificate(Verdict::CopyOnly, 2),
            ],
        );
        assert_eq!(s.tone, Tone::Warn);
        assert_eq!(
            s.text,
            "3 kept backups depend on 2 certificates kept in one place only."
        );
        let s = summary(&[], &[certificate(Verdict::ServerOnly, 1)]);
        assert_eq!(
            s.text,
            "1 kept backup depends on 1 certificate kept in one place only."
        );
        let s = summary(&[], &[certificate(Verdict::Covered, 1)]);
        assert_eq!(s.tone, Tone::Ok);
    }
}
