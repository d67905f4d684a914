//! Certificates (create, back up, drop) and TDE (database encryption keys, encryption on/off).

use super::keys::{dmk_key, key32};
use super::Out;
use crate::engine::crypto::{self, BackupKind};
use crate::engine::messages::{self, Msg};
use crate::engine::session::Session;
use crate::engine::state::{
    Certificate, Database, DatabaseEncryptionKey, InstanceState, KeyProtection, PrivateKey,
};
use crate::engine::{assumptions, now, perms, Fail, Instance, Res};
use crate::sql::ast::{
    BackupCertificate, CertificateSource, CreateCertificate, PrivateKeyOptions, Statement,
};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

#[derive(Serialize, Deserialize)]
struct PfxPayload {
    #[serde(with = "crate::engine::crypto::serde_hex")]
    certificate: Vec<u8>,
    #[serde(with = "crate::engine::crypto::serde_hex")]
    private_key: Vec<u8>,
}

impl Drop for PfxPayload {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.private_key.zeroize();
    }
}

fn current_db(st: &InstanceState, session: &Session) -> Res<Database> {
    st.database(&session.database)
        .cloned()
        .ok_or_else(|| messages::database_missing(&session.database).into())
}

fn store(inst: &Instance, st: &mut InstanceState, db: Database) -> Res<()> {
    if let Some(d) = st
        .databases
        .iter_mut()
        .find(|d| d.database_id == db.database_id)
    {
        *d = db;
    }
    sync_tempdb_encryption(st);
    inst.persist(st)
}

fn dmk_for_protection(
    st: &InstanceState,
    session: &Session,
    db: &Database,
) -> Res<Zeroizing<Vec<u8>>> {
    if db.master_key.is_none() {
        return Err(messages::no_master_key(assumptions::DMK_MISSING_STATE).into());
    }
    dmk_key(st, session, db)
        .ok_or_else(|| messages::no_master_key(assumptions::DMK_NOT_OPEN_STATE).into())
}

