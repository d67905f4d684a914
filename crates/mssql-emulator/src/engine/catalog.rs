//! The catalog views, DMVs and table-valued functions Keysafe reads, built from the
//! instance state with SQL Server's columns, types and visibility rules.

use super::eval::{ColRef, Ctx, TV};
use super::messages::{self, Msg};
use super::state::{Database, KeyProtection, PrincipalKind};
use super::{assumptions, perms, Res};
use crate::value::{ci_eq, SqlType, Value};

pub struct Table {
    pub cols: Vec<ColRef>,
    pub rows: Vec<Vec<Value>>,
}

fn cols(qualifier: &str, spec: &[(&str, SqlType)]) -> Vec<ColRef> {
    spec.iter()
        .map(|(n, t)| ColRef {
            qualifier: qualifier.to_string(),
            name: n.to_string(),
            ty: *t,
        })
        .collect()
}

const SYSNAME: SqlType = SqlType::NVarChar(Some(128));

fn s(x: &str) -> Value {
    Value::Str(x.to_string())
}
fn dt(d: chrono::NaiveDateTime) -> Value {
    Value::DateTime(d)
}
fn opt_dt(d: Option<chrono::NaiveDateTime>) -> Value {
    d.map(Value::DateTime).unwrap_or(Value::Null)
}

/// Resolves `[db.]sys.name` to (database, view name). Views outside `sys` don't exist.
fn split_name<'a>(ctx: &Ctx, parts: &'a [String]) -> Option<(String, &'a str)> {
    let n = parts.len();
    let view = parts[n - 1].as_str();
    let schema = if n >= 2 { parts[n - 2].as_str() } else { "" };
    if !ci_eq(schema, "sys") && (n != 1 || !ci_eq(view, "fn_my_permissions")) {
        return None;
    }
    let db = if n >= 3 && !parts[n - 3].is_empty() {
        parts[n - 3].clone()
    } else {
        ctx.session.database.clone()
    };
    Some((db, view))
}

/// A database whose catalog is read through a three-part name: the login must be able to
/// enter it (a user, ownership or CONTROL SERVER), as SQL Server checks (916).
fn database<'a>(ctx: &'a Ctx, name: &str) -> Res<&'a Database> {
    let d = ctx
        .st
        .database(name)
        .ok_or_else(|| super::Fail::from(messages::database_missing(name)))?;
    if d.database_id > 4 && !perms::has_database(ctx.st, &ctx.session.login, d, "CONNECT") {
        return Err(messages::cannot_access_database(&ctx.session.login, &d.name).into());
    }
    Ok(d)
}

fn need_server_state(ctx: &Ctx) -> Res<()> {
    if perms::has_server(ctx.st, &ctx.session.login, "VIEW SERVER STATE") {
        Ok(())
    } else {
        Err(super::Fail(messages::server_state_denied(
            &ctx.session.database,
        )))
    }
}

