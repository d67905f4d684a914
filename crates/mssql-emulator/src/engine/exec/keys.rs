//! The service master key and database master keys: back up, restore, regenerate, open,
//! close, create, alter, drop.

use super::Out;
use crate::engine::crypto::{self, BackupKind};
use crate::engine::messages::{self, Msg};
use crate::engine::session::Session;
use crate::engine::state::{Database, InstanceState, KeyProtection, ServiceMasterKey};
use crate::engine::{assumptions, new_master_key, now, perms, Fail, Instance, Res};
use crate::sql::ast::{AlterMasterKey, Statement};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// What a key backup file holds inside its encryption.
#[derive(Serialize, Deserialize)]
struct KeyPayload {
    guid: uuid::Uuid,
    #[serde(with = "crate::engine::crypto::serde_hex")]
    key: Vec<u8>,
    /// Where the key came from (for people reading a decrypted file; never trusted).
    source: String,
}

impl Drop for KeyPayload {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.key.zeroize();
    }
}

fn need_control_server(st: &InstanceState, login: &str) -> Res<()> {
    if perms::has_server(st, login, "CONTROL SERVER") {
        Ok(())
    } else {
        let (n, s) = assumptions::SMK_PERMISSION_ERROR;
        Err(Msg::new(
            n,
            16,
            s,
            "User does not have permission to perform this action.",
        )
        .into())
    }
}

fn need_control_db(st: &InstanceState, login: &str, db: &Database) -> Res<()> {
    if perms::has_database(st, login, db, "CONTROL") {
        Ok(())
    } else if perms::can_see_metadata(st, login, db) {
        Err(messages::no_permission().into())
    } else {
        Err(messages::cannot_find("find", "symmetric key", "##MS_DatabaseMasterKey##").into())
    }
}

fn smk_key(st: &InstanceState) -> Res<[u8; 32]> {
    st.service_master_key
        .as_ref()
        .and_then(|k| k.key.as_slice().try_into().ok())
        .ok_or_else(|| Fail::from(Msg::new(15448, 16, 1, "Encryption by the machine key cannot be added to the service master key because the service master key cannot be decrypted or does not exist.")))
}

/// The database master key, if this session can use it: opened, or auto-opened via the SMK.
pub fn dmk_key(st: &InstanceState, session: &Session, db: &Database) -> Option<Zeroizing<Vec<u8>>> {
    let mk = db.master_key.as_ref()?;
    if let Some(k) = session.open_master_keys.get(&db.database_id) {
        return Some(k.clone());
    }
    let smk: [u8; 32] = st
        .service_master_key
        .as_ref()?
        .key
        .as_slice()
        .try_into()
        .ok()?;
    crypto::open(&smk, mk.by_smk.as_ref()?)
}

/// A 32-byte key, or 15507 when stored key material is not one.
pub(crate) fn key32(k: &[u8]) -> Res<[u8; 32]> {
    k.try_into().map_err(|_| {
        Fail::from(Msg::new(
            15507,
            16,
            1,
            "A key required by this operation appears to be corrupted.",
        ))
    })
}

fn read_key_file(inst: &Instance, path: &str, kind: BackupKind, password: &str) -> Res<KeyPayload> {
    let bytes = inst
        .read_server_file_as_service(path)
        .ok_or_else(|| Fail::from(messages::key_file_invalid()))?;
    let plain = crypto::read_backup(&bytes, kind, password)
        .map_err(|_| Fail::from(messages::key_file_invalid()))?;
    serde_json::from_slice(&plain).map_err(|_| messages::key_file_invalid().into())
}

fn write_key_file(
    inst: &Instance,
    path: &str,
    kind: BackupKind,
    password: &str,
    guid: uuid::Uuid,
    key: &[u8],
) -> Res<()> {
    let payload = KeyPayload {
        guid,
        key: key.to_vec(),
        source: inst.info.server_name(),
    };
    let plain = Zeroizing::new(serde_json::to_vec(&payload).expect("payload serializes"));
    let bytes = crypto::write_backup(kind, password, &plain, inst.backup_kdf_iterations());
    inst.write_server_file(path, &bytes)?;
    Ok(())
}