/// The private key in the clear, opened the way its protection requires.
pub(crate) fn private_key(
    st: &InstanceState,
    session: &Session,
    db: &Database,
    cert: &Certificate,
    decryption: Option<&str>,
) -> Res<Zeroizing<Vec<u8>>> {
    let pk = cert
        .private_key
        .as_ref()
        .ok_or_else(|| Fail::from(messages::no_private_key(&cert.name)))?;
    match (pk.protection, decryption) {
        (KeyProtection::MasterKey, Some(_)) => {
            Err(messages::no_decryption_password_expected("certificate").into())
        }
        (KeyProtection::MasterKey, None) => {
            let k = dmk_for_protection(st, session, db)?;
            crypto::open(&key32(&k)?, &pk.sealed).ok_or_else(|| messages::decryption_error().into())
        }
        (KeyProtection::Password, None) => {
            let mut m = messages::decryption_password_needed("certificate");
            m.class = assumptions::PASSWORD_PROTECTED_KEY_NEEDS_DECRYPTION_CLASS;
            Err(m.into())
        }
        (KeyProtection::Password, Some(p)) => crypto::open_with_password(p, &pk.sealed)
            .ok_or_else(|| messages::private_key_password_invalid().into()),
    }
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
        Statement::CreateCertificate(c) => {
            let db = current_db(&st, session)?;
            if !perms::has_database(&st, &login, &db, "CREATE CERTIFICATE") {
                return Err(messages::permission_denied_in_database(
                    "CREATE CERTIFICATE",
                    &db.name,
                )
                .into());
            }
            let mut cert = create_certificate(inst, &st, session, &db, c)?;
            let mut db = db;
            cert.certificate_id = db.take_id();
            if db.certificate(&cert.name).is_some()
                || db
                    .certificates
                    .iter()
                    .any(|x| x.thumbprint == cert.thumbprint)
            {
                return Err(messages::cert_exists(&cert.name).into());
            }
            db.certificates.push(cert);
            store(inst, &mut st, db)?;
            Ok(None)
        }
        Statement::BackupCertificate(b) => {
            let db = current_db(&st, session)?;
            backup_certificate(inst, &mut st, session, db, b)?;
            Ok(None)
        }
        Statement::DropCertificate(name) => {
            let mut db = current_db(&st, session)?;
            let Some(i) = db
                .certificates
                .iter()
                .position(|c| crate::value::ci_eq(&c.name, name))
                .filter(|_| perms::can_see_certificate(&st, &login, &db, name))
            else {
                return Err(messages::cannot_find("drop", "certificate", name).into());
            };
            // drop-certificate.md: "Requires CONTROL permission on the certificate."
            if !perms::has_object(&st, &login, &db, "CERTIFICATE", name, "CONTROL") {
                return Err(messages::no_permission().into());
            }
            let thumb = db.certificates[i].thumbprint.clone();
            // A database encryption key names its certificate in master by thumbprint: a
            // copy of that certificate in another database protects nothing.
            let protects_a_key = db.symmetric_keys.iter().any(|k| {
                k.encryptions
                    .iter()
                    .any(|e| e.thumbprint.as_ref() == Some(&thumb))
            });
            if protects_a_key
                || db.database_id == 1
                    && st.databases.iter().any(|d| {
                        d.encryption_key
                            .as_ref()
                            .is_some_and(|k| k.encryptor_thumbprint == thumb)
                    })
            {
                return Err(messages::certificate_in_use().into());
            }
            db.certificates.remove(i);
            store(inst, &mut st, db)?;
            Ok(None)
        }
        Statement::CreateDatabaseEncryptionKey {
            algorithm,
            certificate,
        } => {
            let mut db = current_db(&st, session)?;
            if db.is_system() {
                return Err(messages::tde_system_database().into());
            }
            if !perms::has_database(&st, &login, &db, "CONTROL") {
                return Err(messages::no_permission().into());
            }
            if db.encryption_key.is_some() {
                return Err(messages::dek_exists().into());
            }
            let cert = tde_certificate(&st, &login, certificate)?;
            let key_length = match algorithm.as_str() {
                "AES_128" => 128,
                "AES_192" => 192,
                "TRIPLE_DES_3KEY" => 192,
                _ => 256,
            };
            let alg = if algorithm.starts_with("AES") {
                "AES"
            } else {
                "TRIPLE_DES_3KEY"
            };
            // One instant: a key never changed has modify_date = create_date.
            let at = now();
            db.encryption_key = Some(DatabaseEncryptionKey {
                algorithm: alg.into(),
                key_length,
                encryptor_thumbprint: cert.thumbprint.clone(),
                encryption_state: 1,
                create_date: at,
                regenerate_date: at,
                modify_date: at,
                set_date: at,
                opened_date: at,
                log_encryptors: vec![],
                changes_since_log_backup: 0,
            });
            if cert.pvt_key_last_backup_date.is_none() {
                out.info(messages::cert_not_backed_up_warning());
            }
            store(inst, &mut st, db)?;
            Ok(None)
        }
        Statement::AlterDatabaseEncryptionKey { certificate } => {
            let mut db = current_db(&st, session)?;
            if !perms::has_database(&st, &login, &db, "CONTROL") {
                return Err(messages::no_permission().into());
            }
            if db.encryption_key.is_none() {
                return Err(messages::no_dek().into());
            }
            let cert = tde_certificate(&st, &login, certificate)?;
            let Some(k) = db.encryption_key.as_mut() else {
                return Err(messages::no_dek().into());
            };
            if k.changes_since_log_backup >= assumptions::DEK_CHANGES_NEED_LOG_BACKUP {
                return Err(messages::dek_change_needs_log_backup(&db.name).into());
            }
            k.changes_since_log_backup += 1;
            // The log written so far stays encrypted by the certificate that encrypted it.
            let old = hex::encode_upper(&k.encryptor_thumbprint);
            if assumptions::LOG_KEEPS_OLD_ENCRYPTOR
                && k.encryption_state != 1
                && !k.log_encryptors.contains(&old)
            {
                k.log_encryptors.push(old);
            }
            k.encryptor_thumbprint = cert.thumbprint.clone();
            let new = hex::encode_upper(&cert.thumbprint);
            if k.encryption_state != 1 && !k.log_encryptors.contains(&new) {
                k.log_encryptors.push(new);
            }
            k.set_date = now();
            k.modify_date = now();
            if cert.pvt_key_last_backup_date.is_none() {
                out.info(messages::cert_not_backed_up_warning());
            }
            store(inst, &mut st, db)?;
            Ok(None)
        }
        Statement::DropDatabaseEncryptionKey => {
            let mut db = current_db(&st, session)?;
            if !perms::has_database(&st, &login, &db, "CONTROL") {
                return Err(messages::no_permission().into());
            }
            let Some(k) = &db.encryption_key else {
                return Err(messages::no_dek().into());
            };
            if k.encryption_state != 1 {
                return Err(Msg::new(33105, 16, 1, "Cannot drop the database encryption key because it is currently in use. Database encryption needs to be turned off to be able to drop the database encryption key.").into());
            }
            db.encryption_key = None;
            store(inst, &mut st, db)?;
            Ok(None)
        }
        Statement::AlterDatabaseEncryption { database, on } => {
            let name = if database.is_empty() {
                session.database.clone()
            } else {
                database.clone()
            };
            // 5011 for both: the caller cannot tell a database it may not alter from none.
            let cannot_alter = || {
                alter_database_failed(Msg::new(5011, 14, 1, format!("User does not have permission to alter database '{name}', the database does not exist, or the database is not in a state that allows access checks.")))
            };
            let Some(mut db) = st.database(&name).cloned() else {
                return Err(cannot_alter());
            };
            if !perms::has_database(&st, &login, &db, "ALTER") {
                return Err(cannot_alter());
            }
            if db.is_system() {
                return Err(alter_database_failed(messages::tde_system_database()));
            }
            let Some(k) = db.encryption_key.as_mut() else {
                return Err(alter_database_failed(Msg::new(
                    33106,
                    16,
                    1,
                    "Cannot change database encryption state because no database encryption key is set.",
                )));
            };
            match (*on, k.encryption_state) {
                (true, 2 | 3) => {
                    return Err(alter_database_failed(Msg::new(
                        33107,
                        16,
                        1,
                        "Cannot enable database encryption because it is already enabled.",
                    )))
                }
                (false, 0 | 1) => {
                    return Err(alter_database_failed(Msg::new(
                        33108,
                        16,
                        1,
                        "Cannot disable database encryption because it is already disabled.",
                    )))
                }
                _ => {}
            }
            // The scan completes at once (assumptions::TDE_SCAN_IS_INSTANT).
            k.encryption_state = if *on { 3 } else { 1 };
            let current = hex::encode_upper(&k.encryptor_thumbprint);
            if *on && !k.log_encryptors.contains(&current) {
                k.log_encryptors.push(current);
            }
            // Applied, not modified (assumptions::DEK_DATES).
            k.set_date = now();
            if !assumptions::DEK_DATES {
                k.modify_date = k.set_date;
            }
            db.is_encrypted = *on;
            store(inst, &mut st, db)?;
            Ok(None)
        }
        _ => unreachable!("not a certificate statement"),
    }
}

