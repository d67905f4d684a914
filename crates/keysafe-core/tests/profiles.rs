//! Saved profiles against the real OS keyring (a headless gnome-keyring under
//! `scripts/with-keyring.sh` in CI): the password is only in the keyring.

use keysafe_core::connection::Trust;
use keysafe_core::profiles::{OsKeyring, Profile, Profiles, SecretStore};
use keysafe_core::Password;
use mssql_emulator::{Emulator, EmulatorConfig, DEFAULT_SA_PASSWORD};

#[tokio::test]
async fn a_remembered_password_lives_in_the_keyring_only() {
    let dir = tempfile::tempdir().unwrap();
    let emu = Emulator::start(EmulatorConfig::new(dir.path().join("srv")))
        .await
        .unwrap();
    let home = dir.path().join("home");
    let name = format!("Prod-{}", std::process::id());
    let profile = Profile {
        name: name.clone(),
        server: format!("localhost,{}", emu.addr().port()),
        login: Some("sa".into()),
        encrypt: keysafe_test_support::encrypt(),
        trust: Trust::CaFile(emu.cert_pem_path().unwrap().to_path_buf()),
        host_name_in_certificate: None,
        connect_timeout_secs: 10,
        folder: "Production".into(),
        color: Some("#C0392B".into()),
        remember_password: true,
    };
    let mut p = Profiles::load(&home).unwrap();
    p.upsert(
        profile.clone(),
        Some(&Password::new(DEFAULT_SA_PASSWORD)),
        &OsKeyring,
    )
    .unwrap();
    let file = std::fs::read_to_string(home.join("profiles.json")).unwrap();
    assert!(
        file.contains(&name) && !file.contains(DEFAULT_SA_PASSWORD),
        "the profile file holds no password"
    );
    assert!(!p.export().contains(DEFAULT_SA_PASSWORD));

    // A fresh read, as after a restart: the password comes from the keyring.
    let again = Profiles::load(&home).unwrap();
    let o = again
        .get(&name)
        .unwrap()
        .connect_options(&OsKeyring, None)
        .unwrap();
    let mut c = keysafe_core::connection::connect(&o).await.unwrap();
    assert_eq!(
        c.rows("SELECT 1").await.unwrap()[0].get::<i32, _>(0),
        Some(1)
    );

    let mut again = again;
    assert!(again.remove(&name, &OsKeyring).unwrap());
    assert!(
        OsKeyring.get(&profile.account()).unwrap().is_none(),
        "removing the profile removes its secret"
    );
    assert_eq!(again.get(&name), None);
}

#[test]
fn two_profiles_never_share_a_keyring_entry_and_a_new_server_gets_none() {
    let p = |name: &str, login: &str, server: &str| Profile {
        name: name.into(),
        server: server.into(),
        login: Some(login.into()),
        encrypt: Default::default(),
        trust: Trust::PlatformStore,
        host_name_in_certificate: None,
        connect_timeout_secs: 30,
        folder: String::new(),
        color: None,
        remember_password: true,
    };
    // "a/b" + "c" and "a" + "b/c" were one entry ("a/b/c").
    assert_ne!(
        p("a/b", "c", "sql01").account(),
        p("a", "b/c", "sql01").account()
    );
    assert_ne!(
        p("a:1", "b", "sql01").account(),
        p("a", "1:b", "sql01").account()
    );
    // The same profile pointed at another server: another entry, so no password follows it.
    assert_ne!(
        p("Prod", "ops", "sql01").account(),
        p("Prod", "ops", "sql02").account()
    );
    assert_eq!(
        p("Prod", "ops", "SQL01 ").account(),
        p("Prod", "ops", "sql01").account()
    );
}
