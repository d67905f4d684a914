//! Keysafe against the server the environment names (else the emulator as a separate process):
//! each self-test check, the `keysafe` binary end to end, and nothing left behind.

use keysafe_conformance::{catalog, workspace_binary, Target};
use keysafe_core::selftest::{self, Status};

/// One self-test check: passed (or, against a real server, skipped with its reason); its
/// outcome.
async fn check(name: &str) -> selftest::CheckOutcome {
    check_on(&Target::from_env(), name).await
}

async fn check_on(t: &Target, name: &str) -> selftest::CheckOutcome {
    let st = t.selftest();
    let before = catalog(&st.target).await;
    let o = selftest::run_check(&st, name).await;
    println!("{} {}: {}", o.status.word(), o.check, o.detail);
    let after = catalog(&st.target).await;
    match o.status {
        Status::Passed => {}
        Status::Skipped if !t.is_emulator() => {}
        _ => panic!(
            "{name}: {:?}: {}{}",
            o.status,
            o.detail,
            if before == after {
                " (and it left nothing behind)"
            } else {
                " (and it left something behind)"
            }
        ),
    }
    assert_eq!(before, after, "{name} left something behind");
    o
}

/// Every key kind backed up, copied and verified; the database master key and the
/// certificate restore-proven, and the service master key (never restored on its own
/// instance) said to be verified by its hash only, in the detail and in the report.
#[tokio::test]
async fn every_key_kind_is_backed_up_copied_and_verified_and_each_restorable_one_restore_proven() {
    let t = Target::from_env();
    let o = check_on(&t, "backup").await;
    if o.status != Status::Passed {
        return;
    }
    assert!(
        o.detail.contains("; 2 restore-proven (")
            && o.detail
                .contains("Service Master Key verified by its SHA-256, not restore-proven"),
        "{}",
        o.detail
    );
    // The report on the medium: what each key's restore check said.
    let medium = t.work.path().join("backup").join("medium");
    let json = std::fs::read_dir(&medium)
        .expect("the medium")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "json"))
        .expect("the run's JSON report on the medium");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).unwrap()).expect("the report as JSON");
    let mut checks: Vec<(String, String)> = report["instances"][0]["keys"]
        .as_array()
        .expect("the report's keys")
        .iter()
        .map(|k| {
            (
                k["key"]["kind"].as_str().unwrap_or("").to_string(),
                k["restore_check"]["result"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect();
    checks.sort();
    assert_eq!(
        checks,
        [
            ("certificate".to_string(), "proven".to_string()),
            ("database_master_key".into(), "proven".into()),
            ("service_master_key".into(), "not_applicable".into()),
        ],
        "{report}"
    );
}

#[tokio::test]
async fn a_certificate_and_a_database_master_key_are_restored_into_scratch_databases() {
    check("restore").await;
}

#[tokio::test]
async fn a_certificate_is_copied_with_its_private_key_and_the_thumbprints_match() {
    check("copy-certificate").await;
}

#[tokio::test]
async fn a_certificate_is_copied_to_a_second_instance_and_the_thumbprints_match() {
    let t = Target::with_second();
    if t.var("KEYSAFE_TEST_SECOND_SERVER").is_none() {
        println!("SKIP: KEYSAFE_TEST_SECOND_SERVER is not set");
        return;
    }
    let second = t.selftest().second.expect("the second instance");
    let before = catalog(&second).await;
    check_on(&t, "copy-certificate").await;
    assert_eq!(
        before,
        catalog(&second).await,
        "the second instance keeps nothing"
    );
}

/// An encrypted backup whose certificate was dropped is lost; a TDE database's backup is
/// judged by its TDE certificate (at risk, covered after Keysafe's backup, lost or copy only
/// once dropped). The emulator is a throw-away instance: the TDE part must run there.
#[tokio::test]
async fn coverage_judges_encrypted_and_tde_backups_by_their_certificates() {
    let t = Target::from_env();
    let o = check_on(&t, "coverage").await;
    if t.is_emulator() {
        for said in [
            "dropped: coverage says LOST: not on the server, no copy",
            "_tde's backup ",
            "before Keysafe's copy coverage says AT RISK: only on the server",
            "after Keysafe backed it up (report ",
            "), Covered; with the database and certificate dropped, LOST: not on the server, no copy (from the backup file",
            "and COPY ONLY: not on the server with Keysafe's copy",
        ] {
            assert!(o.detail.contains(said), "{said:?} not in: {}", o.detail);
        }
    }
}

#[tokio::test]
async fn the_least_privileged_login_succeeds_and_fails_named_without_its_permission() {
    check("least-privilege").await;
}

#[tokio::test]
async fn a_weak_backup_password_is_refused_with_its_rule() {
    check("weak-password").await;
}

#[tokio::test]
async fn a_missing_server_folder_is_refused_with_its_explanation() {
    check("missing-folder").await;
}

/// The shipped binary, as a scheduled task would run it: a database master key backed up,
/// copied and verified; the report on the medium says so; the password never in argv.
#[tokio::test]
async fn the_keysafe_binary_backs_up_a_database_master_key_end_to_end() {
    let t = Target::from_env();
    let st = t.selftest();
    let keysafe = workspace_binary("keysafe-cli", "keysafe");
    let medium = t.work.path().join("medium");
    let out = selftest::with_scratch(&st.target, async |c, s| {
        let db = s.database(c, "cli").await?;
        c.execute(&format!(
            "USE [{db}]; CREATE MASTER KEY ENCRYPTION BY PASSWORD = N'Cli!Master#2026x'; USE master;"
        ))
        .await?;
        let mut cmd = std::process::Command::new(&keysafe);
        cmd.arg("backup")
            .arg("dmk")
            .args(t.keysafe_args())
            .args(["--database", &db, "--password-env", "KS_BACKUP", "--json"])
            .arg("--copy-to")
            .arg(&medium)
            .envs(t.keysafe_env())
            .env("KS_BACKUP", "Conformance!Backup#2026");
        if let Some(d) = &st.server_dir {
            cmd.args(["--server-dir", d]);
        }
        Ok(cmd.output().expect("keysafe runs"))
    })
    .await
    .expect("the scratch database");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("the report as JSON");
    assert_eq!(report["summary"]["keys_verified"], 1, "{report}");
    assert_eq!(report["summary"]["failures"], 0, "{report}");
    let copies: Vec<_> = std::fs::read_dir(&medium)
        .unwrap()
        .flatten()
        .flat_map(|e| {
            std::fs::read_dir(e.path())
                .into_iter()
                .flatten()
                .flatten()
                .map(|f| f.path())
        })
        .filter(|p| p.extension().is_some_and(|x| x == "key"))
        .collect();
    assert_eq!(copies.len(), 1, "{copies:?}");
    assert!(!stderr.contains("Conformance!Backup#2026"));
}

/// A check that fails (or panics) half-way still drops everything it made: the catalog is
/// the same before and after.
#[tokio::test]
async fn nothing_is_left_behind_when_a_check_fails_or_panics() {
    let t = Target::from_env();
    let st = t.selftest();
    let before = catalog(&st.target).await;
    let failing = selftest::with_scratch(&st.target, async |c, s| {
        let db = s.database(c, "failing").await?;
        let login = s
            .login(c, "failing", &keysafe_core::password::generate(20))
            .await?;
        // A TDE database too (master's database master key created for it on a throw-away
        // instance): the cleanup drops it while it is encrypted, then its certificate.
        // Only where the self-test itself may encrypt one (tempdb stays encrypted).
        let tde = if selftest::may_encrypt_a_database(c, st.may_change_master).await?
            && s.master_key(c, st.may_change_master).await?
        {
            let tde = s.database(c, "failing_tde").await?;
            let tde_cert = s.master_certificate(c, "failing_tdecert").await?;
            s.encrypt_database(c, &tde, &tde_cert).await?;
            Some(tde)
        } else {
            None
        };
        let cert = s.master_certificate(c, "failing").await.ok();
        c.execute(&format!(
            "USE [{db}]; CREATE USER [{login}] FOR LOGIN [{login}]; USE master;"
        ))
        .await?;
        let mid = catalog(&st.target).await;
        assert!(mid.databases.contains(&db) && mid.principals.contains(&login));
        assert!(!mid.encrypted_databases.contains(&db));
        if let Some(tde) = &tde {
            assert!(
                mid.encrypted_databases.contains(tde),
                "{tde} is not encrypted: {mid:?}"
            );
        }
        assert!(
            !t.is_emulator() || tde.is_some(),
            "the emulator is a throw-away instance: the TDE database is made"
        );
        assert_eq!(
            cert.is_some(),
            mid.master_certificates
                .iter()
                .any(|n| n.ends_with("_failing"))
        );
        Err::<(), _>(keysafe_core::KeysafeError::new(
            keysafe_core::ErrorCode::VerificationFailed,
            "this check fails on purpose",
        ))
    })
    .await;
    assert_eq!(failing.unwrap_err().message, "this check fails on purpose");
    assert_eq!(before, catalog(&st.target).await, "after a failure");

    let target = st.target.clone();
    let panicked = tokio::spawn(async move {
        selftest::with_scratch(&target, async |c, s| {
            s.database(c, "panicking").await?;
            panic!("this check panics on purpose");
            #[allow(unreachable_code)]
            Ok(())
        })
        .await
    })
    .await;
    assert!(panicked.unwrap_err().is_panic());
    assert_eq!(before, catalog(&st.target).await, "after a panic");
}