fn parse_date(s: &str) -> Res<chrono::NaiveDateTime> {
    crate::value::parse_datetime(s).ok_or_else(|| {
        Msg::new(
            241,
            16,
            1,
            "Conversion failed when converting date and/or time from character string.",
        )
        .into()
    })
}

fn create_certificate(
    inst: &Instance,
    st: &InstanceState,
    session: &Session,
    db: &Database,
    c: &CreateCertificate,
) -> Res<Certificate> {
    let v2024 = inst.info.major >= 16;
    let (der, key): (Vec<u8>, Option<Zeroizing<Vec<u8>>>) = match &c.source {
        CertificateSource::Generate {
            subject,
            start_date,
            expiry_date,
        } => {
            let max = if inst.info.is_linux() { 64 } else { 128 };
            if subject.chars().count() > max {
                return Err(Msg::new(
                    15297,
                    16,
                    1,
                    "The certificate, asymmetric key, or private key data is invalid.",
                )
                .into());
            }
            let start = start_date
                .as_deref()
                .map(parse_date)
                .transpose()?
                .unwrap_or_else(now);
            let expiry = expiry_date
                .as_deref()
                .map(parse_date)
                .transpose()?
                .unwrap_or(start + chrono::Duration::days(assumptions::CERT_DEFAULT_VALIDITY_DAYS));
            let g = crypto::generate_certificate(subject, start, expiry);
            (g.der, Some(g.private_key_pkcs8))
        }
        CertificateSource::File {
            file,
            pfx: true,
            private_key,
        } => {
            let pw = private_key
                .as_ref()
                .and_then(|p| p.decryption_password.as_deref())
                .ok_or_else(|| Fail::from(messages::private_key_password_invalid()))?;
            let bytes = inst
                .read_server_file_as_service(file)
                .ok_or_else(|| Fail::from(messages::cert_file_invalid(v2024)))?;
            let plain = crypto::read_backup(&bytes, BackupKind::Pfx, pw).map_err(|e| match e {
                crypto::BackupError::Format => Fail::from(messages::cert_file_invalid(v2024)),
                crypto::BackupError::Decrypt => {
                    Fail::from(messages::private_key_password_invalid())
                }
            })?;
            let p: PfxPayload = serde_json::from_slice(&plain)
                .map_err(|_| Fail::from(messages::cert_file_invalid(v2024)))?;
            (
                p.certificate.clone(),
                Some(Zeroizing::new(p.private_key.clone())),
            )
        }
        CertificateSource::File {
            file,
            pfx: false,
            private_key,
        } => {
            let der = inst
                .read_server_file_as_service(file)
                .ok_or_else(|| Fail::from(messages::cert_file_invalid(v2024)))?;
            let key = match private_key {
                None => None,
                Some(PrivateKeyOptions {
                    file: Some(kf),
                    decryption_password,
                    ..
                }) => {
                    let bytes = inst
                        .read_server_file_as_service(kf)
                        .ok_or_else(|| Fail::from(messages::cert_file_invalid(v2024)))?;
                    Some(read_private_key(
                        &bytes,
                        decryption_password.as_deref(),
                        v2024,
                    )?)
                }
                Some(_) => return Err(Msg::new(102, 15, 1, "Incorrect syntax near ')'.").into()),
            };
            (der, key)
        }
        CertificateSource::Binary { der, private_key } => {
            let key = match private_key {
                None => None,
                Some(PrivateKeyOptions {
                    binary: Some(bytes),
                    decryption_password,
                    ..
                }) => Some(read_private_key(
                    bytes,
                    decryption_password.as_deref(),
                    v2024,
                )?),
                Some(_) => return Err(Msg::new(102, 15, 1, "Incorrect syntax near ')'.").into()),
            };
            (der.clone(), key)
        }
    };
    let info = crypto::parse_certificate(&der)
        .ok_or_else(|| Fail::from(messages::cert_file_invalid(v2024)))?;
    if let Some(k) = &key {
        if !crypto::key_matches(k, &info.public_key) {
            return Err(messages::private_key_mismatch("certificate").into());
        }
    }
    // Protection: a password if one is given, otherwise the database master key.
    let enc_pw = c.encryption_password.clone().or_else(|| match &c.source {
        CertificateSource::File {
            private_key: Some(p),
            ..
        }
        | CertificateSource::Binary {
            private_key: Some(p),
            ..
        } => p.encryption_password.clone(),
        _ => None,
    });
    let private_key = match key {
        None => None,
        Some(k) => Some(match enc_pw {
            Some(pw) => {
                inst.password_policy(&pw, None)?;
                PrivateKey {
                    protection: KeyProtection::Password,
                    sealed: crypto::seal_with_password(&pw, &k),
                }
            }
            None => {
                let dmk = dmk_for_protection(st, session, db)?;
                PrivateKey {
                    protection: KeyProtection::MasterKey,
                    sealed: crypto::seal(&key32(&dmk)?, &k),
                }
            }
        }),
    };
    Ok(Certificate {
        name: c.name.clone(),
        certificate_id: 0,
        principal_id: 1,
        der,
        subject: info.subject,
        issuer: info.issuer,
        serial: info.serial,
        thumbprint: info.thumbprint,
        start_date: info.start,
        expiry_date: info.expiry,
        private_key,
        pvt_key_last_backup_date: None,
        key_length: assumptions::certificate_key_length(inst.info.major),
    })
}

