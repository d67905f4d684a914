//! SQL Server 2025 (17.x) at compatibility level 170: symmetric keys encrypted by a
//! certificate with RSA-OAEP-256 (crypt_type C256), seeded through T-SQL, inventoried and
//! their certificate backed up; the same statements on 2022 give the older EPUC.

use keysafe_core::backup::{self, BackupOptions, KeyRef, Outcome, Secrets};
use keysafe_core::connection::connect;
use keysafe_core::inventory::{self, Severity};
use keysafe_core::key_encryption::KeyEncryption;

const SEED: &str = "USE master;
IF NOT EXISTS (SELECT 1 FROM sys.symmetric_keys WHERE name = N'##MS_DatabaseMasterKey##') CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Master!Key#2025';
CREATE CERTIFICATE CardCert WITH SUBJECT = 'Card numbers';
CREATE SYMMETRIC KEY CardKey WITH ALGORITHM = AES_256 ENCRYPTION BY CERTIFICATE CardCert, PASSWORD = 'Card!Key#Pass1';";

async fn inventory_of(
    version: u16,
) -> (
    tempfile::TempDir,
    mssql_emulator::Emulator,
    inventory::Inventory,
) {
    let dir = tempfile::tempdir().unwrap();
    let emu = keysafe_test_support::emulator(
        dir.path(),
        &format!("[server]\nmachine_name = \"SQL{version}\"\nversion = {version}\n"),
    )
    .await;
    emu.instance()
        .run_as("sa", SEED)
        .unwrap_or_else(|e| panic!("the seed: {e:?}"));
    let mut c = connect(&keysafe_test_support::sql_options(
        &emu,
        "sa",
        mssql_emulator::DEFAULT_SA_PASSWORD,
    ))
    .await
    .unwrap();
    let inv = inventory::inventory(&mut c).await.unwrap();
    (dir, emu, inv)
}

#[tokio::test]
async fn a_2025_instance_with_oaep_key_encryptions_is_inventoried_and_backed_up() {
    let (dir, emu, inv) = inventory_of(2025).await;
    assert_eq!(inv.server.major_version, 17);
    let master = inv.databases.iter().find(|d| d.name == "master").unwrap();
    let key = master
        .symmetric_keys
        .iter()
        .find(|k| k.name == "CardKey")
        .expect("the symmetric key is listed");
    assert_eq!(key.algorithm, "AES_256");
    let kinds: Vec<&KeyEncryption> = key.encryptions.iter().map(|e| &e.by).collect();
    assert!(
        kinds.contains(&&KeyEncryption::CertificateOaep256),
        "{kinds:?}"
    );
    assert!(kinds.contains(&&KeyEncryption::Password), "{kinds:?}");
    let cert = master
        .certificates
        .iter()
        .find(|c| c.name == "CardCert")
        .unwrap();
    assert_eq!(cert.protects, vec!["CardKey".to_string()]);
    assert!(
        inv.risks.iter().any(|r| r.object == "master.CardCert"
            && r.severity == Severity::Warning
            && r.text.contains("symmetric key CardKey")),
        "{:?}",
        inv.risks
    );
    // Its certificate backs up like any other, and the risk goes.
    let medium = dir.path().join("medium");
    std::fs::create_dir_all(&medium).unwrap();
    let mut c = connect(&keysafe_test_support::sql_options(
        &emu,
        "sa",
        mssql_emulator::DEFAULT_SA_PASSWORD,
    ))
    .await
    .unwrap();
    let plan = backup::plan(
        &inv,
        &[KeyRef::Certificate {
            database: "master".into(),
            name: "CardCert".into(),
        }],
        &BackupOptions {
            server_dir: None,
            copy_to: medium.clone(),
            format: None,
        },
        chrono::Utc::now(),
    )
    .unwrap();
    let secrets = Secrets::new(keysafe_core::password::generate(24));
    backup::ensure_server_dir(&mut c, &backup::default_server_dir(&inv).unwrap())
        .await
        .unwrap();
    let r = backup::run_one(&mut c, &plan[0], &secrets, &medium).await;
    assert_eq!(r.outcome, Outcome::Verified, "{:?}", r.error);
    let after = inventory::inventory(&mut c).await.unwrap();
    assert!(
        !after.risks.iter().any(|r| r.object == "master.CardCert"),
        "{:?}",
        after.risks
    );
}

#[tokio::test]
async fn before_2025_the_same_key_is_encrypted_with_pkcs1() {
    let (_dir, _emu, inv) = inventory_of(2022).await;
    let master = inv.databases.iter().find(|d| d.name == "master").unwrap();
    let key = master
        .symmetric_keys
        .iter()
        .find(|k| k.name == "CardKey")
        .unwrap();
    assert!(key
        .encryptions
        .iter()
        .any(|e| e.by == KeyEncryption::Certificate));
    assert_eq!(
        master
            .certificates
            .iter()
            .find(|c| c.name == "CardCert")
            .unwrap()
            .protects,
        vec!["CardKey".to_string()]
    );
}
