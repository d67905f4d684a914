//! Key parity across a group of servers: every server a database can end up on (an
//! availability group's replicas, a DR server, a group the administrator declares) needs the
//! certificates its TDE databases and encrypted backups depend on, with their private keys
//! and the same thumbprint. Otherwise a failover, a restore on the DR server or a
//! secondary's log backup fails the day it is needed (Msg 33111).
//!
//! `check` reads each member (its inventory and msdb's backup history) and `judge` decides,
//! certificate by certificate, what each member holds. `copy_missing` puts the missing ones
//! where they are missing with the share-less copy (`recovery::copy_certificate`), each proven
//! by its thumbprint.

use crate::connection::{connect, ConnectOptions, SqlConnection};
use crate::error::{ErrorCode, KeysafeError, Result};
use crate::inventory::{self, Inventory};
use serde::Serialize;

/// Why the group needs a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// It protects a TDE database's encryption key on a member.
    Tde,
    /// A member's kept backups are encrypted with it (BACKUP ... WITH ENCRYPTION).
    BackupEncryption,
}

/// What one member holds of a certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Presence {
    /// The certificate (same thumbprint) with its private key.
    Present,
    /// The certificate, but not its private key: it cannot decrypt anything.
    NoPrivateKey,
    /// Another certificate under the same name (another thumbprint): never replaced.
    Different {
        thumbprint: String,
    },
    Missing,
    /// The member could not be read.
    Unknown {
        reason: String,
    },
}

impl Presence {
    pub fn ok(&self) -> bool {
        matches!(self, Presence::Present)
    }

    /// As Object Explorer, `keysafe parity` and the report say it.
    pub fn words(&self) -> String {
        match self {
            Presence::Present => "present, with its private key".into(),
            Presence::NoPrivateKey => "MISSING its private key".into(),
            Presence::Different { thumbprint } => format!(
                "DIFFERENT: a certificate of that name with another thumbprint ({})",
                short(thumbprint)
            ),
            Presence::Missing => "MISSING".into(),
            Presence::Unknown { reason } => format!("UNKNOWN: {reason}"),
        }
    }
}

fn short(thumbprint: &str) -> &str {
    thumbprint.get(..16).unwrap_or(thumbprint)
}

/// One member as it was read.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Member {
    /// The address as given.
    pub server: String,
    /// @@SERVERNAME, once read.
    pub server_name: Option<String>,
    /// Why it could not be read.
    pub error: Option<KeysafeError>,
    /// What could not be read besides (msdb's backup history), and why.
    pub notes: Vec<String>,
}

impl Member {
    /// The name people know it by.
    pub fn name(&self) -> &str {
        self.server_name.as_deref().unwrap_or(&self.server)
    }
}

/// One member's state for one certificate.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MemberPresence {
    /// The member's address as given.
    pub server: String,
    pub presence: Presence,
    /// `presence` in words.
    pub words: String,
}

/// A certificate the group depends on, and who holds it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CertificateParity {
    /// Its name in master on the member it was found on.
    pub name: String,
    pub thumbprint: String,
    pub purposes: Vec<Purpose>,
    /// Why the group needs it: "protects the encryption key of Payroll on SQL01".
    pub why: Vec<String>,
    /// The database on `source` that holds it: master, or a contained availability group's
    /// own master (`<group>_master`).
    pub source_database: Option<String>,
    /// A member holding it with its private key (its address), where a copy can come from.
    pub source: Option<String>,
    pub members: Vec<MemberPresence>,
    /// What to do when no copy can make parity (no member holds it with its private key).
    pub advice: Option<String>,
}

impl CertificateParity {
    pub fn complete(&self) -> bool {
        self.members.iter().all(|m| m.presence.ok())
    }

    /// The risk, in one sentence, when some member lacks it.
    pub fn risk(&self) -> Option<String> {
        let lacking: Vec<String> = self
            .members
            .iter()
            .filter(|m| !m.presence.ok())
            .map(|m| format!("{}: {}", m.server, m.words))
            .collect();
        (!lacking.is_empty()).then(|| {
            let mut r = format!(
                "Certificate {} ({}) {}; not on every member ({}). A failover, a restore or a log backup there fails with Msg 33111.",
                self.name,
                short(&self.thumbprint),
                self.why.join("; "),
                lacking.join("; ")
            );
            if let Some(a) = &self.advice {
                r.push(' ');
                r.push_str(a);
            }
            r
        })
    }
}

