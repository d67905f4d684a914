//! CREATE and DROP SYMMETRIC KEY: keys that live in a database, protected by certificates or
//! passwords. Keysafe backs up the certificates that protect them; the key's encryptions are
//! what sys.key_encryptions shows, with SQL Server 2025's OAEP-256 crypt types from
//! compatibility level 170 (sys-key-encryptions page).

use super::Out;
use crate::engine::messages::{self, Msg};
use crate::engine::session::Session;
use crate::engine::state::{Database, SymmetricKey, SymmetricKeyEncryption};
use crate::engine::{assumptions, crypto, now, perms, Fail, Instance, Res};
use crate::sql::ast::{self, Statement};
use crate::value::ci_eq;

pub fn run(
    inst: &Instance,
    session: &mut Session,
    stmt: &Statement,
    _out: &mut Out,
) -> Res<Option<u64>> {
    let mut st = inst.state();
    let login = session.login.clone();
    let mut db: Database = st
        .database(&session.database)
        .cloned()
        .ok_or_else(|| Fail::from(messages::database_missing(&session.database)))?;
    match stmt {
        Statement::CreateSymmetricKey {
            name,
            algorithm,
            by,
        } => {
            if !perms::has_database(&st, &login, &db, "CREATE SYMMETRIC KEY")
                && !perms::has_database(&st, &login, &db, "ALTER ANY SYMMETRIC KEY")
            {
                return Err(messages::no_permission().into());
            }
            if db.symmetric_keys.iter().any(|k| ci_eq(&k.name, name)) {
                return Err(Msg::new(15282, 16, 1, format!("A key with name '{name}' already exists or you do not have permission to create it.")).into());
            }
            let key_length = match algorithm.as_str() {
                "AES_128" => 128,
                "AES_192" => 192,
                "AES_256" => 256,
                _ => {
                    let (n, state) = assumptions::SYMMETRIC_ALGORITHM_REFUSED;
                    return Err(Msg::new(n, 16, state, "Either no algorithm has been specified or the bitlength and the algorithm specified for the key are not available in this installation of Windows.").into());
                }
            };
            let material = crypto::random_key();
            // compatibility_level is the version's (major * 10): 170 on SQL Server 2025.
            let oaep = inst.info.major as i32 * 10 >= 170;
            let mut encryptions = Vec::new();
            for e in by {
                encryptions.push(match e {
                    ast::SymmetricKeyEncryption::Certificate(c) => {
                        let cert = db.certificate(c).ok_or_else(|| {
                            Fail::from(messages::cannot_find("find", "certificate", c))
                        })?;
                        let (ty, desc) = if oaep {
                            ("C256", "ENCRYPTION BY CERTIFICATE OAEP256")
                        } else {
                            ("EPUC", "ENCRYPTION BY CERTIFICATE")
                        };
                        SymmetricKeyEncryption {
                            thumbprint: Some(cert.thumbprint.clone()),
                            crypt_type: ty.into(),
                            crypt_type_desc: desc.into(),
                            sealed: crypto::seal(&certificate_key(&cert.der), &material[..]),
                        }
                    }
                    ast::SymmetricKeyEncryption::Password(pw) => {
                        inst.password_policy(pw, None)?;
                        let (ty, desc) = if inst.info.major >= 14 {
                            ("ESP2", "ENCRYPTION BY PASSWORD V2")
                        } else {
                            ("ESKP", "ENCRYPTION BY PASSWORD")
                        };
                        SymmetricKeyEncryption {
                            thumbprint: None,
                            crypt_type: ty.into(),
                            crypt_type_desc: desc.into(),
                            sealed: crypto::seal_with_password(pw, &material[..]),
                        }
                    }
                });
            }
            let id = db.take_id();
            db.symmetric_keys.push(SymmetricKey {
                name: name.clone(),
                symmetric_key_id: id,
                algorithm: algorithm.clone(),
                key_length,
                guid: uuid::Uuid::new_v4(),
                create_date: now(),
                encryptions,
            });
        }
        Statement::DropSymmetricKey(name) => {
            let Some(i) = db.symmetric_keys.iter().position(|k| ci_eq(&k.name, name)) else {
                return Err(messages::cannot_find("drop", "symmetric key", name).into());
            };
            // drop-symmetric-key.md: "Requires CONTROL permission on the symmetric key"
            // (ALTER ANY SYMMETRIC KEY implies ALTER on each key, not CONTROL).
            if !perms::has_object(&st, &login, &db, "SYMMETRIC KEY", name, "CONTROL") {
                return Err(messages::no_permission().into());
            }
            db.symmetric_keys.remove(i);
        }
        _ => unreachable!("not a symmetric key statement"),
    }
    if let Some(d) = st
        .databases
        .iter_mut()
        .find(|d| d.database_id == db.database_id)
    {
        *d = db;
    }
    inst.persist(&st)?;
    Ok(None)
}

/// The key that seals a symmetric key "encrypted by" a certificate: the emulator's
/// certificates are ECDSA, which cannot encrypt, so a key derived from the certificate
/// stands in for RSA (see assumptions::SYMMETRIC_KEY_BY_CERTIFICATE).
fn certificate_key(der: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(der).into()
}
