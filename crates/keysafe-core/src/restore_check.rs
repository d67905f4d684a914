//! The opt-in restorability check: a database master key restored into a scratch database
//! where it must decrypt a certificate's private key re-encrypted with it (and its GUID is
//! compared), a certificate re-created from its backup in a scratch database (its thumbprint
//! compared). The service master key is never restored on its own instance:
//! RESTORE SERVICE MASTER KEY of a different key would replace the live one.

use crate::backup::{KeyRef, KeyResult};
use crate::connection::SqlConnection;
use crate::error::Result;
use crate::secret::Password;
use crate::tsql;

pub use crate::backup::RestoreCheck;

fn scratch_name() -> String {
    format!(
        "keysafe_verify_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

async fn with_scratch(c: &mut SqlConnection, body: &str) -> Result<Vec<tiberius::Row>> {
    let db = scratch_name();
    let q = tsql::ident(&db)?;
    c.execute(&format!("CREATE DATABASE {q}")).await?;
    let r = c.batch(&format!("USE {q};\n{body}")).await;
    // Always leave nothing behind.
    let _ = c.execute(&format!("USE master; DROP DATABASE {q}")).await;
    Ok(r?.into_iter().last().unwrap_or_default())
}

pub async fn check(c: &mut SqlConnection, k: &KeyResult, password: &Password) -> RestoreCheck {
    let files: Vec<&str> = k.files.iter().map(|f| f.server_path.as_str()).collect();
    let r: Result<RestoreCheck> = async {
        match &k.key {
            KeyRef::ServiceMasterKey => Ok(RestoreCheck::NotApplicable {
                reason: "The service master key is never restored on the instance it came from; the copy is proven by its SHA-256 only.".into(),
            }),
            KeyRef::DatabaseMasterKey { database } => {
                // The scratch database gets a master key of its own and a certificate under
                // it. RESTORE MASTER KEY then decrypts that certificate's private key with the
                // current key and re-encrypts it with the restored one (restore-master-key
                // docs); closed and reopened by the backup's password, the restored key must
                // give the private key back (CERTPRIVATEKEY), so the file holds a working key
                // its password opens. The GUID comparison says it is the database's key.
                let method = "RESTORE MASTER KEY into a scratch database holding a certificate: the restored key, opened by the backup's password, decrypts the private key SQL Server re-encrypted with it; key GUID compared".to_string();
                let temp = crate::password::generate(32);
                let body = format!(
                    "CREATE MASTER KEY ENCRYPTION BY PASSWORD = {temp};\nCREATE CERTIFICATE [keysafe_probe] WITH SUBJECT = 'Keysafe restore check';\nRESTORE MASTER KEY FROM FILE = {file} DECRYPTION BY PASSWORD = {pw} ENCRYPTION BY PASSWORD = {pw};\nCLOSE MASTER KEY;\nOPEN MASTER KEY DECRYPTION BY PASSWORD = {pw};\nSELECT CASE WHEN CERTPRIVATEKEY(CERT_ID(N'keysafe_probe'), {temp}) IS NULL THEN 0 ELSE 1 END, CASE WHEN k.key_guid = o.key_guid THEN 1 ELSE 0 END FROM sys.symmetric_keys k CROSS JOIN {db}.sys.symmetric_keys o WHERE k.name = N'##MS_DatabaseMasterKey##' AND o.name = N'##MS_DatabaseMasterKey##';\nCLOSE MASTER KEY;",
                    temp = tsql::password_literal(&temp)?,
                    file = tsql::path_literal(files[0])?,
                    pw = tsql::password_literal(password)?,
                    db = tsql::ident(database)?
                );
                let rows = with_scratch(c, &body).await?;
                let row = rows.first();
                Ok(match (row.and_then(|r| r.get::<i32, _>(0)), row.and_then(|r| r.get::<i32, _>(1))) {
                    (Some(1), Some(1)) => RestoreCheck::Proven { method },
                    (Some(1), _) => RestoreCheck::Failed { method, reason: "the restored key works but is not the database's key (its GUID differs)".into() },
                    _ => RestoreCheck::Failed { method, reason: "the restored key does not decrypt what SQL Server encrypted with it".into() },
                })
            }
            KeyRef::Certificate { database, name } => {
                let method = "CREATE CERTIFICATE from the backup in a scratch database, thumbprint compared".to_string();
                let exported = k.files.first().is_some_and(|f| f.read_path == crate::backup::ReadPath::Export);
                let from = if exported {
                    // No server file: the copies on the medium, sent back as binary.
                    let medium = |i: usize| -> Result<String> {
                        let path = k.files.get(i).and_then(|f| f.copy.as_ref()).map(|c| c.path.clone()).ok_or_else(|| {
                            crate::KeysafeError::new(crate::ErrorCode::NotFound, "the exported copy is missing")
                        })?;
                        Ok(format!("0x{}", hex::encode_upper(std::fs::read(path)?)))
                    };
                    format!("FROM BINARY = {} WITH PRIVATE KEY (BINARY = {}, DECRYPTION BY PASSWORD = {})", medium(0)?, medium(1)?, tsql::password_literal(password)?)
                } else if files.len() == 1 {
                    format!("FROM FILE = {} WITH FORMAT = 'PFX', PRIVATE KEY (DECRYPTION BY PASSWORD = {})", tsql::path_literal(files[0])?, tsql::password_literal(password)?)
                } else {
                    format!(
                        "FROM FILE = {} WITH PRIVATE KEY (FILE = {}, DECRYPTION BY PASSWORD = {})",
                        tsql::path_literal(files[0])?,
                        tsql::path_literal(files[1])?,
                        tsql::password_literal(password)?
                    )
                };
                let body = format!(
                    "CREATE MASTER KEY ENCRYPTION BY PASSWORD = {};\nCREATE CERTIFICATE [keysafe_verify] {from};\nSELECT CASE WHEN c.thumbprint = o.thumbprint THEN 1 ELSE 0 END FROM sys.certificates c CROSS JOIN {}.sys.certificates o WHERE c.name = N'keysafe_verify' AND o.name = {}",
                    tsql::password_literal(&crate::password::generate(32))?,
                    tsql::ident(database)?,
                    tsql::literal(name, "the certificate name", 128)?
                );
                let rows = with_scratch(c, &body).await?;
                Ok(match rows.first().and_then(|r| r.get::<i32, _>(0)) {
                    Some(1) => RestoreCheck::Proven { method },
                    _ => RestoreCheck::Failed { method, reason: "the re-created certificate's thumbprint differs".into() },
                })
            }
        }
    }
    .await;
    r.unwrap_or_else(|e| RestoreCheck::Failed {
        method: "restore into a scratch database".into(),
        reason: e.describe(),
    })
}