/// The group's parity: its members and every certificate it depends on.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Parity {
    pub members: Vec<Member>,
    pub certificates: Vec<CertificateParity>,
    /// The availability groups the members' catalogs list, with their replicas.
    pub availability_groups: Vec<AvailabilityGroup>,
}

/// An availability group as a member's catalog lists it (sys.availability_groups and
/// sys.availability_replicas): every replica must hold the keys its databases need.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AvailabilityGroup {
    pub name: String,
    /// The member whose catalog listed it (its address as given).
    pub seen_on: String,
    /// replica_server_name of each replica.
    pub replicas: Vec<String>,
    /// Replicas that are not members here: their keys were not compared.
    pub not_in_group: Vec<String>,
}

impl Parity {
    /// Every member was read, every replica of their availability groups is a member, and
    /// each holds every certificate with its private key.
    pub fn complete(&self) -> bool {
        self.members.iter().all(|m| m.error.is_none())
            && self
                .availability_groups
                .iter()
                .all(|g| g.not_in_group.is_empty())
            && self.certificates.iter().all(CertificateParity::complete)
    }

    /// The risks one member (its address as given) carries, as Object Explorer Details and
    /// the report list an instance's risks: each certificate it lacks (critical: a database
    /// that fails over or is restored there does not open), and each it holds that another
    /// member lacks.
    pub fn member_risks(&self, server: &str) -> Vec<crate::inventory::Risk> {
        use crate::inventory::{Risk, Severity};
        let name = |addr: &str| {
            self.members
                .iter()
                .find(|m| m.server == addr)
                .map(|m| m.name().to_string())
                .unwrap_or_else(|| addr.to_string())
        };
        let mut out = Vec::new();
        for c in &self.certificates {
            // A member that could not be read is not said to lack anything: its own risk
            // ("could not be read") is in `risks`.
            let Some(here) = c
                .members
                .iter()
                .find(|m| m.server == server)
                .filter(|m| !matches!(m.presence, Presence::Unknown { .. }))
            else {
                continue;
            };
            let object = format!("master.{}", c.name);
            let lacking: Vec<String> = c
                .members
                .iter()
                .filter(|m| {
                    m.server != server
                        && !m.presence.ok()
                        && !matches!(m.presence, Presence::Unknown { .. })
                })
                .map(|m| format!("{} ({})", name(&m.server), m.words))
                .collect();
            if !here.presence.ok() {
                let holders: Vec<String> = c
                    .members
                    .iter()
                    .filter(|m| m.presence.ok())
                    .map(|m| name(&m.server))
                    .collect();
                out.push(Risk {
                    severity: Severity::Critical,
                    object,
                    text: format!(
                        "key parity: {} here, held by {}; it {}. A database failing over or restored here does not open (Msg 33111){}",
                        here.words,
                        if holders.is_empty() { "no member".into() } else { holders.join(", ") },
                        c.why.join("; "),
                        c.advice.as_deref().map(|a| format!(". {a}")).unwrap_or_default()
                    ),
                });
            } else if !lacking.is_empty() {
                out.push(Risk {
                    severity: Severity::Warning,
                    object,
                    text: format!(
                        "key parity: not on every member: {}; it {}. Copy it there (Key Parity, or keysafe parity --copy-missing)",
                        lacking.join(", "),
                        c.why.join("; ")
                    ),
                });
            }
        }
        out
    }

    pub fn risks(&self) -> Vec<String> {
        let unread = self.members.iter().filter_map(|m| {
            m.error.as_ref().map(|e| {
                format!(
                    "{} could not be read, so its keys are unknown: {}",
                    m.server, e.message
                )
            })
        });
        let outside = self.availability_groups.iter().flat_map(|g| {
            g.not_in_group.iter().map(move |r| {
                format!(
                    "{r} is a replica of availability group {} (as {} lists it) but not compared here: add it (--profile or --server, or to the saved group) so its keys are checked.",
                    g.name, g.seen_on
                )
            })
        });
        unread
            .chain(outside)
            .chain(self.certificates.iter().filter_map(CertificateParity::risk))
            .collect()
    }
}

