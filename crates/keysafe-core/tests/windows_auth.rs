//! Windows Authentication against the emulator's NTLM acceptor, over real TCP and TLS:
//! as another account (DOMAIN\user and its password, NTLMv2 from Keysafe's Windows build)
//! and as the current user (SSPI). These run for real in the Windows lane (under Wine);
//! elsewhere they check that Keysafe says clearly that it cannot.

use keysafe_core::connection::{connect, Authentication, ConnectOptions, ServerAddress, Trust};
use keysafe_core::{ErrorCode, Password};
use mssql_emulator::{Emulator, EmulatorConfig, Scenario};
use std::time::Duration;

const DEMO: &str = mssql_emulator::scenarios::DEMO;

async fn demo() -> (tempfile::TempDir, Emulator) {
    let dir = tempfile::tempdir().unwrap();
    let emu = Emulator::start(
        EmulatorConfig::new(dir.path()).scenario(Scenario::from_toml(DEMO).unwrap()),
    )
    .await
    .unwrap();
    (dir, emu)
}

fn options(emu: &Emulator, authentication: Authentication) -> ConnectOptions {
    let server: ServerAddress = format!("localhost,{}", emu.addr().port()).parse().unwrap();
    ConnectOptions {
        server,
        authentication,
        encrypt: keysafe_test_support::encrypt(),
        trust: Trust::CaFile(emu.cert_pem_path().unwrap().to_path_buf()),
        host_name_in_certificate: None,
        connect_timeout: Duration::from_secs(20),
        database: None,
    }
}

#[test]
fn a_login_with_a_domain_is_a_windows_account() {
    let a = Authentication::with_password(r"CONTOSO\dba", Password::new("x"));
    assert!(matches!(a, Authentication::WindowsAs { ref user, .. } if user == r"CONTOSO\dba"));
    let s = Authentication::with_password("ops", Password::new("x"));
    assert!(matches!(s, Authentication::SqlServer { ref login, .. } if login == "ops"));
}

#[tokio::test]
async fn windows_authentication_as_another_account_logs_in_over_ntlm() {
    let (_d, emu) = demo().await;
    let o = options(
        &emu,
        Authentication::with_password(r"CONTOSO\dba", Password::new("Dba!Windows#Pass1")),
    );
    let r = connect(&o).await;
    if cfg!(windows) {
        let mut c = r.expect("NTLMv2 login as CONTOSO\\dba");
        let who = c.rows("SELECT SUSER_SNAME()").await.unwrap();
        assert_eq!(who[0].get::<&str, _>(0), Some(r"CONTOSO\dba"));
    } else {
        let e = r.err().expect("NTLM needs Keysafe's Windows build");
        assert_eq!(e.code, ErrorCode::Unsupported);
        assert!(
            e.message.contains(r"CONTOSO\dba") && e.message.contains("Windows only"),
            "{e}"
        );
    }
}

#[cfg(windows)]
#[tokio::test]
async fn a_wrong_windows_password_is_explained_as_windows_refusing_the_account() {
    let (_d, emu) = demo().await;
    for (user, pw) in [
        (r"CONTOSO\dba", "Wrong!Pass#123"),
        (r"CONTOSO\nobody", "Dba!Windows#Pass1"),
    ] {
        let o = options(&emu, Authentication::with_password(user, Password::new(pw)));
        let e = connect(&o).await.err().expect("refused");
        assert_eq!(e.code, ErrorCode::LoginFailed, "{e}");
        assert_eq!(e.server.as_ref().map(|m| m.number), Some(18452), "{e}");
        assert!(e.message.contains("Windows did not accept"), "{e}");
    }
}

/// SSPI as the user Keysafe runs as. Wine's NTLM provider needs Samba's `ntlm_auth`, which
/// the Windows lane does not install: there the attempt must fail with a clear error rather
/// than hang or log in as someone else. On Windows proper the account is whoever runs the
/// test, which the emulated domain does not know: 18452 again.
#[cfg(windows)]
#[tokio::test]
async fn windows_authentication_as_the_current_user_fails_clearly_where_it_cannot_work() {
    let (_d, emu) = demo().await;
    let e = connect(&options(&emu, Authentication::Windows))
        .await
        .err()
        .expect("the current Windows user is not an account of the emulated domain");
    assert!(
        matches!(e.code, ErrorCode::LoginFailed | ErrorCode::Unsupported),
        "{e:?}"
    );
    assert!(!e.message.is_empty() && e.next_step.is_some(), "{e:?}");
}