/// A catalog view or DMV by name.
pub fn view(ctx: &Ctx, parts: &[String], qualifier: &str) -> Res<Table> {
    let full = parts.join(".");
    let Some((dbname, name)) = split_name(ctx, parts) else {
        return Err(messages::invalid_object(&full).into());
    };
    let st = ctx.st;
    let login = &ctx.session.login;
    let info = &ctx.inst.info;
    match name.to_ascii_lowercase().as_str() {
        "databases" => {
            let c = cols(
                qualifier,
                &[
                    ("name", SYSNAME),
                    ("database_id", SqlType::Int),
                    ("source_database_id", SqlType::Int),
                    ("owner_sid", SqlType::VarBinary(Some(85))),
                    ("create_date", SqlType::DateTime),
                    ("compatibility_level", SqlType::TinyInt),
                    ("collation_name", SYSNAME),
                    ("user_access_desc", SqlType::NVarChar(Some(60))),
                    ("state", SqlType::TinyInt),
                    ("state_desc", SqlType::NVarChar(Some(60))),
                    ("recovery_model_desc", SqlType::NVarChar(Some(60))),
                    ("is_master_key_encrypted_by_server", SqlType::Bit),
                    ("is_encrypted", SqlType::Bit),
                ],
            );
            let compat = info.major as i64 * 10;
            // VIEW ANY DATABASE is granted to public: every login sees every database.
            let rows = st
                .databases
                .iter()
                .map(|d| {
                    let owner = st
                        .login(&d.owner)
                        .map(|l| Value::Bytes(l.sid.clone()))
                        .unwrap_or(Value::Null);
                    vec![
                        s(&d.name),
                        Value::Int(d.database_id as i64),
                        Value::Null,
                        owner,
                        dt(d.create_date),
                        Value::Int(compat),
                        s("SQL_Latin1_General_CP1_CI_AS"),
                        s("MULTI_USER"),
                        Value::Int(0),
                        s("ONLINE"),
                        s(if d.database_id == 2 { "SIMPLE" } else { "FULL" }),
                        Value::Bit(d.master_key.as_ref().is_some_and(|k| k.by_smk.is_some())),
                        Value::Bit(d.is_encrypted),
                    ]
                })
                .collect();
            Ok(Table { cols: c, rows })
        }
        "symmetric_keys" => {
            let db = database(ctx, &dbname)?;
            let c = cols(
                qualifier,
                &[
                    ("name", SYSNAME),
                    ("principal_id", SqlType::Int),
                    ("symmetric_key_id", SqlType::Int),
                    ("key_length", SqlType::Int),
                    ("key_algorithm", SqlType::Char(2)),
                    ("algorithm_desc", SqlType::NVarChar(Some(60))),
                    ("create_date", SqlType::DateTime),
                    ("modify_date", SqlType::DateTime),
                    ("key_guid", SqlType::UniqueIdentifier),
                    ("key_thumbprint", SqlType::SqlVariant),
                    ("provider_type", SqlType::NVarChar(Some(120))),
                    ("cryptographic_provider_guid", SqlType::UniqueIdentifier),
                    ("cryptographic_provider_algid", SqlType::SqlVariant),
                ],
            );
            let mut rows = Vec::new();
            if perms::can_see_metadata(st, login, db) {
                let (alg, desc, len) = assumptions::MASTER_KEY_ALGORITHM;
                let row = |name: &str, id: i64, created, modified, guid: uuid::Uuid| {
                    vec![
                        s(name),
                        Value::Int(1),
                        Value::Int(id),
                        Value::Int(len as i64),
                        s(alg),
                        s(desc),
                        dt(created),
                        dt(modified),
                        Value::Guid(guid),
                        Value::Null,
                        Value::Null,
                        Value::Null,
                        Value::Null,
                    ]
                };
                if let Some(k) = &db.master_key {
                    rows.push(row(
                        "##MS_DatabaseMasterKey##",
                        101,
                        k.create_date,
                        k.modify_date,
                        k.guid,
                    ));
                }
                if db.database_id == 1 {
                    if let Some(k) = &st.service_master_key {
                        rows.push(row(
                            "##MS_ServiceMasterKey##",
                            102,
                            k.create_date,
                            k.modify_date,
                            k.guid,
                        ));
                    }
                }
            }
            Ok(Table { cols: c, rows })
        }
        "key_encryptions" => {
            let db = database(ctx, &dbname)?;
            let c = cols(
                qualifier,
                &[
                    ("key_id", SqlType::Int),
                    ("thumbprint", SqlType::VarBinary(Some(32))),
                    ("crypt_type", SqlType::Char(4)),
                    ("crypt_type_desc", SqlType::NVarChar(Some(60))),
                    ("crypt_property", SqlType::VarBinary(None)),
                ],
            );
            let mut rows = Vec::new();
            if perms::can_see_metadata(st, login, db) {
                if let Some(k) = &db.master_key {
                    if let Some(by) = &k.by_smk {
                        let smk_guid = st
                            .service_master_key
                            .as_ref()
                            .map(|s| Value::Bytes(s.guid.to_bytes_le().to_vec()))
                            .unwrap_or(Value::Null);
                        rows.push(vec![
                            Value::Int(101),
                            smk_guid,
                            s("ESKM"),
                            s("ENCRYPTION BY MASTER KEY"),
                            Value::Bytes(by.ciphertext.clone()),
                        ]);
                    }
                    for p in &k.by_passwords {
                        let (ty, desc) = if info.major >= 14 {
                            ("ESP2", "ENCRYPTION BY PASSWORD V2")
                        } else {
                            ("ESKP", "ENCRYPTION BY PASSWORD")
                        };
                        rows.push(vec![
                            Value::Int(101),
                            Value::Null,
                            s(ty),
                            s(desc),
                            Value::Bytes(p.ciphertext.clone()),
                        ]);
                    }
                }
            }
            Ok(Table { cols: c, rows })
        }
        "certificates" => {
            let db = database(ctx, &dbname)?;
            let c = cols(
                qualifier,
                &[
                    ("name", SYSNAME),
                    ("certificate_id", SqlType::Int),
                    ("principal_id", SqlType::Int),
                    ("pvt_key_encryption_type", SqlType::Char(2)),
                    ("pvt_key_encryption_type_desc", SqlType::NVarChar(Some(60))),
                    ("is_active_for_begin_dialog", SqlType::Bit),
                    ("issuer_name", SqlType::NVarChar(Some(442))),
                    ("cert_serial_number", SqlType::NVarChar(Some(64))),
                    ("sid", SqlType::VarBinary(Some(85))),
                    ("string_sid", SqlType::NVarChar(Some(128))),
                    ("subject", SqlType::NVarChar(Some(4000))),
                    ("expiry_date", SqlType::DateTime),
                    ("start_date", SqlType::DateTime),
                    ("thumbprint", SqlType::VarBinary(Some(32))),
                    ("attested_by", SqlType::NVarChar(Some(260))),
                    ("pvt_key_last_backup_date", SqlType::DateTime),
                    ("key_length", SqlType::Int),
                ],
            );
            let mut rows = Vec::new();
            if perms::can_see_metadata(st, login, db) {
                for cert in &db.certificates {
                    let (t, d) = match cert.private_key.as_ref().map(|k| k.protection) {
                        None => ("NA", "NO_PRIVATE_KEY"),
                        Some(KeyProtection::MasterKey) => ("MK", "ENCRYPTED_BY_MASTER_KEY"),
                        Some(KeyProtection::Password) => ("PW", "ENCRYPTED_BY_PASSWORD"),
                    };
                    let mut sid = vec![1u8, 1, 0, 0, 0, 0, 0, 9];
                    sid.extend_from_slice(&cert.thumbprint);
                    rows.push(vec![
                        s(&cert.name),
                        Value::Int(cert.certificate_id as i64),
                        Value::Int(cert.principal_id as i64),
                        s(t),
                        s(d),
                        Value::Bit(true),
                        s(&cert.issuer),
                        s(&cert.serial),
                        Value::Bytes(sid),
                        s(&format!("S-1-9-{}", cert.certificate_id)),
                        s(&cert.subject),
                        dt(cert.expiry_date),
                        dt(cert.start_date),
                        Value::Bytes(cert.thumbprint.clone()),
                        s("N/A"),
                        opt_dt(cert.pvt_key_last_backup_date),
                        Value::Int(cert.key_length as i64),
                    ]);
                }
            }
            Ok(Table { cols: c, rows })
        }
        "dm_database_encryption_keys" => {
            need_server_state(ctx)?;
            let mut spec = vec![
                ("database_id", SqlType::Int),
                ("encryption_state", SqlType::Int),
                ("create_date", SqlType::DateTime),
                ("regenerate_date", SqlType::DateTime),
                ("modify_date", SqlType::DateTime),
                ("set_date", SqlType::DateTime),
                ("opened_date", SqlType::DateTime),
                ("key_algorithm", SqlType::NVarChar(Some(32))),
                ("key_length", SqlType::Int),
                ("encryptor_thumbprint", SqlType::VarBinary(Some(20))),
                ("encryptor_type", SqlType::NVarChar(Some(32))),
                ("percent_complete", SqlType::Real),
            ];
            if info.major >= 15 {
                spec.push(("encryption_state_desc", SqlType::NVarChar(Some(32))));
                spec.push(("encryption_scan_state", SqlType::Int));
                spec.push(("encryption_scan_state_desc", SqlType::NVarChar(Some(32))));
                spec.push(("encryption_scan_modify_date", SqlType::DateTime));
            }
            let c = cols(qualifier, &spec);
            let mut rows = Vec::new();
            for d in &st.databases {
                if let Some(k) = &d.encryption_key {
                    let state_desc = match k.encryption_state {
                        0 => "NONE",
                        1 => "UNENCRYPTED",
                        2 => "ENCRYPTION_IN_PROGRESS",
                        3 => "ENCRYPTED",
                        4 => "KEY_CHANGE_IN_PROGRESS",
                        5 => "DECRYPTION_IN_PROGRESS",
                        _ => "PROTECTION_CHANGE_IN_PROGRESS",
                    };
                    let mut r = vec![
                        Value::Int(d.database_id as i64),
                        Value::Int(k.encryption_state as i64),
                        dt(k.create_date),
                        dt(k.regenerate_date),
                        dt(k.modify_date),
                        dt(k.set_date),
                        dt(k.opened_date),
                        s(&k.algorithm),
                        Value::Int(k.key_length as i64),
                        if k.encryptor_thumbprint.is_empty() {
                            Value::Null
                        } else {
                            Value::Bytes(k.encryptor_thumbprint.clone())
                        },
                        s(if k.encryptor_thumbprint.is_empty() {
                            "ASYMMETRIC KEY"
                        } else {
                            "CERTIFICATE"
                        }),
                        Value::Float(0.0),
                    ];
                    if info.major >= 15 {
                        r.extend([
                            s(state_desc),
                            Value::Int(if k.encryption_state == 1 { 0 } else { 4 }),
                            s(if k.encryption_state == 1 {
                                "NONE"
                            } else {
                                "COMPLETE"
                            }),
                            dt(k.modify_date),
                        ]);
                    }
                    rows.push(r);
                }
            }
            Ok(Table { cols: c, rows })
        }
        "dm_server_services" => {
            need_server_state(ctx)?;
            let c = cols(
                qualifier,
                &[
                    ("servicename", SqlType::NVarChar(Some(256))),
                    ("startup_type", SqlType::Int),
                    ("startup_type_desc", SqlType::NVarChar(Some(256))),
                    ("status", SqlType::Int),
                    ("status_desc", SqlType::NVarChar(Some(256))),
                    ("process_id", SqlType::Int),
                    ("last_startup_time", SqlType::DateTimeOffset(7)),
                    ("service_account", SqlType::NVarChar(Some(256))),
                    ("filename", SqlType::NVarChar(Some(256))),
                    ("is_clustered", SqlType::NVarChar(Some(1))),
                    ("cluster_nodename", SqlType::NVarChar(Some(256))),
                    (
                        "instant_file_initialization_enabled",
                        SqlType::NVarChar(Some(1)),
                    ),
                ],
            );
            let svc = info.service_name();
            let agent_account = if info.instance_name.is_some() {
                format!("NT Service\\SQLAgent${svc}")
            } else {
                "NT Service\\SQLSERVERAGENT".into()
            };
            let base = if info.is_linux() {
                "/opt/mssql/bin".to_string()
            } else {
                format!(
                    "\"C:\\Program Files\\Microsoft SQL Server\\MSSQL{}.{svc}\\MSSQL\\Binn",
                    info.major
                )
            };
            let started = Value::DateTimeOffset(chrono::Utc::now().fixed_offset());
            let mut rows = vec![vec![
                s(&format!("SQL Server ({svc})")),
                Value::Int(2),
                s("Automatic"),
                Value::Int(4),
                s("Running"),
                Value::Int(info.process_id as i64),
                started.clone(),
                s(&info.service_account),
                s(&if info.is_linux() {
                    format!("{base}/sqlservr")
                } else {
                    format!("{base}\\sqlservr.exe\" -s{svc}")
                }),
                s("N"),
                Value::Null,
                s("Y"),
            ]];
            if !info.is_linux() {
                rows.push(vec![
                    s(&format!("SQL Server Agent ({svc})")),
                    Value::Int(3),
                    s("Manual"),
                    Value::Int(1),
                    s("Stopped"),
                    Value::Null,
                    Value::Null,
                    s(&agent_account),
                    s(&format!("{base}\\SQLAGENT.EXE\" -i {svc}")),
                    s("N"),
                    Value::Null,
                    s("N"),
                ]);
            }
            Ok(Table { cols: c, rows })
        }
        "dm_os_host_info" if info.major >= 14 => {
            let c = cols(
                qualifier,
                &[
                    ("host_platform", SqlType::NVarChar(Some(256))),
                    ("host_distribution", SqlType::NVarChar(Some(256))),
                    ("host_release", SqlType::NVarChar(Some(256))),
                    ("host_service_pack_level", SqlType::NVarChar(Some(256))),
                    ("host_sku", SqlType::Int),
                    ("os_language_version", SqlType::Int),
                ],
            );
            let linux = info.is_linux();
            let row = vec![
                s(if linux { "Linux" } else { "Windows" }),
                s(&info.host_distribution),
                s(&info.host_release),
                s(""),
                if linux { Value::Null } else { Value::Int(8) },
                Value::Int(1033),
            ];
            Ok(Table {
                cols: c,
                rows: vec![row],
            })
        }
        "server_principals" => {
            let c = cols(
                qualifier,
                &[
                    ("name", SYSNAME),
                    ("principal_id", SqlType::Int),
                    ("sid", SqlType::VarBinary(Some(85))),
                    ("type", SqlType::Char(1)),
                    ("type_desc", SqlType::NVarChar(Some(60))),
                    ("is_disabled", SqlType::Bit),
                    ("create_date", SqlType::DateTime),
                    ("modify_date", SqlType::DateTime),
                    ("default_database_name", SYSNAME),
                    ("default_language_name", SYSNAME),
                    ("is_fixed_role", SqlType::Bit),
                ],
            );
            let see_all = perms::has_server(st, login, "VIEW ANY DEFINITION")
                || perms::has_server(st, login, "ALTER ANY LOGIN");
            let rows = st
                .logins
                .iter()
                .filter(|l| see_all || l.kind == PrincipalKind::ServerRole || ci_eq(&l.name, login))
                .map(|l| {
                    let (t, d) = match l.kind {
                        PrincipalKind::SqlLogin => ("S", "SQL_LOGIN"),
                        PrincipalKind::WindowsLogin => ("U", "WINDOWS_LOGIN"),
                        PrincipalKind::ServerRole => ("R", "SERVER_ROLE"),
                    };
                    let role = l.kind == PrincipalKind::ServerRole;
                    vec![
                        s(&l.name),
                        Value::Int(l.principal_id as i64),
                        Value::Bytes(l.sid.clone()),
                        s(t),
                        s(d),
                        Value::Bit(l.disabled),
                        dt(l.create_date),
                        dt(l.modify_date),
                        if role {
                            Value::Null
                        } else {
                            s(&l.default_database)
                        },
                        if role { Value::Null } else { s("us_english") },
                        Value::Bit(role && !ci_eq(&l.name, "public")),
                    ]
                })
                .collect();
            Ok(Table { cols: c, rows })
        }
        "server_role_members" => {
            let c = cols(
                qualifier,
                &[
                    ("role_principal_id", SqlType::Int),
                    ("member_principal_id", SqlType::Int),
                ],
            );
            let see_all = perms::has_server(st, login, "VIEW ANY DEFINITION");
            let mut rows = Vec::new();
            for l in st
                .logins
                .iter()
                .filter(|l| see_all || ci_eq(&l.name, login))
            {
                for r in &l.roles {
                    if let Some(role) = st.login(r) {
                        rows.push(vec![
                            Value::Int(role.principal_id as i64),
                            Value::Int(l.principal_id as i64),
                        ]);
                    }
                }
            }
            Ok(Table { cols: c, rows })
        }
        "database_principals" => {
            let db = database(ctx, &dbname)?;
            let c = cols(
                qualifier,
                &[
                    ("name", SYSNAME),
                    ("principal_id", SqlType::Int),
                    ("type", SqlType::Char(1)),
                    ("type_desc", SqlType::NVarChar(Some(60))),
                    ("sid", SqlType::VarBinary(Some(85))),
                ],
            );
            let mut rows = vec![vec![
                s("dbo"),
                Value::Int(1),
                s("S"),
                s("SQL_USER"),
                st.login(&db.owner)
                    .map(|l| Value::Bytes(l.sid.clone()))
                    .unwrap_or(Value::Null),
            ]];
            if perms::can_see_metadata(st, login, db) {
                for u in &db.users {
                    let sid = u
                        .login
                        .as_deref()
                        .and_then(|l| st.login(l))
                        .map(|l| Value::Bytes(l.sid.clone()))
                        .unwrap_or(Value::Null);
                    rows.push(vec![
                        s(&u.name),
                        Value::Int(u.principal_id as i64),
                        s("S"),
                        s("SQL_USER"),
                        sid,
                    ]);
                }
            }
            Ok(Table { cols: c, rows })
        }
        "openkeys" => {
            let c = cols(
                qualifier,
                &[
                    ("database_id", SqlType::Int),
                    ("database_name", SYSNAME),
                    ("key_id", SqlType::Int),
                    ("key_name", SYSNAME),
                    ("key_guid", SqlType::UniqueIdentifier),
                    ("opened_date", SqlType::DateTime),
                    ("status", SqlType::Int),
                ],
            );
            let mut rows = Vec::new();
            for id in ctx.session.open_master_keys.keys() {
                if let Some(d) = st.database_by_id(*id) {
                    let guid = d
                        .master_key
                        .as_ref()
                        .map(|k| Value::Guid(k.guid))
                        .unwrap_or(Value::Null);
                    rows.push(vec![
                        Value::Int(*id as i64),
                        s(&d.name),
                        Value::Int(101),
                        s("##MS_DatabaseMasterKey##"),
                        guid,
                        dt(super::now()),
                        Value::Int(1),
                    ]);
                }
            }
            Ok(Table { cols: c, rows })
        }
        _ => Err(messages::invalid_object(&full).into()),
    }
}