/// Re-encrypts every database master key's SMK copy from the old SMK to the new one.
fn reencrypt_smk_dependents(
    st: &mut InstanceState,
    old: &[u8; 32],
    new: &[u8; 32],
    force: bool,
    out: &mut Out,
) -> Res<()> {
    let mut replaced = Vec::new();
    for db in &st.databases {
        if let Some(by) = db.master_key.as_ref().and_then(|k| k.by_smk.as_ref()) {
            match crypto::open(old, by) {
                Some(k) => replaced.push((db.database_id, Some(crypto::seal(new, &k)))),
                None if force => {
                    out.info(messages::old_master_key_decrypt_ignored(
                        "master key",
                        &db.name,
                    ));
                    replaced.push((db.database_id, None));
                }
                None => {
                    return Err(
                        messages::old_master_key_decrypt_failed("master key", &db.name).into(),
                    )
                }
            }
        }
    }
    for (id, sealed) in replaced {
        if let Some(db) = st.databases.iter_mut().find(|d| d.database_id == id) {
            if let Some(mk) = db.master_key.as_mut() {
                mk.by_smk = sealed;
            }
        }
    }
    Ok(())
}

/// Re-encrypts the MK-protected certificate private keys of a database.
fn reencrypt_certificates(
    db: &mut Database,
    old: &[u8; 32],
    new: &[u8; 32],
    force: bool,
    out: &mut Out,
) -> Res<()> {
    let mut updates = Vec::new();
    for (i, c) in db.certificates.iter().enumerate() {
        if let Some(pk) = c
            .private_key
            .as_ref()
            .filter(|k| k.protection == KeyProtection::MasterKey)
        {
            match crypto::open(old, &pk.sealed) {
                Some(k) => updates.push((i, Some(crypto::seal(new, &k)))),
                None if force => {
                    out.info(messages::old_master_key_decrypt_ignored(
                        "certificate",
                        &c.name,
                    ));
                    updates.push((i, None));
                }
                None => {
                    return Err(
                        messages::old_master_key_decrypt_failed("certificate", &c.name).into(),
                    )
                }
            }
        }
    }
    for (i, sealed) in updates {
        match sealed {
            Some(s) => db.certificates[i].private_key.as_mut().unwrap().sealed = s,
            None => db.certificates[i].private_key = None,
        }
    }
    Ok(())
}

pub fn run(
    inst: &Instance,
    session: &mut Session,
    stmt: &Statement,
    out: &mut Out,
) -> Res<Option<u64>> {
    let mut st = inst.state();
    let login = session.login.clone();
    match stmt {
        Statement::BackupServiceMasterKey { file, password } => {
            need_control_server(&st, &login)?;
            inst.password_policy(password, None)?;
            let smk = st
                .service_master_key
                .clone()
                .ok_or_else(|| Fail::from(messages::no_master_key(1)))?;
            write_key_file(
                inst,
                file,
                BackupKind::ServiceMasterKey,
                password,
                smk.guid,
                &smk.key,
            )?;
            Ok(None)
        }
        Statement::RestoreServiceMasterKey {
            file,
            password,
            force,
        } => {
            need_control_server(&st, &login)?;
            let payload = read_key_file(inst, file, BackupKind::ServiceMasterKey, password)?;
            let old = smk_key(&st)?;
            let new = key32(&payload.key)?;
            if old == new {
                out.info(messages::keys_identical());
                return Ok(None);
            }
            reencrypt_smk_dependents(&mut st, &old, &new, *force, out)?;
            let created = st
                .service_master_key
                .as_ref()
                .map(|k| k.create_date)
                .unwrap_or_else(now);
            st.service_master_key = Some(ServiceMasterKey {
                key: new.to_vec(),
                guid: payload.guid,
                create_date: created,
                modify_date: now(),
            });
            inst.persist(&st)?;
            Ok(None)
        }
        Statement::AlterServiceMasterKey { force } => {
            need_control_server(&st, &login)?;
            let old = smk_key(&st)?;
            let new = crypto::random_key();
            reencrypt_smk_dependents(&mut st, &old, &new, *force, out)?;
            if let Some(k) = st.service_master_key.as_mut() {
                k.key = new.to_vec();
                k.guid = uuid::Uuid::new_v4();
                k.modify_date = now();
            }
            inst.persist(&st)?;
            Ok(None)
        }
        _ => {
            let dbname = session.database.clone();
            let db = st
                .database(&dbname)
                .ok_or_else(|| Fail::from(messages::database_missing(&dbname)))?
                .clone();
            // close-master-key.md: "No permissions are required."
            if !matches!(stmt, Statement::CloseMasterKey) {
                need_control_db(&st, &login, &db)?;
            }
            database_master_key(inst, &mut st, session, db, stmt, out)
        }
    }
}