/// What one member told: its inventory and the thumbprints its kept backups are encrypted
/// with (None when msdb could not be read: why).
pub struct Reading {
    pub server: String,
    pub inventory: Result<Inventory>,
    pub backup_encryptors: std::result::Result<Vec<String>, String>,
    /// The availability groups its catalog lists: (group, replica_server_name) pairs.
    pub replicas: Vec<(String, String)>,
}

/// Decides parity from what each member told. No I/O.
pub fn judge(readings: &[Reading]) -> Parity {
    let members: Vec<Member> = readings
        .iter()
        .map(|r| {
            let (server_name, error) = match &r.inventory {
                Ok(inv) => (Some(inv.server.server_name.clone()), None),
                Err(e) => (None, Some(e.clone())),
            };
            let notes = match (&r.inventory, &r.backup_encryptors) {
                (Ok(_), Err(why)) => vec![format!(
                    "Its backup history could not be read, so certificates its backups are encrypted with may be missing from this list: {why}"
                )],
                _ => vec![],
            };
            Member {
                server: r.server.clone(),
                server_name,
                error,
                notes,
            }
        })
        .collect();
    // Where TDE finds certificates: master, and a contained availability group's master.
    let master = |inv: &Inventory| -> Vec<inventory::CertificateInfo> {
        inv.tde_certificates().into_iter().map(|(_, c)| c).collect()
    };
    // Every certificate the group depends on, by thumbprint, in the order first found.
    let mut certs: Vec<CertificateParity> = Vec::new();
    let mut need = |thumbprint: &str, name: &str, purpose: Purpose, why: String| {
        let t = thumbprint.to_uppercase();
        let c = match certs.iter_mut().position(|c| c.thumbprint == t) {
            Some(i) => &mut certs[i],
            None => {
                certs.push(CertificateParity {
                    name: name.to_string(),
                    thumbprint: t,
                    purposes: vec![],
                    why: vec![],
                    source: None,
                    source_database: None,
                    members: vec![],
                    advice: None,
                });
                certs.last_mut().expect("just pushed")
            }
        };
        if c.name.is_empty() {
            c.name = name.to_string();
        }
        if !c.purposes.contains(&purpose) {
            c.purposes.push(purpose);
        }
        if !c.why.contains(&why) {
            c.why.push(why);
        }
    };
    for (r, m) in readings.iter().zip(&members) {
        let Ok(inv) = &r.inventory else { continue };
        let here = master(inv);
        for c in here.iter().filter(|c| !c.used_by_tde.is_empty()) {
            need(
                &c.thumbprint,
                &c.name,
                Purpose::Tde,
                format!(
                    "protects the encryption key of {} on {}",
                    c.used_by_tde.join(", "),
                    m.name()
                ),
            );
        }
        for t in r.backup_encryptors.iter().flatten() {
            let name = here
                .iter()
                .find(|c| c.thumbprint.eq_ignore_ascii_case(t))
                .map(|c| c.name.clone())
                .unwrap_or_default();
            need(
                t,
                &name,
                Purpose::BackupEncryption,
                format!("encrypts backups kept on {}", m.name()),
            );
        }
    }
    for c in &mut certs {
        for r in readings {
            let presence = match &r.inventory {
                Err(e) => Presence::Unknown {
                    reason: e.message.clone(),
                },
                Ok(inv) => {
                    let here = master(inv);
                    match here
                        .iter()
                        .find(|h| h.thumbprint.eq_ignore_ascii_case(&c.thumbprint))
                    {
                        Some(h) if h.private_key == "NA" => Presence::NoPrivateKey,
                        Some(_) => Presence::Present,
                        None => match here.iter().find(|h| h.name.eq_ignore_ascii_case(&c.name)) {
                            Some(other) => Presence::Different {
                                thumbprint: other.thumbprint.clone(),
                            },
                            None => Presence::Missing,
                        },
                    }
                }
            };
            if presence.ok() && c.source.is_none() {
                c.source = Some(r.server.clone());
                c.source_database = r.inventory.as_ref().ok().and_then(|inv| {
                    inv.tde_certificates()
                        .into_iter()
                        .find(|(_, h)| h.thumbprint.eq_ignore_ascii_case(&c.thumbprint))
                        .map(|(d, _)| d)
                });
            }
            c.members.push(MemberPresence {
                server: r.server.clone(),
                words: presence.words(),
                presence,
            });
        }
        if c.name.is_empty() {
            // Backups encrypted with a certificate no member holds any more.
            c.name = format!("(dropped, thumbprint {})", short(&c.thumbprint));
        }
        if c.source.is_none() {
            c.advice = Some("No member holds it with its private key, so no copy can fix this: restore it from a Keysafe medium (keysafe restore cert, or Restore from Medium) before a backup that needs it has to be restored.".into());
        }
    }
    // Each availability group once, from the first member that lists it.
    let mut groups: Vec<AvailabilityGroup> = Vec::new();
    for r in readings {
        for (group, replica) in &r.replicas {
            let g = match groups
                .iter_mut()
                .position(|g| g.name.eq_ignore_ascii_case(group))
            {
                Some(i) => &mut groups[i],
                None => {
                    groups.push(AvailabilityGroup {
                        name: group.clone(),
                        seen_on: r.server.clone(),
                        replicas: vec![],
                        not_in_group: vec![],
                    });
                    groups.last_mut().expect("just pushed")
                }
            };
            if !g.replicas.iter().any(|x| x.eq_ignore_ascii_case(replica)) {
                g.replicas.push(replica.clone());
            }
        }
    }
    for g in &mut groups {
        g.not_in_group = g
            .replicas
            .iter()
            .filter(|r| {
                !members.iter().any(|m| {
                    m.server_name
                        .as_deref()
                        .is_some_and(|n| n.eq_ignore_ascii_case(r))
                })
            })
            .cloned()
            .collect();
    }
    Parity {
        members,
        certificates: certs,
        availability_groups: groups,
    }
}