/// A table-valued function.
pub fn function(ctx: &Ctx, parts: &[String], args: &[TV], qualifier: &str) -> Res<Table> {
    let full = parts.join(".");
    let Some((dbname, name)) = split_name(ctx, parts) else {
        return Err(messages::invalid_object(&full).into());
    };
    let st = ctx.st;
    let login = &ctx.session.login;
    match name.to_ascii_lowercase().as_str() {
        "fn_my_permissions" => {
            if args.len() != 2 {
                return Err(Msg::new(216, 16, 1, "Parameters supplied for object 'fn_my_permissions' which is not a function. If the parameters are intended as a table hint, a WITH keyword is required.").into());
            }
            let securable = args[0].v.to_text();
            let class = args[1].v.to_text().unwrap_or_default().to_uppercase();
            let c = cols(
                qualifier,
                &[
                    ("entity_name", SYSNAME),
                    ("subentity_name", SYSNAME),
                    ("permission_name", SqlType::NVarChar(Some(60))),
                ],
            );
            let rows: Vec<Vec<Value>> = match class.as_str() {
                "SERVER" => perms::server_list(st, login).into_iter().map(|p| vec![s("server"), s(""), s(p)]).collect(),
                "DATABASE" => {
                    let dbn = securable.unwrap_or(dbname);
                    let db = st.database(&dbn).ok_or_else(|| super::Fail::from(messages::database_missing(&dbn)))?;
                    perms::database_list(st, login, db).into_iter().map(|p| vec![s("database"), s(""), s(p)]).collect()
                }
                "CERTIFICATE" => {
                    let db = database(ctx, &dbname)?;
                    let n = securable.unwrap_or_default();
                    match db.certificate(&n) {
                        Some(cert) if perms::can_see_metadata(st, login, db) => {
                            let mut v = vec![];
                            for (p, via) in [("CONTROL", "CONTROL"), ("ALTER", "CONTROL"), ("TAKE OWNERSHIP", "CONTROL"), ("REFERENCES", "VIEW DEFINITION"), ("VIEW DEFINITION", "VIEW DEFINITION")] {
                                if perms::has_database(st, login, db, via) {
                                    v.push(vec![s(&cert.name), s(""), s(p)]);
                                }
                            }
                            v
                        }
                        _ => vec![],
                    }
                }
                _ => return Err(Msg::new(15135, 16, 1, format!("Object is invalid. Extended properties are not permitted on '{class}', or the object does not exist.")).into()),
            };
            Ok(Table { cols: c, rows })
        }
        "dm_os_file_exists" if ctx.inst.info.major >= 14 => {
            let path = args.first().and_then(|a| a.v.to_text()).unwrap_or_default();
            let c = cols(
                qualifier,
                &[
                    ("file_exists", SqlType::Bit),
                    ("file_is_a_directory", SqlType::Bit),
                    ("parent_directory_exists", SqlType::Bit),
                ],
            );
            let (f, d, p) = file_exists(ctx, &path);
            Ok(Table {
                cols: c,
                rows: vec![vec![Value::Bit(f), Value::Bit(d), Value::Bit(p)]],
            })
        }
        _ => Err(messages::invalid_object(&full).into()),
    }
}

/// (file exists, is a directory, parent exists) as the service account sees it.
pub fn file_exists(ctx: &Ctx, path: &str) -> (bool, bool, bool) {
    match ctx.inst.fs.resolve(path) {
        Ok(host) => {
            let parent = host.parent().is_some_and(|p| {
                p.is_dir() && p.starts_with(ctx.inst.fs.root()) && p != ctx.inst.fs.root()
            });
            (host.is_file(), host.is_dir(), parent)
        }
        Err(_) => (false, false, false),
    }
}