/// A DBA who is not an administrator of the SQL Server host, connected with Windows
/// Authentication: SQL Server reads the backups as CONTOSO\ops. Into a folder with the DACL
/// Keysafe applies (which gives the operator read access) the SMK and a DMK are backed up and
/// verified; into the default backup folder, whose DACL (setup's) leaves the operator out,
/// the backup is written but the read-back is refused (4861, error 5) and nothing is verified.
#[cfg(windows)]
#[tokio::test]
async fn a_windows_login_reads_back_only_where_the_folder_lets_its_account_read() {
    use keysafe_core::run::{self, RunSettings, Selection};
    let scenario = DEMO.replacen(
        "folders = ['c:\\temp_backups\\keys']",
        "folders = ['c:\\temp_backups\\keys', 'C:\\Keysafe']",
        1,
    ) + r#"
[[logins]]
name = 'CONTOSO\ops'
windows = true
password = "Ops!Windows#Pass1"
grant = ["CONTROL SERVER", "VIEW SERVER STATE", "ADMINISTER BULK OPERATIONS"]
"#;
    let dir = tempfile::tempdir().unwrap();
    let emu = keysafe_test_support::emulator(dir.path(), &scenario).await;
    let o = options(
        &emu,
        Authentication::with_password(r"CONTOSO\ops", Password::new("Ops!Windows#Pass1")),
    );
    let mut c = connect(&o).await.expect("NTLMv2 login as CONTOSO\\ops");
    let inv = keysafe_core::inventory::inventory(&mut c).await.unwrap();
    assert!(inv.server.windows_login);
    assert_eq!(
        inv.server.read_back.verdict,
        keysafe_core::inventory::ReadBackVerdict::Conditional
    );
    let sid = inv.server.login_sid.clone().expect("the account's SID");
    // What Keysafe would apply, applied on the emulated host (Wine keeps no DACL).
    let sddl = run::intended_folder_sddl(&inv, &[]).unwrap();
    assert!(sddl.contains(&format!("(A;OICI;FR;;;{sid})")), "{sddl}");
    emu.instance().set_sddl(r"C:\Keysafe", &sddl).unwrap();
    assert!(emu
        .instance()
        .readers_of(r"C:\Keysafe\x.key", false)
        .contains(&sid));
    let secrets = keysafe_core::backup::Secrets::new(Password::new("Windows!Backup#2026"));
    let settings = |server_dir: Option<&str>| RunSettings {
        selection: Selection::Keys(vec![
            keysafe_core::backup::KeyRef::ServiceMasterKey,
            keysafe_core::backup::KeyRef::DatabaseMasterKey {
                database: "HR".into(),
            },
            keysafe_core::backup::KeyRef::Certificate {
                database: "master".into(),
                name: "TDE_Payroll".into(),
            },
        ]),
        backup: keysafe_core::backup::BackupOptions {
            server_dir: server_dir.map(str::to_string),
            copy_to: dir.path().join("medium"),
            format: None,
        },
        verify_restore: true,
        server_dir_local: None,
        acl_principals: vec![],
    };
    let r = run::back_up_instance(&o, &settings(Some(r"C:\Keysafe")), &secrets, &|_| {}).await;
    assert!(r.error.is_none(), "{:?}", r.error);
    // The folder's DACL is applied through the Windows API and read back. Wine keeps no
    // DACL: there the read-back is the failure it is (the run is not all verified), and the
    // keys themselves still are.
    if keysafe_core::windows::under_wine() {
        assert!(
            r.folder_protection_failed && r.folder_protection.starts_with("ACL not verified"),
            "folder protection: {}",
            r.folder_protection
        );
        assert!(!r.all_verified());
    } else {
        assert!(
            !r.folder_protection_failed,
            "folder protection: {}",
            r.folder_protection
        );
        assert!(r.all_verified(), "{:?}", r.keys);
    }
    assert!(
        r.keys
            .iter()
            .all(|k| k.outcome == keysafe_core::backup::Outcome::Verified),
        "{:?}",
        r.keys
    );
    assert_eq!(r.keys.len(), 3);
    // The certificate came over the connection (its backup files would be the service
    // account's alone), and its restore was proven from the copies on the medium.
    let cert = &r.keys[2];
    assert!(cert
        .files
        .iter()
        .all(|f| f.read_path == keysafe_core::backup::ReadPath::Export && f.verified));
    assert_eq!(cert.files.len(), 2);
    assert!(
        matches!(
            cert.restore_check,
            Some(keysafe_core::restore_check::RestoreCheck::Proven { .. })
        ),
        "{:?}",
        cert.restore_check
    );
    // The report names the operator's account among those who may read the folder.
    assert!(
        r.folder_protection.contains(&sid),
        "{}",
        r.folder_protection
    );
    // The default folder: written, not readable by CONTOSO\ops, so not verified.
    let r = run::back_up_instance(&o, &settings(None), &secrets, &|_| {}).await;
    assert!(!r.all_verified());
    let e = r.keys[0].error.as_ref().expect("the read-back is refused");
    assert_eq!(
        r.keys[2].outcome,
        keysafe_core::backup::Outcome::Verified,
        "the certificate still travels"
    );
    assert_eq!(e.code, ErrorCode::PermissionDenied, "{e:?}");
    assert_eq!(e.server.as_ref().map(|m| m.number), Some(4861));
    assert!(e
        .next_step
        .as_deref()
        .unwrap()
        .contains("Windows Authentication"));
    assert!(r.keys[..2]
        .iter()
        .all(|k| k.outcome != keysafe_core::backup::Outcome::Verified));
    assert_eq!(
        r.keys[2].outcome,
        keysafe_core::backup::Outcome::Verified,
        "the certificate still travels over the connection"
    );
}