/// The availability groups a member's catalog lists, with each replica's server name. A
/// login that may not see them (no VIEW ANY DEFINITION) sees none.
async fn replicas(c: &mut SqlConnection) -> Vec<(String, String)> {
    c.rows("SELECT ag.name, ar.replica_server_name FROM sys.availability_groups AS ag INNER JOIN sys.availability_replicas AS ar ON ar.group_id = ag.group_id")
        .await
        .map(|rows| {
            rows.iter()
                .filter_map(|r| {
                    Some((
                        r.get::<&str, _>(0)?.to_string(),
                        r.get::<&str, _>(1)?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The thumbprints the kept backups of the last `retention_days` were encrypted with
/// (msdb.dbo.backupset.encryptor_thumbprint).
async fn backup_encryptors(
    c: &mut SqlConnection,
    retention_days: u32,
) -> std::result::Result<Vec<String>, String> {
    // The instance's msdb, and each contained availability group's own.
    let msdbs = crate::coverage::msdbs(c).await.map_err(|e| e.message)?;
    let mut out: Vec<String> = Vec::new();
    for msdb in msdbs {
        let rows = c
            .rows(&format!(
                "SELECT DISTINCT CONVERT(nvarchar(64), encryptor_thumbprint, 2) FROM {msdb}.dbo.backupset WHERE encryptor_thumbprint IS NOT NULL AND backup_finish_date >= DATEADD(day, -{retention_days}, GETDATE())"
            ))
            .await
            .map_err(|e| e.message)?;
        for t in rows.iter().filter_map(|r| r.get::<&str, _>(0)) {
            if !t.is_empty() && !out.iter().any(|o| o.eq_ignore_ascii_case(t)) {
                out.push(t.to_string());
            }
        }
    }
    Ok(out)
}

/// Key parity's risks for each member of a group run, by the member's address as given:
/// what each instance's report lists beside its own risks (`RunRequest::parity_risks`).
pub async fn risks_by_member(
    members: &[ConnectOptions],
    retention_days: u32,
) -> std::collections::HashMap<String, Vec<crate::inventory::Risk>> {
    let parity = check(members, retention_days).await;
    members
        .iter()
        .map(|m| {
            let s = m.server.to_string();
            let risks = parity.member_risks(&s);
            (s, risks)
        })
        .collect()
}

/// Reads every member (`concurrency` at a time is not needed: a group is a few servers) and
/// judges the group.
pub async fn check(members: &[ConnectOptions], retention_days: u32) -> Parity {
    let mut readings = Vec::new();
    for o in members {
        let reading = match connect(o).await {
            Err(e) => Reading {
                server: o.server.to_string(),
                inventory: Err(e),
                backup_encryptors: Ok(vec![]),
                replicas: vec![],
            },
            Ok(mut c) => {
                let inventory = inventory::inventory(&mut c).await;
                let backup_encryptors = backup_encryptors(&mut c, retention_days).await;
                let replicas = replicas(&mut c).await;
                Reading {
                    server: o.server.to_string(),
                    inventory,
                    backup_encryptors,
                    replicas,
                }
            }
        };
        readings.push(reading);
    }
    judge(&readings)
}

/// One copy `copy_missing` made or could not make.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ParityCopy {
    pub certificate: String,
    pub from: String,
    pub to: String,
    /// The copy, proven by its thumbprint; None when it failed (`error`).
    pub copy: Option<crate::recovery::CertificateCopy>,
    pub error: Option<KeysafeError>,
}

impl ParityCopy {
    pub fn proven(&self) -> bool {
        self.copy.as_ref().is_some_and(|c| c.verified()) && self.error.is_none()
    }
}

/// Copies each certificate to every member where it is missing, from a member holding it
/// with its private key, into master, each proven by its thumbprint. A member with another
/// certificate under the name, or with the certificate but not its private key, is left as
/// it is (its risk stays). Where master has no master key, `new_master_key` makes one (then
/// it must be backed up); without it, that member's copy fails and says so.
pub async fn copy_missing(
    members: &[ConnectOptions],
    parity: &Parity,
    new_master_key: Option<&crate::Password>,
) -> Vec<ParityCopy> {
    let find = |server: &str| members.iter().find(|o| o.server.to_string() == server);
    let mut out = Vec::new();
    for c in &parity.certificates {
        let Some(from) = c.source.as_deref() else {
            continue;
        };
        for m in c.members.iter().filter(|m| m.presence == Presence::Missing) {
            let attempt = async {
                let (Some(src), Some(dst)) = (find(from), find(&m.server)) else {
                    return Err(KeysafeError::new(
                        ErrorCode::Internal,
                        "A member of the parity is not in the group.",
                    ));
                };
                let mut s = connect(src).await?;
                let mut t = connect(dst).await?;
                // From where the source keeps it (master, or a contained group's master),
                // to the target's master, which TDE always checks.
                crate::recovery::copy_certificate(
                    &mut s,
                    &mut t,
                    c.source_database.as_deref().unwrap_or("master"),
                    &c.name,
                    "master",
                    new_master_key,
                )
                .await
            }
            .await;
            let (copy, error) = match attempt {
                Ok(copy) if copy.verified() => (Some(copy), None),
                Ok(copy) => {
                    let e = KeysafeError::new(
                        ErrorCode::VerificationFailed,
                        format!(
                            "The copy of {} on {} has thumbprint {}, not {}.",
                            c.name, m.server, copy.target_thumbprint, copy.thumbprint
                        ),
                    );
                    (Some(copy), Some(e))
                }
                Err(e) => (None, Some(e)),
            };
            out.push(ParityCopy {
                certificate: c.name.clone(),
                from: from.to_string(),
                to: m.server.clone(),
                copy,
                error,
            });
        }
    }
    out
}

/// One kept backup of a group, judged on every member it may have to be restored on.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GroupBackup {
    /// The member whose msdb recorded it (its name).
    pub taken_on: String,
    pub database: String,
    /// full, differential or log.
    pub kind: String,
    /// When it finished ("YYYY-MM-DD HH:MM", UTC).
    pub finished: String,
    pub device: String,
    /// The thumbprints it needs (TDE, backup encryption).
    pub needs: Vec<String>,
    /// The members it restores on (names).
    pub restores_on: Vec<String>,
    /// The members it does not restore on, each with why.
    pub not_on: Vec<String>,
    /// What it needs could not be read (then it is judged on nothing).
    pub unknown: Option<String>,
}

impl GroupBackup {
    /// "Payroll's log backup of 2026-12-03 10:00 (taken on SQL01) restores on SQL01, not on
    /// SQLDR01 (certificate TDE_2025 missing there)".
    pub fn sentence(&self) -> String {
        let head = format!(
            "{}'s {} backup of {} (taken on {})",
            self.database, self.kind, self.finished, self.taken_on
        );
        if let Some(u) = &self.unknown {
            return format!("{head}: UNKNOWN, {u}");
        }
        match (self.restores_on.is_empty(), self.not_on.is_empty()) {
            (_, true) => format!("{head} restores on every member"),
            (true, false) => format!("{head} restores on NO member: {}", self.not_on.join("; ")),
            (false, false) => format!(
                "{head} restores on {}, NOT on {}",
                self.restores_on.join(", "),
                self.not_on.join("; ")
            ),
        }
    }

    pub fn everywhere(&self) -> bool {
        self.unknown.is_none() && self.not_on.is_empty()
    }
}

/// Every kept backup of every member (each member's own msdb: a secondary's backups are in
/// its msdb only), judged on each member as a restore target.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GroupCoverage {
    pub members: Vec<Member>,
    pub retention_days: u32,
    pub backups: Vec<GroupBackup>,
}

impl GroupCoverage {
    /// Every member read, every kept backup restorable on every member.
    pub fn complete(&self) -> bool {
        self.members.iter().all(|m| m.error.is_none())
            && self.backups.iter().all(GroupBackup::everywhere)
    }
}

/// Reads every member's kept backups (coverage) and master certificates, and judges each
/// backup on each member.
pub async fn group_coverage(
    members: &[ConnectOptions],
    retention_days: u32,
    runs: &[crate::history::RunRecord],
) -> GroupCoverage {
    // (member, its name, its master certificates (thumbprint, name, has private key), its coverage)
    let mut read = Vec::new();
    let mut out_members = Vec::new();
    for o in members {
        let got = async {
            let mut c = connect(o).await?;
            let inv = inventory::inventory(&mut c).await?;
            let cov = crate::coverage::coverage(&mut c, retention_days, runs).await?;
            Ok::<_, KeysafeError>((inv, cov))
        }
        .await;
        match got {
            Ok((inv, cov)) => {
                // Where TDE finds them: master and a contained group's master.
                let certs: Vec<(String, String, bool)> = inv
                    .tde_certificates()
                    .into_iter()
                    .map(|(_, c)| {
                        (
                            c.thumbprint.to_uppercase(),
                            c.name.clone(),
                            c.private_key != "NA",
                        )
                    })
                    .collect();
                out_members.push(Member {
                    server: o.server.to_string(),
                    server_name: Some(inv.server.server_name.clone()),
                    error: None,
                    notes: vec![],
                });
                read.push((inv.server.server_name.clone(), certs, cov));
            }
            Err(e) => out_members.push(Member {
                server: o.server.to_string(),
                server_name: None,
                error: Some(e),
                notes: vec![],
            }),
        }
    }
    let name_of = |t: &str| {
        read.iter()
            .flat_map(|(_, certs, _)| certs.iter())
            .find(|(th, _, _)| th.eq_ignore_ascii_case(t))
            .map(|(_, n, _)| format!("certificate {n}"))
            .unwrap_or_else(|| format!("the certificate with thumbprint {}", short(t)))
    };
    let mut backups = Vec::new();
    for (taken_on, _, cov) in &read {
        for b in &cov.backups {
            let needs: Vec<String> = b
                .needs
                .iter()
                .map(|n| n.thumbprint.to_uppercase())
                .collect();
            let mut restores_on = Vec::new();
            let mut not_on = Vec::new();
            for (target, certs, _) in &read {
                let lacking: Vec<String> = needs
                    .iter()
                    .filter(|t| !certs.iter().any(|(th, _, pk)| th == *t && *pk))
                    .map(|t| name_of(t))
                    .collect();
                if lacking.is_empty() {
                    restores_on.push(target.clone());
                } else {
                    not_on.push(format!("{target} ({} missing there)", lacking.join(", ")));
                }
            }
            for m in out_members.iter().filter(|m| m.error.is_some()) {
                not_on.push(format!("{} (could not be read)", m.server));
            }
            backups.push(GroupBackup {
                taken_on: taken_on.clone(),
                database: b.database.clone(),
                kind: b.kind_words().into(),
                finished: b.finished.format("%Y-%m-%d %H:%M").to_string(),
                device: b.device.clone(),
                needs,
                restores_on,
                not_on,
                unknown: b.unknown.clone(),
            });
        }
    }
    GroupCoverage {
        members: out_members,
        retention_days,
        backups,
    }
}