fn database_master_key(
    inst: &Instance,
    st: &mut InstanceState,
    session: &mut Session,
    db: Database,
    stmt: &Statement,
    out: &mut Out,
) -> Res<Option<u64>> {
    let id = db.database_id;
    let save = |st: &mut InstanceState, db: Database| -> Res<()> {
        if let Some(d) = st.databases.iter_mut().find(|d| d.database_id == id) {
            *d = db;
        }
        inst.persist(st)
    };
    match stmt {
        Statement::CreateMasterKey { password } => {
            if db.master_key.is_some() {
                return Err(messages::master_key_exists().into());
            }
            if db.database_id == 2 {
                return Err(Msg::new(
                    15276,
                    16,
                    1,
                    "Cannot provision master key passwords for system databases.",
                )
                .into());
            }
            let Some(password) = password else {
                return Err(Msg::new(102, 15, 1, "Incorrect syntax near 'KEY'.").into());
            };
            inst.password_policy(password, None)?;
            let smk = smk_key(st)?;
            let (mk, _) = new_master_key(Some(&smk), password);
            let mut db = db;
            db.master_key = Some(mk);
            save(st, db)?;
            Ok(None)
        }
        Statement::OpenMasterKey { password } => {
            let mk = db.master_key.as_ref().ok_or_else(|| {
                Fail::from(messages::no_master_key(assumptions::DMK_MISSING_STATE))
            })?;
            let key = mk
                .by_passwords
                .iter()
                .find_map(|s| crypto::open_with_password(password, s))
                .ok_or_else(|| Fail::from(messages::wrong_decryptor()))?;
            session.open_master_keys.insert(id, key);
            Ok(None)
        }
        Statement::CloseMasterKey => {
            // Closing a key this session did not open does nothing
            // (assumptions::CLOSE_UNOPENED_MASTER_KEY).
            session.open_master_keys.remove(&id);
            Ok(None)
        }
        Statement::BackupMasterKey { file, password } => {
            let mk = db.master_key.as_ref().ok_or_else(|| {
                Fail::from(messages::no_master_key(assumptions::DMK_MISSING_STATE))
            })?;
            let key = dmk_key(st, session, &db).ok_or_else(|| {
                Fail::from(messages::no_master_key(assumptions::DMK_NOT_OPEN_STATE))
            })?;
            inst.password_policy(password, None)?;
            write_key_file(
                inst,
                file,
                BackupKind::DatabaseMasterKey,
                password,
                mk.guid,
                &key,
            )?;
            Ok(None)
        }
        Statement::RestoreMasterKey {
            file,
            decryption,
            encryption,
            force,
        } => {
            let payload = read_key_file(inst, file, BackupKind::DatabaseMasterKey, decryption)?;
            inst.password_policy(encryption, None)?;
            let new = key32(&payload.key)?;
            let mut db = db;
            let Some(mk) = db.master_key.clone() else {
                // No master key yet: the restored one is created, protected by the password only.
                db.master_key = Some(crate::engine::state::DatabaseMasterKey {
                    guid: payload.guid,
                    create_date: now(),
                    modify_date: now(),
                    by_smk: None,
                    by_passwords: vec![crypto::seal_with_password(encryption, &new)],
                });
                save(st, db)?;
                return Ok(None);
            };
            let current = dmk_key(st, session, &db);
            let old = match current {
                Some(k) => Some(key32(&k)?),
                None if *force => None,
                None => return Err(messages::master_key_not_decryptable().into()),
            };
            if old == Some(new) {
                out.info(messages::keys_identical());
                return Ok(None);
            }
            match old {
                Some(o) => reencrypt_certificates(&mut db, &o, &new, *force, out)?,
                None => reencrypt_certificates(&mut db, &[0u8; 32], &new, true, out)?,
            }
            let by_smk = match mk.by_smk {
                Some(_) => Some(crypto::seal(&smk_key(st)?, &new)),
                None => None,
            };
            db.master_key = Some(crate::engine::state::DatabaseMasterKey {
                guid: payload.guid,
                create_date: mk.create_date,
                modify_date: now(),
                by_smk,
                by_passwords: vec![crypto::seal_with_password(encryption, &new)],
            });
            if session.open_master_keys.contains_key(&id) {
                session
                    .open_master_keys
                    .insert(id, Zeroizing::new(new.to_vec()));
            }
            save(st, db)?;
            Ok(None)
        }
        Statement::AlterMasterKey(action) => {
            let mut db = db;
            let Some(mut mk) = db.master_key.clone() else {
                return Err(messages::no_master_key(assumptions::DMK_MISSING_STATE).into());
            };
            let key = || {
                dmk_key(st, session, &db).ok_or_else(|| {
                    Fail::from(messages::no_master_key(assumptions::DMK_NOT_OPEN_STATE))
                })
            };
            match action {
                AlterMasterKey::AddServiceMasterKey => {
                    let k = key()?;
                    mk.by_smk = Some(crypto::seal(&smk_key(st)?, &k));
                }
                AlterMasterKey::DropServiceMasterKey => {
                    if mk.by_smk.is_none() {
                        return Err(messages::wrong_decryptor().into());
                    }
                    if mk.by_passwords.is_empty() {
                        return Err(messages::last_encryption().into());
                    }
                    mk.by_smk = None;
                }
                AlterMasterKey::AddPassword(p) => {
                    let k = key()?;
                    inst.password_policy(p, None)?;
                    mk.by_passwords.push(crypto::seal_with_password(p, &k));
                }
                AlterMasterKey::DropPassword(p) => {
                    let i = mk
                        .by_passwords
                        .iter()
                        .position(|s| crypto::open_with_password(p, s).is_some())
                        .ok_or_else(|| Fail::from(messages::wrong_decryptor()))?;
                    if mk.by_passwords.len() == 1 && mk.by_smk.is_none() {
                        return Err(messages::last_encryption().into());
                    }
                    mk.by_passwords.remove(i);
                }
                AlterMasterKey::Regenerate { password, force } => {
                    inst.password_policy(password, None)?;
                    let old = match key() {
                        Ok(k) => Some(key32(&k)?),
                        Err(_) if *force => None,
                        Err(_) => return Err(messages::master_key_not_decryptable().into()),
                    };
                    let new = crypto::random_key();
                    reencrypt_certificates(
                        &mut db,
                        &old.unwrap_or([0u8; 32]),
                        &new,
                        old.is_none() || *force,
                        out,
                    )?;
                    if mk.by_smk.is_some() {
                        mk.by_smk = Some(crypto::seal(&smk_key(st)?, new.as_ref()));
                    }
                    mk.by_passwords = vec![crypto::seal_with_password(password, new.as_ref())];
                    mk.guid = uuid::Uuid::new_v4();
                    if session.open_master_keys.contains_key(&id) {
                        session
                            .open_master_keys
                            .insert(id, Zeroizing::new(new.to_vec()));
                    }
                }
            }
            mk.modify_date = now();
            db.master_key = Some(mk);
            save(st, db)?;
            Ok(None)
        }
        Statement::DropMasterKey => {
            if db.master_key.is_none() {
                return Err(messages::cannot_find(
                    "drop",
                    "symmetric key",
                    "##MS_DatabaseMasterKey##",
                )
                .into());
            }
            if let Some(c) = db.certificates.iter().find(|c| {
                c.private_key
                    .as_ref()
                    .is_some_and(|k| k.protection == KeyProtection::MasterKey)
            }) {
                return Err(messages::cannot_drop_master_key(&c.name).into());
            }
            let mut db = db;
            db.master_key = None;
            session.open_master_keys.remove(&id);
            save(st, db)?;
            Ok(None)
        }
        _ => unreachable!("not a master key statement"),
    }
}
