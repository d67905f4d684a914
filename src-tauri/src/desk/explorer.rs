//! Object Explorer: each connection's Service Master Key, databases, master keys and
//! certificates, each with its backup state (never / date / risk) from the server's
//! catalog and Keysafe's history.

use crate::error::IpcResult;
use crate::state::AppState;
use crate::types::{BackupState, DatabaseNode, KeyNode, Property, RiskView, ServerTree};
use keysafe_core::backup::{BackupOptions, KeyRef};
use keysafe_core::history;
use keysafe_core::inventory::{self, Inventory};
use keysafe_core::ErrorCode;

fn prop(name: &str, value: impl ToString) -> Property {
    Property {
        name: name.into(),
        value: value.to_string(),
    }
}

fn date(d: Option<chrono::NaiveDateTime>) -> String {
    d.map(|d| d.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| "—".into())
}

/// The engine's judgment of a key (keysafe_core::status), with the properties shown.
struct Judge<'a> {
    inv: &'a Inventory,
    last: history::Verified,
}

impl Judge<'_> {
    #[allow(clippy::too_many_arguments)]
    fn node(
        &self,
        key: KeyRef,
        identity: Option<&str>,
        modified: Option<chrono::NaiveDateTime>,
        server_record: Option<chrono::NaiveDateTime>,
        risk_object: &str,
        protection: &str,
        expiry: Option<chrono::NaiveDateTime>,
        properties: Vec<Property>,
    ) -> KeyNode {
        let s = keysafe_core::status::judge(
            self.inv,
            &self.last,
            key.clone(),
            identity,
            modified,
            server_record,
            risk_object,
        );
        KeyNode {
            key,
            label: s.label,
            state_words: s.state.words().into(),
            state: s.state,
            last_verified: s
                .last_verified
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            server_record: s
                .server_record
                .map(|d| d.format("%Y-%m-%d %H:%M").to_string()),
            risk: (s.state == BackupState::Risk).then_some(s.reason).flatten(),
            changed_since_backup: s.changed_since_backup,
            protection: protection.into(),
            modified: modified.map(|d| d.format("%Y-%m-%d %H:%M").to_string()),
            expiry: expiry.map(|d| d.format("%Y-%m-%d").to_string()),
            can_back_up: s.can_back_up,
            properties,
        }
    }
}

pub fn tree(id: u32, inv: &Inventory, entries: &[history::Entry]) -> ServerTree {
    let j = Judge {
        inv,
        last: history::last_verified(entries),
    };
    let smk = inv.service_master_key.as_ref().map(|k| {
        j.node(
            KeyRef::ServiceMasterKey,
            k.key_guid.as_deref(),
            k.modified,
            None,
            "Service Master Key",
            "Service account and machine (DPAPI)",
            None,
            vec![
                prop("Algorithm", &k.algorithm),
                prop("Key length", k.key_length),
                prop("Created", date(k.created)),
                prop("Modified", date(k.modified)),
                prop("Key GUID", k.key_guid.as_deref().unwrap_or("")),
            ],
        )
    });
    let databases = inv
        .databases
        .iter()
        .map(|d| DatabaseNode {
            name: d.name.clone(),
            tde: d
                .tde
                .filter(|s| *s > 0)
                .map(|s| inventory::tde_state_words(s).to_string()),
            master_key: d.master_key.as_ref().map(|k| {
                let protection = k.protection.words();
                j.node(
                    KeyRef::DatabaseMasterKey {
                        database: d.name.clone(),
                    },
                    k.key_guid.as_deref(),
                    k.modified,
                    None,
                    &format!("{} master key", d.name),
                    protection,
                    None,
                    vec![
                        prop("Protection", protection),
                        prop("Algorithm", &k.algorithm),
                        prop("Created", date(k.created)),
                        prop("Modified", date(k.modified)),
                        prop("Key GUID", k.key_guid.as_deref().unwrap_or("")),
                    ],
                )
            }),
            certificates: d
                .certificates
                .iter()
                .map(|c| {
                    j.node(
                        KeyRef::Certificate {
                            database: d.name.clone(),
                            name: c.name.clone(),
                        },
                        Some(c.thumbprint.as_str()),
                        None,
                        c.last_backup,
                        &format!("{}.{}", d.name, c.name),
                        c.private_key_words(),
                        c.expiry,
                        vec![
                            prop("Subject", &c.subject),
                            prop("Private key", c.private_key_detail()),
                            prop("Expires", date(c.expiry)),
                            prop("Thumbprint", &c.thumbprint),
                            prop(
                                "Protects TDE for",
                                if c.used_by_tde.is_empty() {
                                    "—".to_string()
                                } else {
                                    c.used_by_tde.join(", ")
                                },
                            ),
                            prop("Last backup (server)", date(c.last_backup)),
                        ],
                    )
                })
                .collect(),
            not_visible: d.not_visible,
        })
        .collect();
    let f = &inv.server;
    ServerTree {
        id,
        server_name: f.server_name.clone(),
        service_master_key: smk,
        databases,
        risks: inv.risks.iter().cloned().map(risk_view).collect(),
        properties: vec![
            prop("Server name", &f.server_name),
            prop("Product version", &f.product_version),
            prop("Edition", &f.edition),
            prop("Platform", &f.host_platform),
            prop("Login", &f.login),
            prop(
                "Service account",
                f.service_account
                    .as_deref()
                    .unwrap_or("unknown (needs VIEW SERVER STATE)"),
            ),
            prop(
                "Default backup folder",
                f.default_backup_path.as_deref().unwrap_or("unknown"),
            ),
        ],
    }
}

pub async fn inventory_of(state: &AppState, id: u32) -> IpcResult<Inventory> {
    let conn = state.connection(id)?;
    let mut g = conn.session().await?;
    let session = g.as_mut().expect("session");
    match keysafe_core::inventory::inventory(session).await {
        Ok(inv) => Ok(inv),
        Err(e) => {
            if e.code == ErrorCode::ConnectionLost {
                *g = None;
            }
            Err(e)
        }
    }
}

pub async fn explorer(state: &AppState, id: u32) -> IpcResult<ServerTree> {
    let inv = inventory_of(state, id).await?;
    let entries = history::read(&state.history_path())?;
    let mut t = tree(id, &inv, &entries);
    // The last key parity check's risks for this member, most severe first with its own.
    let server = state.connection(id)?.options.server.to_string();
    if let Some(p) = state.parity.lock().expect("parity").as_ref() {
        t.risks
            .splice(0..0, p.member_risks(&server).into_iter().map(risk_view));
    }
    Ok(t)
}

fn risk_view(r: keysafe_core::inventory::Risk) -> RiskView {
    RiskView {
        severity: r.severity.word().into(),
        object: r.object,
        text: r.text,
    }
}

/// The key's backup statement as Keysafe would run it, passwords masked.
pub async fn script(state: &AppState, id: u32, key: KeyRef) -> IpcResult<String> {
    let inv = inventory_of(state, id).await?;
    // As a run would send it, every password masked.
    let opts = BackupOptions {
        server_dir: None,
        copy_to: std::path::PathBuf::new(),
        format: None,
    };
    let plan =
        keysafe_core::backup::plan(&inv, std::slice::from_ref(&key), &opts, chrono::Utc::now())?;
    Ok(plan
        .iter()
        .map(|p| p.script.clone())
        .collect::<Vec<_>>()
        .join("\nGO\n")
        + "\nGO\n")
}
