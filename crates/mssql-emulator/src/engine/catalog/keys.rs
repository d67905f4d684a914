//! The encryption hierarchy: sys.symmetric_keys, sys.key_encryptions, sys.certificates, sys.openkeys, sys.dm_database_encryption_keys.

use super::*;

/// The catalog views and DMVs of this family.
pub(super) const VIEWS: &[Source] = &[
    Source {
        name: "symmetric_keys",
        since: 0,
        build: symmetric_keys,
    },
    Source {
        name: "key_encryptions",
        since: 0,
        build: key_encryptions,
    },
    Source {
        name: "certificates",
        since: 0,
        build: certificates,
    },
    Source {
        name: "dm_database_encryption_keys",
        since: 0,
        build: dm_database_encryption_keys,
    },
    Source {
        name: "openkeys",
        since: 0,
        build: openkeys,
    },
];

/// The table-valued functions of this family.
pub(super) const FUNCTIONS: &[Source] = &[Source {
    name: "dm_db_log_info",
    since: 13,
    build: dm_db_log_info,
}];

/// sys.dm_db_log_info(database_id): the log's VLFs, with (from SQL Server 2019) the
/// certificate that encrypted each (`assumptions::LOG_KEEPS_OLD_ENCRYPTOR`). One VLF per
/// encryptor of the active log; NULL for the current database.
fn dm_db_log_info(ctx: &Ctx, at: &At) -> Res<Table> {
    need_server_state(ctx)?;
    let info = &ctx.inst.info;
    let mut spec = vec![
        ("database_id", SqlType::Int),
        ("file_id", SqlType::Int),
        ("vlf_begin_offset", SqlType::BigInt),
        ("vlf_size_mb", SqlType::Float),
        ("vlf_sequence_number", SqlType::BigInt),
        ("vlf_active", SqlType::Bit),
        ("vlf_status", SqlType::Int),
    ];
    if info.major >= 15 {
        spec.push(("vlf_encryptor_thumbprint", SqlType::VarBinary(Some(20))));
    }
    let c = cols(at.qualifier, &spec);
    let id = at.args.first().map(|a| &a.v);
    let db = match id {
        None | Some(Value::Null) => ctx.st.database(&ctx.session.database),
        Some(v) => v
            .to_text()
            .and_then(|t| t.parse::<i32>().ok())
            .and_then(|n| ctx.st.database_by_id(n)),
    };
    let mut rows = Vec::new();
    if let Some(d) = db {
        let encryptors: Vec<Option<String>> = match &d.encryption_key {
            Some(k) if !k.log_encryptors.is_empty() => {
                k.log_encryptors.iter().cloned().map(Some).collect()
            }
            _ => vec![None],
        };
        for (i, e) in encryptors.iter().enumerate() {
            let mut r = vec![
                Value::Int(d.database_id as i64),
                Value::Int(2),
                Value::Int(8192 + (i as i64) * 8 * 1024 * 1024),
                Value::Float(8.0),
                Value::Int(40 + i as i64),
                Value::Bit(true),
                Value::Int(2),
            ];
            if info.major >= 15 {
                r.push(
                    e.as_ref()
                        .and_then(|h| hex::decode(h).ok())
                        .map(Value::Bytes)
                        .unwrap_or(Value::Null),
                );
            }
            rows.push(r);
        }
    }
    Ok(Table { cols: c, rows })
}

fn symmetric_keys(ctx: &Ctx, at: &At) -> Res<Table> {
    let st = ctx.st;
    let login = &ctx.session.login;
    let dbname = at.dbname.as_str();
    let qualifier = at.qualifier;
    let db = database(ctx, dbname)?;
    let info = &ctx.inst.info;
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
                // Catalog dates are the host's local time (assumptions::CATALOG_DATES_LOCAL).
                dt(info.to_local(created)),
                dt(info.to_local(modified)),
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
        for k in &db.symmetric_keys {
            let mut r = row(
                &k.name,
                k.symmetric_key_id as i64,
                k.create_date,
                k.create_date,
                k.guid,
            );
            r[3] = Value::Int(k.key_length as i64);
            r[4] = s(match k.key_length {
                128 => "A1",
                192 => "A2",
                _ => "A3",
            });
            r[5] = s(&k.algorithm);
            rows.push(r);
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

fn key_encryptions(ctx: &Ctx, at: &At) -> Res<Table> {
    let st = ctx.st;
    let login = &ctx.session.login;
    let info = &ctx.inst.info;
    let dbname = at.dbname.as_str();
    let qualifier = at.qualifier;
    let db = database(ctx, dbname)?;
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
    if perms::can_see_metadata(st, login, db) {
        for k in &db.symmetric_keys {
            for e in &k.encryptions {
                rows.push(vec![
                    Value::Int(k.symmetric_key_id as i64),
                    match &e.thumbprint {
                        Some(t) => Value::Bytes(t.clone()),
                        None => Value::Null,
                    },
                    s(&e.crypt_type),
                    s(&e.crypt_type_desc),
                    Value::Bytes(e.sealed.ciphertext.clone()),
                ]);
            }
        }
    }
    Ok(Table { cols: c, rows })
}

fn certificates(ctx: &Ctx, at: &At) -> Res<Table> {
    let st = ctx.st;
    let login = &ctx.session.login;
    let dbname = at.dbname.as_str();
    let qualifier = at.qualifier;
    let db = database(ctx, dbname)?;
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
    {
        for cert in db
            .certificates
            .iter()
            .filter(|c| perms::can_see_certificate(st, login, db, &c.name))
        {
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
                opt_dt(
                    cert.pvt_key_last_backup_date
                        .map(|d| ctx.inst.info.to_local(d)),
                ),
                Value::Int(cert.key_length as i64),
            ]);
        }
    }
    Ok(Table { cols: c, rows })
}

fn dm_database_encryption_keys(ctx: &Ctx, at: &At) -> Res<Table> {
    let st = ctx.st;
    let info = &ctx.inst.info;
    let qualifier = at.qualifier;
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

fn openkeys(ctx: &Ctx, at: &At) -> Res<Table> {
    let st = ctx.st;
    let qualifier = at.qualifier;
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
                dt(crate::engine::now()),
                Value::Int(1),
            ]);
        }
    }
    Ok(Table { cols: c, rows })
}