fn backup_certificate(
    inst: &Instance,
    st: &mut InstanceState,
    session: &Session,
    mut db: Database,
    b: &BackupCertificate,
) -> Res<()> {
    let login = &session.login;
    let idx = db
        .certificates
        .iter()
        .position(|c| crate::value::ci_eq(&c.name, &b.name))
        .filter(|i| perms::can_see_certificate(st, login, &db, &db.certificates[*i].name));
    let Some(idx) = idx else {
        return Err(messages::cannot_find("find", "certificate", &b.name).into());
    };
    let cert = db.certificates[idx].clone();
    let Some(pk) = &b.private_key else {
        if b.pfx {
            return Err(messages::encryption_password_required("certificate").into());
        }
        inst.write_server_file_as(&b.file, &cert.der, cert_acl())?;
        return Ok(());
    };
    // Exporting a private key needs CONTROL on the certificate (BACKUP CERTIFICATE's page).
    if !perms::has_object(st, login, &db, "CERTIFICATE", &cert.name, "CONTROL") {
        return Err(messages::no_permission().into());
    }
    let enc = pk
        .encryption_password
        .as_deref()
        .ok_or_else(|| Fail::from(messages::encryption_password_required("certificate")))?;
    if cert.private_key.is_none() {
        return Err(messages::no_private_key(&cert.name).into());
    }
    inst.password_policy(enc, None)?;
    let key = private_key(st, session, &db, &cert, pk.decryption_password.as_deref())?;
    if b.pfx {
        if pk.file.is_some() {
            return Err(Msg::new(102, 15, 1, "Incorrect syntax near 'FILE'.").into());
        }
        let payload = PfxPayload {
            certificate: cert.der.clone(),
            private_key: key.to_vec(),
        };
        let plain = Zeroizing::new(serde_json::to_vec(&payload).expect("serializes"));
        inst.write_server_file_as(
            &b.file,
            &crypto::write_backup(BackupKind::Pfx, enc, &plain, inst.backup_kdf_iterations()),
            cert_acl(),
        )?;
    } else {
        let kf = pk.file.as_deref().ok_or_else(|| Fail::from(Msg::new(15146, 16, 2, "A private key file must be specified to back up the private key of this certificate.")))?;
        // Neither file is written unless both can be.
        if inst.fs.resolve(kf).map(|p| p.exists()).unwrap_or(false) {
            return Err(messages::cannot_write_file(kf, assumptions::WRITE_EXISTS_STATE).into());
        }
        let cer = inst.write_server_file_as(&b.file, &cert.der, cert_acl())?;
        if let Err(e) = inst.write_server_file_as(
            kf,
            &crypto::write_backup(
                BackupKind::PrivateKey,
                enc,
                &key,
                inst.backup_kdf_iterations(),
            ),
            cert_acl(),
        ) {
            let _ = std::fs::remove_file(cer);
            return Err(e);
        }
    }
    db.certificates[idx].pvt_key_last_backup_date = Some(now());
    store(inst, st, db)
}

/// tempdb is encrypted whenever a user database uses TDE.
pub fn sync_tempdb_encryption(st: &mut InstanceState) {
    let any = st.databases.iter().any(|d| {
        d.database_id > 4
            && d.encryption_key
                .as_ref()
                .is_some_and(|k| k.encryption_state == 3)
    });
    if let Some(t) = st.databases.iter_mut().find(|d| d.database_id == 2) {
        if any && t.encryption_key.is_none() {
            t.encryption_key = Some(DatabaseEncryptionKey {
                algorithm: "AES".into(),
                key_length: 256,
                encryptor_thumbprint: vec![],
                encryption_state: 3,
                create_date: now(),
                regenerate_date: now(),
                modify_date: now(),
                set_date: now(),
                opened_date: now(),
                log_encryptors: vec![],
                changes_since_log_backup: 0,
            });
            t.is_encrypted = true;
        } else if !any {
            t.encryption_key = None;
            t.is_encrypted = false;
        }
    }
}

/// BACKUP CERTIFICATE's files are for the service account only (assumptions).
fn cert_acl() -> crate::engine::FileAcl {
    if assumptions::CERTIFICATE_FILES_SERVICE_ONLY {
        crate::engine::FileAcl::ServiceAccountOnly
    } else {
        crate::engine::FileAcl::Inherited
    }
}

/// A private key as BACKUP CERTIFICATE or CERTPRIVATEKEY wrote it, decrypted by its password:
/// a damaged one is the "invalid certificate file" error, a wrong password 15465.
fn read_private_key(bytes: &[u8], password: Option<&str>, v2024: bool) -> Res<Zeroizing<Vec<u8>>> {
    crypto::read_backup(bytes, BackupKind::PrivateKey, password.unwrap_or("")).map_err(
        |e| match e {
            crypto::BackupError::Format => Fail::from(messages::cert_file_invalid(v2024)),
            crypto::BackupError::Decrypt => Fail::from(messages::private_key_password_invalid()),
        },
    )
}

/// The certificate in master that is to protect a database encryption key (CREATE and ALTER
/// DATABASE ENCRYPTION KEY): it must exist (15151), and its private key must be protected by
/// master's database master key, not by a password (33101).
/// ALTER DATABASE's failures end with 5069 (assumptions::ALTER_DATABASE_FAILED).
fn alter_database_failed(first: Msg) -> Fail {
    let (n, state) = assumptions::ALTER_DATABASE_FAILED;
    Fail(vec![
        first,
        Msg::new(n, 16, state, "ALTER DATABASE statement failed."),
    ])
}

/// The server certificate a database encryption key is to be encrypted by: visible to the
/// caller (create-database-encryption-key.md: "VIEW DEFINITION permission on the certificate")
/// and protected by master's database master key.
fn tde_certificate(st: &InstanceState, login: &str, name: &str) -> Result<Certificate, Fail> {
    let cert = st
        .tde_masters()
        .into_iter()
        .filter(|m| perms::can_see_certificate(st, login, m, name))
        .find_map(|m| m.certificate(name))
        .cloned()
        .ok_or_else(|| Fail::from(messages::cannot_find("find", "certificate", name)))?;
    if cert.private_key.as_ref().map(|k| k.protection) != Some(KeyProtection::MasterKey) {
        return Err(messages::tde_cert_password_protected(name).into());
    }
    Ok(cert)
}
