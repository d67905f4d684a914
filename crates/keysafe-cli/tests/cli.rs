//! The `keysafe` binary against an emulated instance over TCP: the CLI contract, the
//! report and history on disk, exit codes, and the canary that proves no secret leaks.

use keysafe_test_support::files_under;
use mssql_emulator::{Emulator, EmulatorConfig, Scenario};
use std::path::{Path, PathBuf};
use std::process::Output;

const DEMO: &str = mssql_emulator::scenarios::DEMO;

/// The demo's operator login and a backup password that meets the policy.
const OPERATOR: [(&str, &str); 2] = [
    ("KS_LOGIN_PW", "Operat0r!Pass#1"),
    ("KS_BACKUP_PW", "Str0ng!Backup#Pass"),
];

struct Env {
    _dir: tempfile::TempDir,
    emu: Emulator,
    home: PathBuf,
    medium: PathBuf,
}

async fn env() -> Env {
    env_with(DEMO).await
}

async fn env_with(scenario: &str) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let emu = Emulator::start(
        EmulatorConfig::new(dir.path().join("server"))
            .scenario(Scenario::from_toml(scenario).unwrap()),
    )
    .await
    .unwrap();
    let home = dir.path().join("home");
    let medium = dir.path().join("medium");
    Env {
        _dir: dir,
        emu,
        home,
        medium,
    }
}

async fn keysafe(e: &Env, args: &[&str], vars: &[(&str, &str)]) -> Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_keysafe"));
    cmd.args(args)
        .env("KEYSAFE_HOME", &e.home)
        .env_remove("KEYSAFE_LOG");
    for (k, v) in vars {
        cmd.env(k, v);
    }
    finish(cmd, &e.home).await
}

/// Runs a keysafe child to its end, with a deadline: one that hangs (it happened once under
/// Wine) fails its test with what it printed and logged instead of stalling the lane.
async fn finish(cmd: std::process::Command, home: &Path) -> Output {
    let limit = std::time::Duration::from_secs(if keysafe_core::windows::under_wine() {
        300
    } else {
        120
    });
    let logs = home.join("logs");
    tokio::task::spawn_blocking(move || keysafe_test_support::output_within(cmd, limit, &logs))
        .await
        .unwrap()
}

/// Asserts keysafe's exit code, showing everything it printed when it is not the one expected.
#[track_caller]
fn exits(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs keysafe with owned arguments: the exit code and what it printed on stderr.
async fn run(e: &Env, args: &[String], vars: &[(&str, &str)]) -> (Option<i32>, String) {
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = keysafe(e, &a, vars).await;
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn conn(e: &Env) -> Vec<String> {
    let mut v = vec![
        "--server".into(),
        format!("localhost,{}", e.emu.addr().port()),
        "--login".into(),
        "keysafe_operator".into(),
        "--login-password-env".into(),
        "KS_LOGIN_PW".into(),
        "--ca-file".into(),
        e.emu.cert_pem_path().unwrap().display().to_string(),
    ];
    v.extend(keysafe_test_support::encrypt_args());
    v
}

/// `conn` as another login (its password in KS_LOGIN_PW as well).
fn conn_as(e: &Env, login: &str) -> Vec<String> {
    conn(e)
        .into_iter()
        .map(|a| {
            if a == "keysafe_operator" {
                login.into()
            } else {
                a
            }
        })
        .collect()
}

#[tokio::test]
async fn backup_all_copies_verifies_and_reports() {
    let e = env().await;
    let mut args = vec!["backup", "all"];
    let c = conn(&e);
    args.extend(c.iter().map(String::as_str));
    let medium = e.medium.display().to_string();
    args.extend([
        "--password-env",
        "KS_BACKUP_PW",
        "--copy-to",
        &medium,
        "--master-key-password-env",
        "Sales=KS_SALES",
        "--certificate-password-env",
        "Sales.SalesSigning=KS_SIGN",
        "--carrier",
        "A. Admin",
        "--storage-location",
        "Bank vault 12",
        "--verify-restore",
        "--acl-principal",
        r"CONTOSO\SQLDEMO01$",
    ]);
    let out = keysafe(
        &e,
        &args,
        &[
            ("KS_LOGIN_PW", "Operat0r!Pass#1"),
            ("KS_BACKUP_PW", "Str0ng!Backup#Pass"),
            ("KS_SALES", "Sales!Dmk#Pass1"),
            ("KS_SIGN", "Signing!Cert#Pw1"),
        ],
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let reports: Vec<PathBuf> = std::fs::read_dir(&e.medium)
        .unwrap()
        .flatten()
        .map(|f| f.path())
        .filter(|p| p.is_file())
        .collect();
    let json = reports
        .iter()
        .find(|p| p.extension().unwrap() == "json")
        .expect("a JSON report");
    assert!(
        reports.iter().any(|p| p.extension().unwrap() == "html")
            && reports.iter().any(|p| p.extension().unwrap() == "csv")
    );
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(json).unwrap()).unwrap();
    assert_eq!(r["schema"], "keysafe.report/1");
    assert_eq!(
        r["summary"]["keys_requested"],
        r["summary"]["keys_verified"]
    );
    assert_eq!(
        r["summary"]["keys_requested"],
        1 + 3 + 3,
        "SMK, master/Sales/HR master keys, three certificates"
    );
    assert_eq!(r["custody"]["storage_location"], "Bank vault 12");
    // The server is "Windows" and not reachable from here: the exact icacls commands, by SID.
    let protection = r["instances"][0]["folder_protection"].as_str().unwrap();
    assert!(protection.starts_with("ACL not verified"), "{protection}");
    assert!(protection.contains("/inheritance:r /grant:r \"*S-1-5-18:(OI)(CI)F\" \"*S-1-5-32-544:(OI)(CI)F\" \"*S-1-5-80-3880718306-3832830129-1677859214-2598158968-1052248003:(OI)(CI)F\" \"CONTOSO\\SQLDEMO01$:(OI)(CI)F\""), "{protection}");
    for k in r["instances"][0]["keys"].as_array().unwrap() {
        let check = &k["restore_check"]["result"];
        if k["key"]["kind"] == "service_master_key" {
            assert_eq!(check, "not_applicable");
        } else {
            assert_eq!(check, "proven", "{k}");
        }
        for f in k["files"].as_array().unwrap() {
            assert_eq!(f["verified"], true);
            let copy = PathBuf::from(f["copy"]["path"].as_str().unwrap());
            let server = e
                .emu
                .instance()
                .host_path(f["server_path"].as_str().unwrap())
                .unwrap();
            assert_eq!(std::fs::read(copy).unwrap(), std::fs::read(server).unwrap());
        }
    }
    let hist = keysafe(&e, &["history", "--verify"], &[]).await;
    exits(&hist, 0);
    assert_eq!(
        String::from_utf8_lossy(&hist.stdout).trim(),
        "history intact: 1 record(s)"
    );
    let hist = keysafe(&e, &["history"], &[]).await;
    let text = String::from_utf8_lossy(&hist.stdout);
    assert!(
        text.contains(" Succeeded 7 of 7 keys verified ") && text.contains(".html"),
        "{text}"
    );
    // The same rows, in the same words, as the app's History shows (history::rows).
    let rows = keysafe_core::history::rows(
        &keysafe_core::history::load(&e.home.join("history.jsonl"))
            .unwrap()
            .vouched(),
    );
    assert_eq!(rows.len(), 1);
    for r in &rows {
        let line = format!(
            "{:<9} {}  {:<12} {}",
            r.verdict,
            r.what,
            r.operator,
            r.servers.join(", ")
        );
        assert!(text.contains(&line), "{line:?} in {text}");
    }
    let hist = keysafe(&e, &["history", "--json"], &[]).await;
    let line: serde_json::Value = serde_json::from_slice(&hist.stdout).unwrap();
    assert_eq!(line["schema"], 2);
}

#[tokio::test]
async fn a_failure_is_exit_1_with_a_report_and_usage_errors_are_exit_2() {
    let e = env().await;
    let c = conn(&e);
    let medium = e.medium.display().to_string();
    // Sales' master key needs its password: not given.
    let mut args = vec!["backup", "dmk", "--database", "Sales"];
    args.extend(c.iter().map(String::as_str));
    args.extend(["--password-env", "KS_BACKUP_PW", "--copy-to", &medium]);
    let out = keysafe(&e, &args, &OPERATOR).await;
    exits(&out, 1);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("protected by a password only"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        files_under(&e.medium)
            .iter()
            .any(|p| p.extension().is_some_and(|x| x == "html")),
        "the report is written anyway: {:?}",
        files_under(&e.medium)
    );
    // A weak password never reaches the server.
    let out = keysafe(
        &e,
        &args,
        &[("KS_LOGIN_PW", "Operat0r!Pass#1"), ("KS_BACKUP_PW", "weak")],
    )
    .await;
    exits(&out, 1);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Msg 15116"), "{stderr}");
    // A missing variable is a usage error.
    let out = keysafe(&e, &args, &[("KS_LOGIN_PW", "Operat0r!Pass#1")]).await;
    exits(&out, 2);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("KS_BACKUP_PW"), "{stderr}");
    // There is no way to put a password in argv.
    let out = keysafe(
        &e,
        &["backup", "smk", "--server", "x", "--password", "oops"],
        &[],
    )
    .await;
    exits(&out, 2);
}

/// The server folder seen from here (--server-dir-local): on Windows Keysafe applies the
/// protected DACL there and reads it back. Wine keeps no DACL, so there the read-back differs
/// and that must be a failure everywhere: exit 1, the console and the report. The medium's
/// drive type and label are in the report too.
#[tokio::test]
async fn the_server_folder_acl_is_applied_where_it_is_visible_and_its_read_back_is_the_verdict() {
    let e = env().await;
    let server_dir = r"C:\KeysafeBackups";
    let local = e.emu.instance().host_path(server_dir).unwrap();
    let local_s = local.display().to_string();
    let medium = e.medium.display().to_string();
    let mut args = vec!["backup", "smk"];
    let c = conn(&e);
    args.extend(c.iter().map(String::as_str));
    args.extend([
        "--password-env",
        "KS_BACKUP_PW",
        "--copy-to",
        &medium,
        "--server-dir",
        server_dir,
        "--server-dir-local",
        &local_s,
    ]);
    let out = keysafe(&e, &args, &OPERATOR).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let json = files_under(&e.medium)
        .into_iter()
        .find(|p| p.extension().is_some_and(|x| x == "json"))
        .expect("a JSON report");
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(json).unwrap()).unwrap();
    let inst = &r["instances"][0];
    let protection = inst["folder_protection"].as_str().unwrap();
    assert_eq!(r["summary"]["keys_verified"], 1, "{stderr}");
    let volume = &r["destination_volume"];
    assert!(
        ["fixed", "removable", "remote"].contains(&volume["drive_type"].as_str().unwrap()),
        "{volume}"
    );
    assert!(volume.get("label").is_some(), "{volume}");
    if cfg!(windows) {
        let wine = keysafe_core::windows::under_wine();
        assert!(
            protection.contains("(read back: D:"),
            "the DACL was applied and read back: {protection}"
        );
        if wine {
            assert!(protection.starts_with("ACL not verified:"), "{protection}");
            assert_eq!(inst["folder_protection_failed"], true);
            assert_eq!(out.status.code(), Some(1), "{stderr}");
            assert!(stderr.contains("did not read back as applied"), "{stderr}");
            assert_eq!(r["summary"]["failures"], 1);
        } else {
            assert!(
                protection.starts_with("Protected DACL applied and verified"),
                "{protection}"
            );
            assert_eq!(out.status.code(), Some(0), "{stderr}");
        }
    } else {
        // A Windows server's folder seen from Linux: no NTFS ACL can be set from here.
        assert!(protection.starts_with("ACL not verified"), "{protection}");
        assert_eq!(inst["folder_protection_failed"], false);
        assert_eq!(out.status.code(), Some(0), "{stderr}");
    }
}

#[tokio::test]
async fn inventory_prints_the_hierarchy() {
    let e = env().await;
    let mut args = vec!["inventory"];
    let c = conn(&e);
    args.extend(c.iter().map(String::as_str));
    args.push("--json");
    let out = keysafe(&e, &args, &[("KS_LOGIN_PW", "Operat0r!Pass#1")]).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["server"]["server_name"], "SQLDEMO01");
    assert_eq!(v["risks"][0]["severity"], "critical");

    // Printed, it uses the words Object Explorer shows (the engine's), never SQL Server's
    // codes: the app's test checks the tree against the same words.
    args.pop();
    let out = keysafe(&e, &args, &[("KS_LOGIN_PW", "Operat0r!Pass#1")]).await;
    exits(&out, 0);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Payroll: no master key, TDE: Encrypted"),
        "{text}"
    );
    assert!(
        text.contains("Sales: master key (Password only)")
            || text.contains("Sales: master key (Service Master Key and password)"),
        "{text}"
    );
    assert!(
        text.contains("(private key: Database master key)"),
        "{text}"
    );
    assert!(text.contains("critical: "), "{text}");
    for code in [
        "TDE state",
        "[MK]",
        "[PW]",
        "[NA]",
        "ServiceMasterKey",
        "PasswordOnly",
        "Critical:",
    ] {
        assert!(!text.contains(code), "{code} printed: {text}");
    }
}

#[tokio::test]
async fn canary_no_secret_reaches_any_file_or_output_at_trace_level() {
    let e = env().await;
    let pid = std::process::id();
    let login_pw = format!("CanaryLogin!{pid}#x");
    let backup_pw = format!("CanaryBackup!{pid}#y");
    let dmk_pw = format!("CanaryDmk!{pid}#z");
    // A login and a password-only master key whose passwords are canaries too.
    let sql = format!("CREATE LOGIN watcher WITH PASSWORD = '{login_pw}'; GRANT CONTROL SERVER TO watcher; CREATE DATABASE Canary; USE Canary; CREATE MASTER KEY ENCRYPTION BY PASSWORD = '{dmk_pw}'; ALTER MASTER KEY DROP ENCRYPTION BY SERVICE MASTER KEY");
    e.emu.instance().run_as("sa", &sql).unwrap();
    let server = format!("localhost,{}", e.emu.addr().port());
    let ca = e.emu.cert_pem_path().unwrap().display().to_string();
    let medium = e.medium.display().to_string();
    let reports = e.home.join("reports").display().to_string();
    let vars = [
        ("KS_LOGIN_PW", login_pw.as_str()),
        ("KS_BACKUP_PW", backup_pw.as_str()),
        ("KS_DMK", dmk_pw.as_str()),
        ("KEYSAFE_LOG", "trace"),
    ];
    let mut base = vec![
        "--server",
        &server,
        "--login",
        "watcher",
        "--login-password-env",
        "KS_LOGIN_PW",
        "--ca-file",
        &ca,
    ];
    // Wine's SChannel stalls full-session TLS on split records (README, "Windows").
    if keysafe_core::windows::under_wine() {
        base.extend(["--encrypt", "optional"]);
    }
    let mut outputs = Vec::new();
    let mut a = vec!["backup", "all"];
    a.extend(base.iter().copied());
    a.extend([
        "--password-env",
        "KS_BACKUP_PW",
        "--copy-to",
        &medium,
        "--report",
        &reports,
        "--master-key-password-env",
        "Canary=KS_DMK",
        "--json",
    ]);
    outputs.push(keysafe(&e, &a, &vars).await);
    let mut a = vec!["inventory"];
    a.extend(base.iter().copied());
    outputs.push(keysafe(&e, &a, &vars).await);
    // A failing run too: the wrong login password is the backup canary.
    let wrong = [
        ("KS_LOGIN_PW", backup_pw.as_str()),
        ("KS_BACKUP_PW", backup_pw.as_str()),
        ("KEYSAFE_LOG", "trace"),
    ];
    let mut a = vec!["backup", "smk"];
    a.extend(base.iter().copied());
    a.extend([
        "--password-env",
        "KS_BACKUP_PW",
        "--copy-to",
        &medium,
        "--report",
        &reports,
    ]);
    outputs.push(keysafe(&e, &a, &wrong).await);
    // Everything but Sales' master key and SalesSigning (their passwords were not given) is verified.
    exits(&outputs[0], 1);
    let report: serde_json::Value = serde_json::from_slice(&outputs[0].stdout).unwrap();
    assert_eq!(report["summary"]["keys_requested"], 8);
    assert_eq!(report["summary"]["keys_verified"], 6);
    exits(&outputs[1], 0);
    assert_eq!(outputs[2].status.code(), Some(1), "wrong login password");
    let log = std::fs::read_to_string(keysafe_core::logging::today(
        &e.home.join("logs"),
        "keysafe",
    ))
    .unwrap();
    assert!(
        log.contains("TRACE") || log.contains("DEBUG"),
        "trace logging was on"
    );
    let mut haystacks: Vec<(String, Vec<u8>)> = outputs
        .iter()
        .flat_map(|o| {
            [
                ("stdout".to_string(), o.stdout.clone()),
                ("stderr".to_string(), o.stderr.clone()),
            ]
        })
        .collect();
    for f in files_under(&e.home)
        .into_iter()
        .chain(files_under(&e.medium))
    {
        haystacks.push((f.display().to_string(), std::fs::read(&f).unwrap()));
    }
    assert!(
        haystacks.len() > 10,
        "reports, history, logs and copies were searched"
    );
    for secret in [&login_pw, &backup_pw, &dmk_pw] {
        let utf16: Vec<u8> = secret
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes())
            .collect();
        for (name, bytes) in &haystacks {
            for needle in [secret.as_bytes(), utf16.as_slice()] {
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle),
                    "a secret is in {name}"
                );
            }
        }
    }
}

#[tokio::test]
async fn a_profile_remembers_the_password_in_the_keyring_not_on_disk() {
    let e = env().await;
    let server = format!("localhost,{}", e.emu.addr().port());
    let ca = e.emu.cert_pem_path().unwrap().display().to_string();
    let name = format!("Demo-{}", std::process::id());
    let pw = [("KS_LOGIN_PW", "Operat0r!Pass#1")];
    // Under Wine the profile keeps login-only encryption (test-support explains why).
    let wine = keysafe_test_support::encrypt_args();
    let mut add_args = vec![
        "profile",
        "add",
        &name,
        "--server",
        &server,
        "--login",
        "keysafe_operator",
        "--login-password-env",
        "KS_LOGIN_PW",
        "--ca-file",
        &ca,
        "--remember",
        "--folder",
        "Demo",
        "--color",
        "#2E86C1",
    ];
    add_args.extend(wine.iter().map(String::as_str));
    let add = keysafe(&e, &add_args, &pw).await;
    assert_eq!(
        add.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&add.stderr)
    );
    let file = std::fs::read_to_string(e.home.join("profiles.json")).unwrap();
    assert!(file.contains("keysafe_operator") && !file.contains("Operat0r!Pass#1"));
    // No password given now: it comes from the keyring.
    let inv = keysafe(&e, &["inventory", "--profile", &name, "--json"], &[]).await;
    assert_eq!(
        inv.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&inv.stderr)
    );
    let export = keysafe(&e, &["profile", "export"], &[]).await;
    assert!(!String::from_utf8_lossy(&export.stdout).contains("Operat0r"));
    assert_eq!(
        keysafe(&e, &["profile", "remove", &name], &[])
            .await
            .status
            .code(),
        Some(0)
    );
    let gone = keysafe(&e, &["inventory", "--profile", &name], &[]).await;
    exits(&gone, 2);
}

/// A restore proof the user asked for and that fails is a failed key everywhere: the server
/// writes a corrupted master key backup (a byte flips after the write), the copy matches the
/// server's file, RESTORE MASTER KEY refuses it, and exit code, console, summary and report
/// all say the key is not verified.
#[tokio::test]
async fn a_failed_restore_check_fails_the_key_everywhere() {
    let e = env().await;
    e.emu
        .faults()
        .flip_byte_in_write
        .store(1, std::sync::atomic::Ordering::SeqCst);
    let c = conn(&e);
    let medium = e.medium.display().to_string();
    let mut args = vec!["backup", "dmk", "--database", "Sales"];
    args.extend(c.iter().map(String::as_str));
    args.extend([
        "--password-env",
        "KS_BACKUP_PW",
        "--copy-to",
        &medium,
        "--master-key-password-env",
        "Sales=KS_SALES",
        "--verify-restore",
    ]);
    let mut vars = OPERATOR.to_vec();
    vars.push(("KS_SALES", "Sales!Dmk#Pass1"));
    let out = keysafe(&e, &args, &vars).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("Sales database master key: FAILED"),
        "{stderr}"
    );
    assert!(!stderr.contains("backed up, copied, verified"), "{stderr}");
    assert!(stderr.contains("0 of 1 key verified"), "{stderr}");
    assert!(
        stderr.contains("restoring it failed") && stderr.contains("15317"),
        "{stderr}"
    );
    let files = files_under(&e.medium);
    let json = files
        .iter()
        .find(|p| p.extension().is_some_and(|x| x == "json"))
        .expect("a JSON report");
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(json).unwrap()).unwrap();
    let key = &r["instances"][0]["keys"][0];
    assert_eq!(key["outcome"], "failed", "{key}");
    assert_eq!(key["restore_check"]["result"], "failed", "{key}");
    assert_eq!(key["error"]["code"], "restore_check_failed", "{key}");
    assert_eq!(r["summary"]["keys_verified"], 0, "{}", r["summary"]);
    // The copy itself matched the server's (corrupted) file: that alone proves nothing.
    assert_eq!(key["files"][0]["verified"], true, "{key}");
    let html = files
        .iter()
        .find(|p| p.extension().is_some_and(|x| x == "html"))
        .unwrap();
    let html = std::fs::read_to_string(html).unwrap();
    assert!(
        html.contains("restoring it failed"),
        "the HTML report says so"
    );
}

/// A database restored from another server: its master key says "encrypted by server" but
/// only its password opens it here. Without the password the backup fails with the reason and
/// the way out; with it, the key and a certificate it protects are backed up and verified and
/// the server is unchanged; the repair is a separate command that asks first (and refuses
/// without a terminal or --yes), after which no password is needed.
#[tokio::test]
async fn a_migrated_databases_master_key_is_backed_up_with_its_password_and_repaired_only_on_request(
) {
    let scenario = format!(
        "{DEMO}\n[[databases]]\nname = \"Migrated\"\nmaster_key = {{ protection = \"migrated\", password = \"Migrated!Dmk#Pw1\" }}\n\n[[databases.certificates]]\nname = \"OldSigning\"\n"
    );
    let e = env_with(&scenario).await;
    let c = conn(&e);
    let medium = e.medium.display().to_string();
    let mut vars = OPERATOR.to_vec();
    vars.push(("KS_MIG", "Migrated!Dmk#Pw1"));
    let dmk = |with_password: bool| {
        let mut a: Vec<String> = ["backup", "dmk", "--database", "Migrated"]
            .map(String::from)
            .to_vec();
        a.extend(c.iter().cloned());
        a.extend(["--password-env", "KS_BACKUP_PW", "--copy-to", &medium].map(String::from));
        if with_password {
            a.extend(["--master-key-password-env", "Migrated=KS_MIG"].map(String::from));
        }
        a
    };
    let args = dmk(false);
    let (code, stderr) = run(&e, &args, &vars).await;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("restored or attached from another server")
            && stderr.contains("repair-master-key")
            && stderr.contains("Msg 15581"),
        "{stderr}"
    );
    // With the password: the master key and the certificate it protects.
    for (what, key) in [
        ("dmk", "Migrated database master key"),
        ("cert", "certificate Migrated.OldSigning"),
    ] {
        let mut args = dmk(true);
        if what == "cert" {
            args[1] = "cert".into();
            args[2] = "--certificate".into();
            args[3] = "Migrated.OldSigning".into();
        }
        let (code, stderr) = run(&e, &args, &vars).await;
        assert_eq!(code, Some(0), "{stderr}");
        assert!(
            stderr.contains(&format!("{key}: backed up, copied, verified")),
            "{stderr}"
        );
    }
    // The repair changes the server: never without a confirmation.
    let mut repair: Vec<String> = ["repair-master-key", "--database", "Migrated"]
        .map(String::from)
        .to_vec();
    repair.extend(c.iter().cloned());
    repair.extend(["--master-key-password-env".into(), "KS_MIG".into()]);
    let (code, stderr) = run(&e, &repair, &vars).await;
    assert_eq!(code, Some(2), "{stderr}");
    let args = dmk(false);
    let (code, _) = run(&e, &args, &vars).await;
    assert_eq!(code, Some(1), "still needs the password: nothing changed");
    repair.push("--yes".into());
    let (code, stderr) = run(&e, &repair, &vars).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("ALTER MASTER KEY ADD ENCRYPTION BY SERVICE MASTER KEY")
            && !stderr.contains("Migrated!Dmk#Pw1"),
        "{stderr}"
    );
    let (code, stderr) = run(&e, &args, &vars).await;
    assert_eq!(code, Some(0), "opens by itself now: {stderr}");
}

/// `keysafe status`: every key starts as never backed up (exit 1); after a verified backup
/// of the service master key, that key is backed up and the rest still need attention.
#[tokio::test]
async fn status_shows_each_keys_state_from_the_server_and_the_history() {
    let e = env().await;
    let c = conn(&e);
    let mut status: Vec<String> = vec!["status".into()];
    status.extend(c.iter().cloned());
    status.push("--json".into());
    let out = keysafe(
        &e,
        &status.iter().map(String::as_str).collect::<Vec<_>>(),
        &OPERATOR,
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let smk = |v: &serde_json::Value| {
        v[0]["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["label"] == "Service Master Key")
            .cloned()
            .unwrap()
    };
    assert_eq!(smk(&v)["state"], "never");
    let medium = e.medium.display().to_string();
    let mut backup: Vec<String> = vec!["backup".into(), "smk".into()];
    backup.extend(c.iter().cloned());
    backup.extend(["--password-env", "KS_BACKUP_PW", "--copy-to", &medium].map(String::from));
    let (code, stderr) = run(&e, &backup, &OPERATOR).await;
    assert_eq!(code, Some(0), "{stderr}");
    let out = keysafe(
        &e,
        &status.iter().map(String::as_str).collect::<Vec<_>>(),
        &OPERATOR,
    )
    .await;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(smk(&v)["state"], "backed_up", "{v}");
    assert!(smk(&v)["last_backup"].as_str().unwrap().ends_with("UTC"));
    // The TDE certificate never backed up is still at risk: exit 1.
    exits(&out, 1);
    let text = keysafe(
        &e,
        &status[..status.len() - 1]
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        &OPERATOR,
    )
    .await;
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(
        stdout.contains("backed up       Service Master Key"),
        "{stdout}"
    );
    assert!(stdout.contains("AT RISK"), "{stdout}");
    // A risk's reason is a line of its own, not an escaped line feed.
    assert!(!stdout.contains("\\u{a}"), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.trim_start().starts_with("protects TDE for Payroll")),
        "{stdout}"
    );
}

/// `backup --plan` is the engine's preview: nothing is asked, written or recorded, and the run
/// that follows does what it showed (the same keys, folder, files and folder commands).
#[tokio::test]
async fn the_plan_changes_nothing_and_the_run_does_what_it_showed() {
    let e = env().await;
    let medium = e.medium.display().to_string();
    let mut args: Vec<String> = vec!["backup".into(), "all".into()];
    args.extend(conn(&e));
    args.extend(
        [
            "--copy-to",
            &medium,
            "--acl-principal",
            r"CONTOSO\SQLDEMO01$",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    let login = [("KS_LOGIN_PW", "Operat0r!Pass#1")];
    let mut plan_args: Vec<&str> = args.iter().map(String::as_str).collect();
    plan_args.extend(["--plan", "--json"]);
    // No backup password in the environment: a plan never asks for one.
    let out = keysafe(&e, &plan_args, &login).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let inst = &plan["instances"][0];
    assert_eq!(inst["server_name"], "SQLDEMO01");
    assert!(inst["problem"].is_null(), "{inst}");
    assert!(!e.medium.exists(), "a plan writes nothing on the medium");
    assert!(
        !e.home.join("history.jsonl").exists(),
        "a plan records no run"
    );
    let folder = inst["server_folder"].as_str().unwrap().to_string();
    assert!(folder.ends_with(r"\Keysafe"), "{folder}");
    assert!(
        e.emu
            .instance()
            .host_path(&folder)
            .is_none_or(|p| !p.exists()),
        "a plan creates no server folder"
    );
    // What the server folder gets, decided by the engine: not reachable from here, so the
    // icacls commands for SYSTEM, Administrators, the service SID and the extra principal.
    assert_eq!(inst["folder"]["how"], "commands", "{inst}");
    let commands: Vec<String> = inst["folder"]["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert!(
        commands
            .iter()
            .any(|c| c.contains("CONTOSO\\SQLDEMO01$:(OI)(CI)F")),
        "{commands:?}"
    );
    let keys = inst["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 7, "{keys:?}");
    for k in keys {
        assert!(k["problem"].is_null(), "{k}");
        assert!(k["script"].as_str().unwrap().contains("N'****"), "{k}");
    }
    // The passwords the run will need, named by key.
    let needs: Vec<&serde_json::Value> = keys
        .iter()
        .flat_map(|k| k["needs"].as_array().unwrap())
        .collect();
    assert!(needs.contains(&&serde_json::json!({"for": "master_key", "database": "Sales"})));
    assert!(needs.contains(
        &&serde_json::json!({"for": "certificate_key", "database": "Sales", "name": "SalesSigning"})
    ));
    // The same plan for people.
    plan_args.retain(|a| *a != "--json");
    let out = keysafe(&e, &plan_args, &login).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("needs a password: --master-key-password-env Sales=VAR")
            && text.contains("icacls"),
        "{text}"
    );

    // The run, with the passwords the plan asked for.
    let mut run_args: Vec<&str> = args.iter().map(String::as_str).collect();
    run_args.extend([
        "--json",
        "--password-env",
        "KS_BACKUP_PW",
        "--master-key-password-env",
        "Sales=KS_SALES",
        "--certificate-password-env",
        "Sales.SalesSigning=KS_SIGN",
    ]);
    let out = keysafe(
        &e,
        &run_args,
        &[
            login[0],
            OPERATOR[1],
            ("KS_SALES", "Sales!Dmk#Pass1"),
            ("KS_SIGN", "Signing!Cert#Pw1"),
        ],
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ran = &r["instances"][0];
    assert_eq!(ran["server_folder"].as_str(), Some(folder.as_str()));
    let planned: Vec<&serde_json::Value> = keys.iter().map(|k| &k["key"]).collect();
    let done: Vec<&serde_json::Value> = ran["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| &k["key"])
        .collect();
    assert_eq!(planned, done, "the run backs up the keys the plan showed");
    let protection = ran["folder_protection"].as_str().unwrap();
    for c in &commands {
        assert!(protection.contains(c.as_str()), "{c} not in {protection}");
    }
    for (p, k) in keys.iter().zip(ran["keys"].as_array().unwrap()) {
        let shown: Vec<&str> = p["server_files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap().rsplit_once('_').unwrap().0)
            .collect();
        let written: Vec<&str> = k["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                f["server_path"]
                    .as_str()
                    .unwrap()
                    .rsplit_once('_')
                    .unwrap()
                    .0
            })
            .collect();
        assert_eq!(
            shown, written,
            "the files differ only by the time in their names"
        );
    }
}

/// Where `text` shows a statement carrying the one-time password: a CERTPRIVATEKEY or
/// DECRYPTION BY PASSWORD literal that is not the masked form.
fn unmasked_one_time_password(text: &str) -> Option<String> {
    for marker in [
        "DECRYPTION BY PASSWORD = N'",
        "CERTPRIVATEKEY(c.certificate_id, N'",
    ] {
        let mut rest = text;
        while let Some(i) = rest.find(marker) {
            let after = &rest[i + marker.len()..];
            if !after.starts_with('*') {
                return Some(after.chars().take(40).collect());
            }
            rest = after;
        }
    }
    None
}

#[tokio::test]
async fn copy_certificate_moves_a_tde_certificate_to_another_instance_and_keeps_its_password_to_itself(
) {
    let src = env().await;
    let dst = env_with("[server]\nmachine_name = \"SQLDR\"\n").await;
    dst.emu
        .instance()
        .run_as(
            "sa",
            "CREATE DATABASE DR; USE DR; CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Dr!Passw0rd#2026';",
        )
        .unwrap();
    let mut args: Vec<String> = vec!["copy-certificate".into()];
    for e in [&src, &dst] {
        args.extend([
            "--server".into(),
            format!("localhost,{}", e.emu.addr().port()),
        ]);
    }
    args.extend(
        [
            "--login",
            "sa",
            "--login-password-env",
            "KS_LOGIN_PW",
            "--trust-server-certificate",
            "--database",
            "master",
            "--certificate",
            "TDE_Payroll",
            "--to-database",
            "DR",
        ]
        .map(String::from),
    );
    args.extend(keysafe_test_support::encrypt_args());
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let vars = [
        ("KS_LOGIN_PW", mssql_emulator::DEFAULT_SA_PASSWORD),
        ("KEYSAFE_LOG", "trace"),
    ];
    let out = keysafe(&src, &a, &vars).await;
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("copied with its private key"), "{stdout}");
    // Again, as JSON: the target holds the same certificate, its private key under DR's
    // master key, so there is nothing to copy.
    let mut again = a.clone();
    again.push("--json");
    let check = keysafe(&src, &again, &vars).await;
    exits(&check, 0);
    let json: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
    assert_eq!(json["already_present"], true, "{json}");
    assert_eq!(json["thumbprint"], json["target_thumbprint"]);
    assert_eq!(json["target_protection"], "MK");
    assert!(
        stdout.contains(json["thumbprint"].as_str().unwrap()),
        "{stdout}"
    );

    // The one-time password is in no output, log or file.
    let mut seen = vec![
        stdout,
        stderr,
        String::from_utf8_lossy(&check.stderr).into_owned(),
    ];
    for f in files_under(&src.home) {
        seen.push(String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned());
    }
    assert!(
        seen.iter()
            .any(|t| t.contains("TRACE") || t.contains("DEBUG")),
        "the log was written at trace level"
    );
    for t in &seen {
        assert_eq!(
            unmasked_one_time_password(t),
            None,
            "a statement with the one-time password leaked"
        );
    }

    // Into a database without a master key: created with the password given, never shown.
    dst.emu
        .instance()
        .run_as("sa", "CREATE DATABASE DR2;")
        .unwrap();
    let canary = format!("NewDmkCanary!{}#q", std::process::id());
    let mut into_new = a.clone();
    let to = into_new.iter().position(|x| *x == "DR").unwrap();
    into_new[to] = "DR2";
    into_new.extend(["--create-master-key-password-env", "KS_NEW_DMK"]);
    let mut with_key = vars.to_vec();
    with_key.push(("KS_NEW_DMK", canary.as_str()));
    let created = keysafe(&src, &into_new, &with_key).await;
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&created.stdout),
        String::from_utf8_lossy(&created.stderr)
    );
    assert_eq!(created.status.code(), Some(0), "{said}");
    assert!(said.contains("one was created. Back it up now"), "{said}");
    let mut everything = vec![said];
    for f in files_under(&src.home) {
        everything.push(String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned());
    }
    assert!(
        everything.iter().all(|t| !t.contains(&canary)),
        "the new master key's password leaked"
    );

    // One instance is a usage error (exit 2), and nothing is copied.
    let one = keysafe(
        &src,
        &[
            "copy-certificate",
            "--server",
            &format!("localhost,{}", src.emu.addr().port()),
            "--login",
            "sa",
            "--login-password-env",
            "KS_LOGIN_PW",
            "--database",
            "master",
            "--certificate",
            "TDE_Payroll",
        ],
        &vars,
    )
    .await;
    exits(&one, 2);
    assert!(String::from_utf8_lossy(&one.stderr).contains("two instances"));
}

#[tokio::test]
async fn check_medium_refuses_a_copy_with_one_byte_changed_before_anything_is_sent() {
    let e = env().await;
    let mut args = vec!["backup", "smk"];
    let c = conn(&e);
    args.extend(c.iter().map(String::as_str));
    let medium = e.medium.display().to_string();
    args.extend(["--password-env", "KS_BACKUP_PW", "--copy-to", &medium]);
    let vars = [
        ("KS_LOGIN_PW", "Operat0r!Pass#1"),
        ("KS_BACKUP_PW", "Str0ng!Backup#Pass"),
    ];
    let out = keysafe(&e, &args, &vars).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The medium, mounted somewhere else on restore day: the copies are found beside the report.
    let moved = e.medium.with_file_name("medium-elsewhere");
    std::fs::rename(&e.medium, &moved).unwrap();
    let check = |path: PathBuf| {
        let e = &e;
        async move {
            let p = path.display().to_string();
            keysafe(e, &["check-medium", &p], &[]).await
        }
    };
    let ok = check(moved.clone()).await;
    let (stdout, stderr) = (
        String::from_utf8_lossy(&ok.stdout).into_owned(),
        String::from_utf8_lossy(&ok.stderr).into_owned(),
    );
    assert_eq!(ok.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("matches") && stdout.contains("Service Master Key"),
        "{stdout}"
    );
    assert!(stderr.contains("1 copies match"), "{stderr}");

    // One byte changed in the copy: refused, named, exit 1.
    let copy = files_under(&moved)
        .into_iter()
        .find(|p| p.extension().is_some_and(|x| x == "key"))
        .expect("the SMK copy");
    let mut bytes = std::fs::read(&copy).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(&copy, &bytes).unwrap();
    let differs = check(moved.clone()).await;
    let stdout = String::from_utf8_lossy(&differs.stdout);
    assert_eq!(differs.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("DIFFERS"), "{stdout}");
    assert!(
        String::from_utf8_lossy(&differs.stderr).contains("do not restore from them"),
        "{}",
        String::from_utf8_lossy(&differs.stderr)
    );

    // A copy that is gone is missing, not matching.
    std::fs::remove_file(&copy).unwrap();
    let missing = check(moved.clone()).await;
    exits(&missing, 1);
    assert!(String::from_utf8_lossy(&missing.stdout).contains("MISSING"));

    // Something that is not a report is a usage error.
    let junk = moved.join("keysafe-report-junk.json");
    std::fs::write(&junk, b"{\"schema\": \"something else\"}").unwrap();
    let not_report = check(junk).await;
    exits(&not_report, 2);
    assert!(String::from_utf8_lossy(&not_report.stderr).contains("is not a Keysafe report"));
}

#[tokio::test]
async fn restore_smk_on_a_second_instance_is_confirmed_by_name_placed_hashed_and_proven() {
    let a = env().await;
    let b = env().await;
    let canary = format!("Backup!Canary{}#x", std::process::id());
    let medium = a.medium.display().to_string();
    let mut args = vec!["backup", "smk"];
    let c = conn(&a);
    args.extend(c.iter().map(String::as_str));
    args.extend(["--password-env", "KS_BACKUP_PW", "--copy-to", &medium]);
    let backed = keysafe(
        &a,
        &args,
        &[
            ("KS_LOGIN_PW", "Operat0r!Pass#1"),
            ("KS_BACKUP_PW", &canary),
        ],
    )
    .await;
    assert_eq!(
        backed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&backed.stderr)
    );

    let folder = r"C:\Program Files\Microsoft SQL Server\MSSQL16.MSSQLSERVER\MSSQL\Backup\Restore";
    let local = b.emu.instance().host_path(folder).unwrap();
    let mut restore: Vec<String> = [
        "restore",
        "smk",
        &medium,
        "--server",
        &format!("localhost,{}", b.emu.addr().port()),
        "--login",
        "sa",
        "--login-password-env",
        "KS_LOGIN_PW",
        "--trust-server-certificate",
        "--password-env",
        "KS_BACKUP_PW",
        "--server-dir",
        folder,
        "--server-dir-local",
        &local.display().to_string(),
    ]
    .map(String::from)
    .to_vec();
    restore.extend(keysafe_test_support::encrypt_args());
    let vars = [
        ("KS_LOGIN_PW", mssql_emulator::DEFAULT_SA_PASSWORD),
        ("KS_BACKUP_PW", canary.as_str()),
        ("KEYSAFE_LOG", "trace"),
    ];
    let guid = |e: &Env| {
        e.emu
            .instance()
            .state()
            .service_master_key
            .as_ref()
            .unwrap()
            .guid
            .to_string()
            .to_uppercase()
    };
    let (a_guid, b_before) = (guid(&a), guid(&b));
    assert_ne!(a_guid, b_before);
    let run = |extra: &[&str]| {
        let mut v: Vec<&str> = restore.iter().map(String::as_str).collect();
        v.extend(extra);
        let v: Vec<String> = v.into_iter().map(String::from).collect();
        let b = &b;
        async move {
            let v: Vec<&str> = v.iter().map(String::as_str).collect();
            keysafe(b, &v, &vars).await
        }
    };

    // No terminal to ask on and no --confirm: a usage error, nothing changed.
    let unconfirmed = run(&[]).await;
    let said = String::from_utf8_lossy(&unconfirmed.stderr).into_owned();
    assert_eq!(unconfirmed.status.code(), Some(2), "{said}");
    assert!(said.contains("--confirm SQLDEMO01"), "{said}");
    assert!(
        said.contains("FORCE"),
        "the consequences are shown first: {said}"
    );
    // Another name typed: refused, nothing changed.
    let wrong = run(&["--confirm", "SQLOTHER"]).await;
    exits(&wrong, 1);
    assert_eq!(guid(&b), b_before, "nothing was changed");

    let done = run(&["--confirm", "sqldemo01"]).await;
    let (stdout, stderr) = (
        String::from_utf8_lossy(&done.stdout).into_owned(),
        String::from_utf8_lossy(&done.stderr).into_owned(),
    );
    assert_eq!(done.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("Proof:") && stdout.to_uppercase().contains(&a_guid),
        "{stdout}"
    );
    assert!(stderr.contains("the server reads"), "{stderr}");
    assert_eq!(guid(&b), a_guid, "B now holds A's service master key");
    // Reported as a backup is: an HTML and a JSON report, the refused attempt's too.
    let reports: Vec<PathBuf> = files_under(&b.home.join("reports"));
    assert_eq!(reports.len(), 4, "{reports:?}");
    let proven = reports
        .iter()
        .filter(|p| p.extension().is_some_and(|x| x == "html"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .filter(|t| t.contains("Restored and proven"))
        .count();
    assert_eq!(proven, 1);
    assert!(
        std::fs::read_dir(&local).unwrap().next().is_none(),
        "the placed file was removed"
    );

    // The history records the restore; the backup password is in no output, log or file.
    let history = std::fs::read_to_string(b.home.join("history.jsonl")).unwrap();
    let restores: Vec<serde_json::Value> = history
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["record"].clone())
        .filter(|r| r["action"] == "restore")
        .collect();
    assert_eq!(
        restores.len(),
        2,
        "the refused attempt and the restore: {history}"
    );
    assert_eq!(restores[0]["succeeded"], false);
    assert_eq!(restores[0]["restore"]["error"]["code"], "not_confirmed");
    assert_eq!(restores[1]["succeeded"], true);
    let listed = keysafe(&b, &["history"], &[]).await;
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert!(
        listed.contains("FAILED    restore of the Service Master Key")
            && listed.contains("Succeeded restore of the Service Master Key on SQLDEMO01"),
        "{listed}"
    );
    let mut seen = vec![stdout, stderr, said];
    for f in files_under(&b.home).into_iter().chain(files_under(&a.home)) {
        seen.push(String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned());
    }
    assert!(seen.iter().any(|t| t.contains("TRACE")), "traced");
    assert!(
        seen.iter().all(|t| !t.contains(&canary)),
        "the backup password leaked"
    );

    // One byte changed on the medium: refused before anything is sent, exit 1.
    let copy = files_under(&a.medium)
        .into_iter()
        .find(|p| p.extension().is_some_and(|x| x == "key"))
        .unwrap();
    let mut bytes = std::fs::read(&copy).unwrap();
    bytes[10] ^= 0x20;
    std::fs::write(&copy, bytes).unwrap();
    let refused = run(&["--confirm", "SQLDEMO01"]).await;
    let said = String::from_utf8_lossy(&refused.stderr).into_owned();
    assert_eq!(refused.status.code(), Some(1), "{said}");
    assert!(said.contains("nothing was sent"), "{said}");
}

#[tokio::test]
async fn coverage_flags_the_dropped_certificate_retained_backups_need_and_counts_keysafe_copies() {
    let e = env().await;
    let report_dir = e.medium.with_file_name("coverage");
    let r = report_dir.display().to_string();
    let c = conn(&e);
    let mut args = vec!["coverage"];
    args.extend(c.iter().map(String::as_str));
    args.extend(["--retention-days", "30", "--report", &r]);
    let vars = [
        ("KS_LOGIN_PW", "Operat0r!Pass#1"),
        ("KS_BACKUP_PW", "Str0ng!Backup#Pass"),
    ];
    let before = keysafe(&e, &args, &vars).await;
    let stdout = String::from_utf8_lossy(&before.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&before.stderr).into_owned();
    assert_eq!(before.status.code(), Some(1), "{stdout}\n{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[0].contains("4 backup(s) in the last 30 day(s)"),
        "{stdout}"
    );
    assert!(
        lines[1].contains("1 kept backup cannot be restored anywhere"),
        "the worst first, in numbers: {stdout}"
    );
    assert!(
        lines[2].starts_with("  LOST: not on the server, no copy")
            && lines[2].contains("no longer on the server"),
        "the dropped backup encryption certificate comes first: {stdout}"
    );
    assert!(
        stdout.contains("AT RISK: only on the server: certificate TDE_Payroll"),
        "{stdout}"
    );
    let html = files_under(&report_dir)
        .into_iter()
        .find(|p| p.extension().is_some_and(|x| x == "html"))
        .expect("the HTML report");
    let page = std::fs::read_to_string(html).unwrap();
    assert!(
        page.contains("class=\"bad\">LOST: not on the server"),
        "{page}"
    );
    assert!(files_under(&report_dir).len() == 3, "HTML, JSON and CSV");

    // Keysafe backs up TDE_Payroll: now its backups are covered.
    let medium = e.medium.display().to_string();
    let mut b = vec!["backup", "cert", "--certificate", "master.TDE_Payroll"];
    b.extend(c.iter().map(String::as_str));
    b.extend(["--password-env", "KS_BACKUP_PW", "--copy-to", &medium]);
    let backed = keysafe(&e, &b, &vars).await;
    assert_eq!(
        backed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&backed.stderr)
    );
    let mut j = args[..args.len() - 2].to_vec();
    j.push("--json");
    let after = keysafe(&e, &j, &vars).await;
    assert_eq!(after.status.code(), Some(1), "Sales' backup is still lost");
    let v: serde_json::Value = serde_json::from_slice(&after.stdout).unwrap();
    let certs = v[0]["certificates"].as_array().unwrap();
    let payroll = certs
        .iter()
        .find(|c| c["name"] == "TDE_Payroll")
        .expect("TDE_Payroll is needed");
    assert_eq!(payroll["verdict"], "covered", "{payroll}");
    assert_eq!(certs[0]["verdict"], "lost");
}

#[tokio::test]
async fn one_action_makes_a_tde_database_restorable_on_another_instance_and_verifies_its_backup() {
    let src = env().await;
    let dst = env_with("[server]\nmachine_name = \"SQLDR\"\n").await;
    // The demo's Payroll backup, copied to the DR server as an administrator would.
    let bak = r"C:\Program Files\Microsoft SQL Server\MSSQL16.MSSQLSERVER\MSSQL\Backup\Payroll_FULL_1.bak";
    let there = r"C:\Program Files\Microsoft SQL Server\MSSQL16.MSSQLSERVER\MSSQL\Backup\Payroll_from_prod.bak";
    std::fs::copy(
        src.emu.instance().host_path(bak).unwrap(),
        dst.emu.instance().host_path(there).unwrap(),
    )
    .unwrap();
    let mut args: Vec<String> = vec!["copy-certificate".into()];
    for e in [&src, &dst] {
        args.extend([
            "--server".into(),
            format!("localhost,{}", e.emu.addr().port()),
        ]);
    }
    args.extend(
        [
            "--login",
            "sa",
            "--login-password-env",
            "KS_LOGIN_PW",
            "--trust-server-certificate",
            "--for-tde-database",
            "Payroll",
            "--verify-backup",
            there,
        ]
        .map(String::from),
    );
    args.extend(keysafe_test_support::encrypt_args());
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let vars = [
        ("KS_LOGIN_PW", mssql_emulator::DEFAULT_SA_PASSWORD),
        ("KS_NEW_DMK", "Dr!Master#Key2026"),
    ];
    // DR's master has no master key: refused until a password for one is given.
    let refused = keysafe(&src, &a, &vars).await;
    exits(&refused, 1);
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("no database master key"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let mut with_key = a.clone();
    with_key.extend(["--create-master-key-password-env", "KS_NEW_DMK"]);
    let done = keysafe(&src, &with_key, &vars).await;
    let (stdout, stderr) = (
        String::from_utf8_lossy(&done.stdout).into_owned(),
        String::from_utf8_lossy(&done.stderr).into_owned(),
    );
    assert_eq!(done.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("TDE_Payroll") && stdout.contains("can be restored there"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Rehearsal: RESTORE VERIFYONLY") && stdout.contains("succeeded"),
        "{stdout}"
    );
    assert!(stderr.contains("Back it up now"), "{stderr}");
}

#[tokio::test]
async fn restore_dmk_on_another_instance_keeps_its_new_password_to_itself() {
    let a = env().await;
    let b = env_with("[server]\nmachine_name = \"SQLDR\"\n").await;
    b.emu
        .instance()
        .run_as("sa", "CREATE DATABASE HR;")
        .unwrap();
    let medium = a.medium.display().to_string();
    let c = conn(&a);
    let mut args = vec!["backup", "dmk", "--database", "HR"];
    args.extend(c.iter().map(String::as_str));
    args.extend(["--password-env", "KS_BACKUP_PW", "--copy-to", &medium]);
    let backed = keysafe(
        &a,
        &args,
        &[
            ("KS_LOGIN_PW", "Operat0r!Pass#1"),
            ("KS_BACKUP_PW", "Str0ng!Backup#Pass"),
        ],
    )
    .await;
    assert_eq!(
        backed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&backed.stderr)
    );

    let folder = r"C:\Program Files\Microsoft SQL Server\MSSQL16.MSSQLSERVER\MSSQL\Backup\Restore";
    let local = b
        .emu
        .instance()
        .host_path(folder)
        .unwrap()
        .display()
        .to_string();
    let port = format!("localhost,{}", b.emu.addr().port());
    let mut r = vec![
        "restore",
        "dmk",
        &medium,
        "--database",
        "HR",
        "--server",
        &port,
        "--login",
        "sa",
        "--login-password-env",
        "KS_LOGIN_PW",
        "--trust-server-certificate",
        "--password-env",
        "KS_BACKUP_PW",
        "--master-key-password-env",
        "KS_NEW_DMK",
        "--add-service-master-key",
        "--server-dir",
        folder,
        "--server-dir-local",
        &local,
    ];
    let enc = keysafe_test_support::encrypt_args();
    r.extend(enc.iter().map(String::as_str));
    let canary = format!("NewDmk!Canary{}#z", std::process::id());
    let out = keysafe(
        &b,
        &r,
        &[
            ("KS_LOGIN_PW", mssql_emulator::DEFAULT_SA_PASSWORD),
            ("KS_BACKUP_PW", "Str0ng!Backup#Pass"),
            ("KS_NEW_DMK", canary.as_str()),
            ("KEYSAFE_LOG", "trace"),
        ],
    )
    .await;
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("HR database master key restored"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Proof: The restored master key opens with its new password"),
        "{stdout}"
    );
    // It opens by itself on B now: B's service master key encrypts it.
    let by_smk = b
        .emu
        .instance()
        .state()
        .database("HR")
        .and_then(|d| d.master_key.as_ref().map(|k| k.by_smk.is_some()));
    assert_eq!(by_smk, Some(true));
    let mut seen = vec![stdout, stderr];
    for f in files_under(&b.home) {
        seen.push(String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned());
    }
    assert!(seen.iter().any(|t| t.contains("TRACE")), "traced");
    assert!(
        seen.iter().all(|t| !t.contains(&canary)),
        "the new master key's password leaked"
    );
}

#[tokio::test]
async fn strict_encryption_backs_up_on_a_force_strict_instance_and_mandatory_is_told_to_use_it() {
    let e = env_with(&DEMO.replacen(
        "[server]\n",
        "[server]\nforce_strict_encryption = true\n",
        1,
    ))
    .await;
    let mut base: Vec<String> = conn(&e)
        .into_iter()
        .take_while(|a| a != "--encrypt")
        .collect();
    // Mandatory (the default): refused before any login, with the fix named.
    let mut args: Vec<String> = vec!["inventory".into()];
    args.extend(base.clone());
    let (code, err) = run(&e, &args, &OPERATOR).await;
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("Force Strict Encryption"), "{err}");
    assert!(err.contains("Encrypt = Strict"), "{err}");
    // Strict with "Trust server certificate": refused, nothing sent.
    let mut args: Vec<String> = vec!["inventory".into(), "--encrypt".into(), "strict".into()];
    args.extend(
        base.iter()
            .take_while(|a| *a != "--ca-file")
            .cloned()
            .chain(["--trust-server-certificate".to_string()]),
    );
    let (code, err) = run(&e, &args, &OPERATOR).await;
    assert_ne!(code, Some(0), "{err}");
    assert!(
        err.contains("always verifies the server's certificate"),
        "{err}"
    );
    if keysafe_core::windows::under_wine() {
        // Strict is full-session TLS, which Wine's SChannel stalls on key files (README).
        return;
    }
    base.extend(["--encrypt".into(), "strict".into()]);
    let mut args: Vec<String> = vec![
        "backup".into(),
        "smk".into(),
        "--password-env".into(),
        "KS_BACKUP_PW".into(),
        "--copy-to".into(),
        e.medium.display().to_string(),
        "--carrier".into(),
        "Tester".into(),
        "--storage-location".into(),
        "Safe 1".into(),
    ];
    args.extend(base);
    let (_, err) = run(&e, &args, &OPERATOR).await;
    let json = files_under(&e.medium)
        .into_iter()
        .find(|p| p.extension().is_some_and(|x| x == "json"))
        .unwrap_or_else(|| panic!("a JSON report: {err}"));
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(json).unwrap()).unwrap();
    assert_eq!(r["summary"]["keys_verified"], 1, "{err}");
    let copies: Vec<PathBuf> = files_under(&e.medium)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == "key"))
        .collect();
    assert_eq!(copies.len(), 1, "{copies:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&copies[0]).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "a copy on the medium is this account's only");
    }
}

#[tokio::test]
async fn inventory_names_a_2025_symmetric_key_and_its_oaep_encryption() {
    let e = env_with(&DEMO.replacen("version = 2022", "version = 2025", 1)).await;
    e.emu
        .instance()
        .run_as(
            "sa",
            "USE master; CREATE CERTIFICATE CardCert WITH SUBJECT = 'Card numbers';
             CREATE SYMMETRIC KEY CardKey WITH ALGORITHM = AES_256 ENCRYPTION BY CERTIFICATE CardCert, PASSWORD = 'Card!Key#Pass1';",
        )
        .unwrap();
    let mut args = vec!["inventory".to_string()];
    args.extend(conn(&e));
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = keysafe(&e, &a, &OPERATOR).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("SQL Server 17.0."), "{text}");
    assert!(
        text.contains("symmetric key CardKey (AES_256) encrypted by certificate CardCert (RSA-OAEP-256), by a password"),
        "{text}"
    );
    assert!(
        text.contains("master.CardCert: encrypts the symmetric key CardKey"),
        "{text}"
    );
}

#[tokio::test]
async fn names_a_server_chose_cannot_drive_the_terminal_or_forge_lines() {
    let e = env().await;
    // A database whose name repaints the line, turns text green and starts a new line.
    e.emu
        .instance()
        .run_as(
            "sa",
            "CREATE DATABASE [Evil\u{1b}[2K\r\u{1b}[32mBACKED UP\u{1b}[0m\nFORGED LINE];
             USE [Evil\u{1b}[2K\r\u{1b}[32mBACKED UP\u{1b}[0m\nFORGED LINE];
             CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Evil!Master#Key1';",
        )
        .unwrap();
    for cmd in ["status", "inventory"] {
        let mut args = vec![cmd.to_string()];
        args.extend(conn(&e));
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = keysafe(&e, &a, &OPERATOR).await;
        let text = String::from_utf8_lossy(&out.stdout);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(text.contains("Evil"), "{cmd}: {text}");
        for stream in [&text, &err] {
            assert!(
                !stream.contains('\u{1b}') && !stream.contains('\r'),
                "{cmd}: {stream:?}"
            );
            assert!(
                !stream.lines().any(|l| l.starts_with("FORGED LINE")),
                "{cmd}: {stream}"
            );
        }
        assert!(
            text.contains("\\u{1b}[32mBACKED UP"),
            "{cmd}: shown escaped: {text}"
        );
    }
}

#[tokio::test]
async fn a_fresh_home_is_private_quiet_and_command_line_flags_override_a_profile() {
    let e = env_with(&DEMO.replacen(
        "[server]\n",
        "[server]\nforce_strict_encryption = true\n",
        1,
    ))
    .await;
    let server = format!("localhost,{}", e.emu.addr().port());
    let ca = e.emu.cert_pem_path().unwrap().display().to_string();
    let name = format!("Optional-{}", std::process::id());
    // The profile says Optional; this server forces Strict.
    let add = keysafe(
        &e,
        &[
            "profile",
            "add",
            &name,
            "--server",
            &server,
            "--login",
            "keysafe_operator",
            "--ca-file",
            &ca,
            "--encrypt",
            "optional",
        ],
        &[],
    )
    .await;
    let add_err = String::from_utf8_lossy(&add.stderr).into_owned();
    assert_eq!(add.status.code(), Some(0), "{add_err}");
    // The very first command on a fresh KEYSAFE_HOME says nothing about its log folder.
    assert!(!add_err.contains("log directory"), "{add_err}");
    let pw = [("KS_LOGIN_PW", "Operat0r!Pass#1")];
    let with = |extra: &'static [&'static str]| {
        let mut a = vec![
            "inventory",
            "--profile",
            name.as_str(),
            "--login-password-env",
            "KS_LOGIN_PW",
        ];
        a.extend_from_slice(extra);
        a
    };
    let refused = keysafe(&e, &with(&[]), &pw).await;
    exits(&refused, 1);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("Encrypt = Strict"));
    if !keysafe_core::windows::under_wine() {
        let strict = keysafe(&e, &with(&["--encrypt", "strict"]), &pw).await;
        assert_eq!(
            strict.status.code(),
            Some(0),
            "--encrypt on the command line wins over the profile's: {}",
            String::from_utf8_lossy(&strict.stderr)
        );
    }
    // A timeout past what a connection may wait is a usage error, not a panic.
    let huge = keysafe(
        &e,
        &with(&["--connect-timeout", "18446744073709551615"]),
        &pw,
    )
    .await;
    assert_eq!(
        huge.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&huge.stderr)
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&e.home), 0o700, "KEYSAFE_HOME");
        assert_eq!(mode(&e.home.join("logs")), 0o700, "its logs");
        assert_eq!(mode(&e.home.join("profiles.json")), 0o600, "the profiles");
    }
}

#[tokio::test]
async fn a_certificate_created_again_under_its_old_name_is_not_backed_up() {
    let e = env().await;
    e.emu
        .instance()
        .run_as(
            "sa",
            "USE master; CREATE CERTIFICATE Signer WITH SUBJECT = 'Signing 2026';",
        )
        .unwrap();
    let medium = e.medium.display().to_string();
    let mut backup: Vec<String> = [
        "backup",
        "cert",
        "--certificate",
        "master.Signer",
        "--password-env",
        "KS_BACKUP_PW",
        "--copy-to",
        &medium,
    ]
    .map(String::from)
    .to_vec();
    backup.extend(conn(&e));
    let (code, stderr) = run(&e, &backup, &OPERATOR).await;
    assert!(
        stderr.contains("backed up, copied, verified"),
        "{code:?} {stderr}"
    );
    let state = |out: std::process::Output| -> String {
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v[0]["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["label"].as_str().unwrap_or("").contains("Signer"))
            .map(|k| k["state"].as_str().unwrap().to_string())
            .unwrap()
    };
    let mut status: Vec<String> = vec!["status".into(), "--json".into()];
    status.extend(conn(&e));
    let a: Vec<&str> = status.iter().map(String::as_str).collect();
    assert_eq!(state(keysafe(&e, &a, &OPERATOR).await), "backed_up");
    // Dropped and made again: same name, another key. No copy on the medium restores it.
    e.emu
        .instance()
        .run_as(
            "sa",
            "USE master; DROP CERTIFICATE Signer; CREATE CERTIFICATE Signer WITH SUBJECT = 'Signing 2026';",
        )
        .unwrap();
    assert_eq!(state(keysafe(&e, &a, &OPERATOR).await), "never");
}

/// A master key is what its key_guid says: dropped and created again in the same database it
/// is another key, never backed up, not a backed-up key that merely changed.
#[tokio::test]
async fn a_master_key_created_again_is_another_key() {
    let e = env().await;
    let sa = |sql: &str| e.emu.instance().run_as("sa", sql).unwrap();
    sa("CREATE DATABASE Guid; USE Guid; CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Guid!Master#Pass1';");
    let medium = e.medium.display().to_string();
    let mut backup: Vec<String> = [
        "backup",
        "dmk",
        "--database",
        "Guid",
        "--password-env",
        "KS_BACKUP_PW",
        "--copy-to",
        &medium,
    ]
    .map(String::from)
    .to_vec();
    backup.extend(conn(&e));
    let (code, stderr) = run(&e, &backup, &OPERATOR).await;
    assert_eq!(code, Some(0), "{stderr}");
    let key = |out: std::process::Output| -> serde_json::Value {
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v[0]["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["label"] == "Guid database master key")
            .cloned()
            .unwrap_or_else(|| panic!("{v}"))
    };
    let mut status: Vec<String> = vec!["status".into(), "--json".into()];
    status.extend(conn(&e));
    let a: Vec<&str> = status.iter().map(String::as_str).collect();
    assert_eq!(key(keysafe(&e, &a, &OPERATOR).await)["state"], "backed_up");
    // The history names the key by its GUID.
    let history = std::fs::read_to_string(e.home.join("history.jsonl")).unwrap();
    let recorded: serde_json::Value =
        serde_json::from_str(history.lines().last().unwrap()).unwrap();
    let guid = recorded["record"]["keys"][0]["key_guid"].as_str().unwrap();
    assert!(
        guid.len() == 36 && guid.chars().all(|c| c == '-' || c.is_ascii_hexdigit()),
        "{guid}"
    );
    sa("USE Guid; DROP MASTER KEY; CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Guid!Master#Pass2';");
    let k = key(keysafe(&e, &a, &OPERATOR).await);
    assert_eq!(k["state"], "never", "{k}");
}

/// A medium whose path is not valid Unicode cannot be named in the report or the history:
/// refused before anything is sent, not a panic after the backup.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_medium_path_that_is_not_unicode_is_refused_before_anything_is_sent() {
    use std::os::unix::ffi::OsStrExt;
    let e = env().await;
    let medium = e
        .home
        .parent()
        .unwrap()
        .join(std::ffi::OsStr::from_bytes(b"med\xff\xfeium"));
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_keysafe"));
    cmd.arg("backup")
        .arg("smk")
        .args(conn(&e))
        .args(["--password-env", "KS_BACKUP_PW", "--copy-to"])
        .arg(&medium)
        .env("KEYSAFE_HOME", &e.home);
    for (k, v) in OPERATOR {
        cmd.env(k, v);
    }
    let out = finish(cmd, &e.home).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("not valid Unicode") && !err.contains("panicked"),
        "{err}"
    );
    assert!(!medium.exists(), "nothing was created");
    let written = e
        .emu
        .instance()
        .host_path(
            r"C:\Program Files\Microsoft SQL Server\MSSQL16.MSSQLSERVER\MSSQL\Backup\Keysafe",
        )
        .unwrap();
    assert!(
        !written.exists() || std::fs::read_dir(&written).unwrap().next().is_none(),
        "nothing was backed up"
    );
}

/// A Linux server reached as localhost names a folder this machine also has: Keysafe changes
/// its owner and mode only when a marker written here is the file the server reads there.
/// The emulator's folders are its own, so this machine's folder of that name is left as it
/// was (run as root, it would have become the service account's, mode 0700).
#[cfg(unix)]
#[tokio::test]
async fn a_local_folder_is_not_changed_on_the_servers_word() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let e = env_with(
        "[server]\nmachine_name = \"SQLLNX\"\nversion = 2022\nplatform = \"linux\"\nservice_account = \"nobody\"\n",
    )
    .await;
    let victim = e.home.parent().unwrap().join("unrelated");
    std::fs::create_dir_all(&victim).unwrap();
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o755)).unwrap();
    let before = std::fs::metadata(&victim).unwrap();
    let medium = e.medium.display().to_string();
    let server_dir = victim.display().to_string();
    let port = e.emu.addr().port();
    let ca = e.emu.cert_pem_path().unwrap().display().to_string();
    let mut args = vec![
        "backup".to_string(),
        "smk".into(),
        "--server".into(),
        format!("localhost,{port}"),
        "--login".into(),
        "sa".into(),
        "--login-password-env".into(),
        "KS_SA".into(),
        "--ca-file".into(),
        ca,
        "--password-env".into(),
        "KS_BACKUP_PW".into(),
        "--copy-to".into(),
        medium,
        "--server-dir".into(),
        server_dir,
    ];
    args.extend(keysafe_test_support::encrypt_args());
    let (_, stderr) = run(
        &e,
        &args,
        &[
            ("KS_SA", mssql_emulator::DEFAULT_SA_PASSWORD),
            ("KS_BACKUP_PW", "Str0ng!Backup#Pass"),
        ],
    )
    .await;
    let after = std::fs::metadata(&victim).unwrap();
    assert_eq!(after.mode() & 0o7777, before.mode() & 0o7777, "{stderr}");
    assert_eq!(
        (after.uid(), after.gid()),
        (before.uid(), before.gid()),
        "{stderr}"
    );
    let json = files_under(&e.medium)
        .into_iter()
        .find(|p| p.extension().is_some_and(|x| x == "json"))
        .unwrap_or_else(|| panic!("a report: {stderr}"));
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(json).unwrap()).unwrap();
    let protection = r["instances"][0]["folder_protection"].as_str().unwrap();
    assert!(
        protection.contains("is not the server's folder"),
        "{protection}"
    );
    assert_eq!(
        r["summary"]["keys_verified"], 1,
        "the backup itself is done: {stderr}"
    );
}

/// A relay on the network path records every byte Keysafe sends. With Encrypt = Optional at a
/// server that does not force encryption, only the login is encrypted: Keysafe refuses to
/// send the backup password or read a key file, says why, and the wire holds neither. At a
/// server that forces encryption, Optional is a whole-session TLS and the backup runs.
#[tokio::test]
async fn under_optional_no_secret_crosses_a_plaintext_session() {
    for tls in [
        mssql_emulator::TlsMode::On,
        mssql_emulator::TlsMode::Required,
    ] {
        if keysafe_core::windows::under_wine() && tls == mssql_emulator::TlsMode::Required {
            // A whole-session TLS through Wine's SChannel stalls on the key file's response
            // (README, "Windows"): the refusal half runs there, not this one.
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        let emu = Emulator::start(
            EmulatorConfig::new(dir.path().join("server"))
                .scenario(Scenario::from_toml(DEMO).unwrap())
                .tls(tls),
        )
        .await
        .unwrap();
        let upstream = emu.addr();
        let wire = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
        let seen = wire.clone();
        let port = keysafe_test_support::relay(upstream, move |_, chunk| {
            seen.lock().unwrap().extend_from_slice(chunk);
            true
        })
        .await;
        let e = Env {
            home: dir.path().join("home"),
            medium: dir.path().join("medium"),
            _dir: dir,
            emu,
        };
        let medium = e.medium.display().to_string();
        let ca = e.emu.cert_pem_path().unwrap().display().to_string();
        let server = format!("localhost,{port}");
        let args: Vec<String> = [
            "backup",
            "smk",
            "--server",
            &server,
            "--login",
            "keysafe_operator",
            "--login-password-env",
            "KS_LOGIN_PW",
            "--ca-file",
            &ca,
            "--encrypt",
            "optional",
            "--password-env",
            "KS_BACKUP_PW",
            "--copy-to",
            &medium,
        ]
        .map(String::from)
        .to_vec();
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_keysafe"));
        cmd.args(&args)
            .env("KEYSAFE_HOME", &e.home)
            .env_remove(keysafe_core::connection::ALLOW_PLAINTEXT_SECRETS);
        for (k, v) in OPERATOR {
            cmd.env(k, v);
        }
        let out = finish(cmd, &e.home).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        let bytes = wire.lock().unwrap().clone();
        let utf16 = |s: &str| -> Vec<u8> { s.encode_utf16().flat_map(u16::to_le_bytes).collect() };
        for secret in ["Str0ng!Backup#Pass", "Operat0r!Pass#1"] {
            let needle = utf16(secret);
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_slice()),
                "{tls:?}: {secret} crossed the wire in clear"
            );
        }
        let backup_sent = {
            let needle = utf16("BACKUP SERVICE MASTER KEY");
            bytes.windows(needle.len()).any(|w| w == needle.as_slice())
        };
        assert!(!backup_sent, "{tls:?}: no statement of it in clear either");
        match tls {
            mssql_emulator::TlsMode::On => {
                assert_eq!(out.status.code(), Some(1), "{stderr}");
                assert!(stderr.contains("would travel in clear"), "{stderr}");
                assert!(stderr.contains("Encrypt = Mandatory"), "{stderr}");
            }
            _ => assert!(
                stderr.contains("backed up, copied, verified"),
                "a server that forces encryption encrypts Optional's session too: {stderr}"
            ),
        }
    }
}

/// The history is evidence: concurrent runs take turns, an edited record is reported and not
/// believed by `status`, records cut from its end are missed (by the keyring and by the
/// reports on the medium), and a damaged line is named without stopping the next run.
#[tokio::test]
async fn a_history_edited_cut_short_or_damaged_says_so_and_is_not_believed() {
    let e = env().await;
    let backup = |to: &str| -> Vec<String> {
        let mut b: Vec<String> = [
            "backup",
            "smk",
            "--password-env",
            "KS_BACKUP_PW",
            "--copy-to",
            to,
        ]
        .map(String::from)
        .to_vec();
        b.extend(conn(&e));
        b
    };
    // Six runs at once (each to its own folder): six records, 0..5, one chain.
    let runs: Vec<_> = (0..6)
        .map(|i| backup(&e.medium.join(format!("run{i}")).display().to_string()))
        .collect();
    let results = futures_util::future::join_all(runs.iter().map(|b| run(&e, b, &OPERATOR))).await;
    for (code, stderr) in &results {
        assert_eq!(*code, Some(0), "{stderr}");
    }
    let verify = |extra: &[&str]| {
        let mut a = vec!["history", "--verify"];
        a.extend_from_slice(extra);
        let a: Vec<String> = a.into_iter().map(String::from).collect();
        let e = &e;
        async move {
            let a: Vec<&str> = a.iter().map(String::as_str).collect();
            let out = keysafe(e, &a, &[]).await;
            (
                out.status.code(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
            )
        }
    };
    assert_eq!(
        verify(&[]).await,
        (Some(0), "history intact: 6 record(s)\n".into())
    );
    let path = e.home.join("history.jsonl");
    let good: Vec<String> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    let seqs: Vec<u64> = good
        .iter()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["seq"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(seqs, [0, 1, 2, 3, 4, 5]);

    let mut status: Vec<String> = vec!["status".into(), "--json".into()];
    status.extend(conn(&e));
    let smk_state = || async {
        let a: Vec<&str> = status.iter().map(String::as_str).collect();
        let out = keysafe(&e, &a, &OPERATOR).await;
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v[0]["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["label"] == "Service Master Key")
            .map(|k| k["state"].as_str().unwrap().to_string())
            .unwrap()
    };
    assert_eq!(smk_state().await, "backed_up");

    // Every record edited (a later finish, as a forger would): none is believed any more.
    let edited: Vec<String> = good
        .iter()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["record"]["finished"] = "2099-01-01T00:00:00Z".into();
            v.to_string()
        })
        .collect();
    std::fs::write(&path, edited.join("\n") + "\n").unwrap();
    let (code, out) = verify(&[]).await;
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("history altered: 0 of 6 record(s) vouched for"),
        "{out}"
    );
    assert!(
        out.contains("line 6 (record 5) was not written by Keysafe with this history's key"),
        "{out}"
    );
    assert_eq!(
        smk_state().await,
        "never",
        "edited records are not believed"
    );

    // The last two records removed: the keyring and the medium's reports both miss them.
    std::fs::write(&path, good[..4].join("\n") + "\n").unwrap();
    let (code, out) = verify(&[]).await;
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("the history ends at record 3 but record 5 was written"),
        "{out}"
    );
    let missing = (0..6)
        .map(|i| e.medium.join(format!("run{i}")))
        .filter(|m| {
            std::fs::read_dir(m).unwrap().flatten().any(|f| {
                let n = f.file_name().to_string_lossy().into_owned();
                n.starts_with("keysafe-report-") && n.ends_with(".json") && {
                    let v: serde_json::Value =
                        serde_json::from_slice(&std::fs::read(f.path()).unwrap()).unwrap();
                    v["history"]["seq"].as_u64().unwrap() >= 4
                }
            })
        })
        .collect::<Vec<_>>();
    assert_eq!(missing.len(), 2, "two reports name the removed records");
    let (code, out) = verify(&["--medium", &missing[0].display().to_string()]).await;
    assert_eq!(code, Some(1));
    assert!(out.contains("which this history does not hold"), "{out}");

    // A damaged line: named by its number, and the next run is recorded after the newest.
    let mut damaged = good.clone();
    damaged.insert(2, "\u{1b}[2J not a record".into());
    std::fs::write(&path, damaged.join("\n") + "\n").unwrap();
    let (code, stderr) = run(
        &e,
        &backup(&e.medium.join("after").display().to_string()),
        &OPERATOR,
    )
    .await;
    assert_eq!(code, Some(0), "{stderr}");
    let (code, out) = verify(&[]).await;
    assert_eq!(code, Some(1));
    assert!(out.contains("line 3 is not a history record"), "{out}");
    assert!(out.contains("7 of 7 record(s) vouched for"), "{out}");
    let last: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .last()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(last["seq"], 6);
    assert_eq!(smk_state().await, "backed_up");
}

/// `keysafe selftest` against a test instance: every check passes and the catalog is as it
/// was; a login without the permissions the checks need gets each failure explained, and
/// exit 1.
#[tokio::test]
async fn selftest_passes_on_a_test_instance_and_a_login_without_permission_fails_it() {
    let e = env().await;
    let catalog = || {
        e.emu
            .instance()
            .run_as(
                "sa",
                "SELECT name FROM sys.databases; SELECT name FROM sys.server_principals; SELECT name FROM master.sys.certificates;",
            )
            .map(|sets| format!("{sets:?}"))
            .unwrap()
    };
    let before = catalog();
    let dir = r"C:\Program Files\Microsoft SQL Server\MSSQL16.MSSQLSERVER\MSSQL\Backup\SelfTest";
    let local = e.emu.instance().host_path(dir).unwrap();
    let sa: Vec<String> = conn_as(&e, "sa");
    let mut args: Vec<String> = vec!["selftest".into()];
    args.extend(sa.clone());
    args.extend([
        "--server-dir".into(),
        dir.into(),
        "--throwaway-instance".into(),
    ]);
    // Under Wine a local view of the server folder gets a DACL Wine does not keep (README,
    // "Windows"): the folder-protection check would fail there, so the files go over TDS.
    if !keysafe_core::windows::under_wine() {
        args.extend(["--server-dir-local".into(), local.display().to_string()]);
    }
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = keysafe(
        &e,
        &a,
        &[("KS_LOGIN_PW", mssql_emulator::DEFAULT_SA_PASSWORD)],
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (check, _) in keysafe_core::selftest::CHECKS {
        assert!(
            stdout.contains(&format!("PASS {check}: ")),
            "{check}: {stdout}"
        );
    }
    assert!(
        stdout.contains("7 checks: 7 passed, 0 failed, 0 skipped"),
        "{stdout}"
    );
    assert!(!stdout.contains(mssql_emulator::DEFAULT_SA_PASSWORD));
    assert_eq!(before, catalog(), "the self-test left objects behind");

    // A login that may only look: each check that creates something fails, explained.
    e.emu
        .instance()
        .run_as("sa", "CREATE LOGIN onlooker WITH PASSWORD = 'Watch!Only#Pass1'; GRANT VIEW SERVER STATE TO onlooker;")
        .unwrap();
    let onlooker: Vec<String> = conn_as(&e, "onlooker");
    let mut args: Vec<String> = vec!["selftest".into(), "--check".into(), "backup".into()];
    args.extend(onlooker);
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = keysafe(&e, &a, &[("KS_LOGIN_PW", "Watch!Only#Pass1")]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    // Keysafe's explanation (whose refusal it is, and what it means) and its next step, then
    // SQL Server's own message.
    assert!(
        stdout.contains(
            "FAIL backup: The self-test could not create its scratch database keysafe_conf_"
        ) && stdout.contains("_keys: The login lacks a permission"),
        "{stdout}"
    );
    assert!(
        stdout.contains("\n    Next: The self-test creates and drops its own databases, logins and certificates: run it with a sysadmin login, on a test instance.\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("\n    SQL Server: Msg 262, ")
            && stdout.contains("CREATE DATABASE permission denied"),
        "{stdout}"
    );
    assert!(
        stdout.contains("1 check: 0 passed, 1 failed, 0 skipped"),
        "{stdout}"
    );
}

/// Split custody end to end: the backup password is generated and split 2-of-3, each
/// custodian's page holds one share and nothing else secret; the report names the split and
/// its custodians; no share reaches the report, the history or the console at trace level;
/// a restore on another instance takes two shares (a mistyped one is named, one alone is
/// refused) and proves the key.
#[tokio::test]
async fn a_backup_with_split_custody_restores_from_two_of_three_shares() {
    let a = env().await;
    let b = env_with("[server]\nmachine_name = \"SQLDR\"\n").await;
    b.emu
        .instance()
        .run_as("sa", "CREATE DATABASE HR;")
        .unwrap();
    let medium = a.medium.display().to_string();
    let shares_dir = a.home.parent().unwrap().join("shares");
    let shares = shares_dir.display().to_string();
    let c = conn(&a);
    // The shares never travel with the backup they open.
    let on_medium = a.medium.join("shares").display().to_string();
    let mut refused = vec!["backup", "dmk", "--database", "HR"];
    refused.extend(c.iter().map(String::as_str));
    refused.extend([
        "--split",
        "2",
        "--custodian",
        "Ann",
        "--custodian",
        "Bob",
        "--shares-to",
        &on_medium,
        "--copy-to",
        &medium,
    ]);
    let out = keysafe(&a, &refused, &[("KS_LOGIN_PW", "Operat0r!Pass#1")]).await;
    exits(&out, 2);
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("is on the medium: the shares must not travel with the backup they open"));
    let mut args = vec!["backup", "dmk", "--database", "HR"];
    args.extend(c.iter().map(String::as_str));
    args.extend([
        "--split",
        "2",
        "--custodian",
        "Ann Lee",
        "--custodian",
        "Bob Roy",
        "--custodian",
        "Cy Wu",
        "--shares-to",
        &shares,
        "--copy-to",
        &medium,
        "--verify-restore",
        "--json",
    ]);
    let backed = keysafe(
        &a,
        &args,
        &[("KS_LOGIN_PW", "Operat0r!Pass#1"), ("KEYSAFE_LOG", "trace")],
    )
    .await;
    let (stdout, stderr) = (
        String::from_utf8_lossy(&backed.stdout).into_owned(),
        String::from_utf8_lossy(&backed.stderr).into_owned(),
    );
    assert_eq!(backed.status.code(), Some(0), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let split = &report["custody"]["password_split"];
    assert_eq!(split["threshold"], 2, "{report}");
    assert_eq!(
        split["custodians"],
        serde_json::json!(["Ann Lee", "Bob Roy", "Cy Wu"])
    );
    assert_eq!(report["summary"]["keys_verified"], 1);

    // One page per custodian, each with its own share.
    let mut pages: Vec<PathBuf> = std::fs::read_dir(&shares_dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    pages.sort();
    assert_eq!(pages.len(), 3, "{pages:?}");
    let share_of = |p: &Path| {
        let html = std::fs::read_to_string(p).unwrap();
        let start = html.find("KS1-").expect("a share on the page");
        html[start..].split('<').next().unwrap().to_string()
    };
    let texts: Vec<String> = pages.iter().map(|p| share_of(p)).collect();
    assert!(std::fs::read_to_string(&pages[0])
        .unwrap()
        .contains("Ann Lee"));
    assert_ne!(texts[0], texts[1]);
    // No share anywhere but its page: not the console, the medium, the report or the history.
    let mut elsewhere = vec![stdout.clone(), stderr.clone()];
    for f in files_under(&a.medium)
        .into_iter()
        .chain(files_under(&a.home))
    {
        elsewhere.push(String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned());
    }
    for t in &texts {
        for (i, e) in elsewhere.iter().enumerate() {
            assert!(!e.contains(t.as_str()), "a share leaked into output {i}");
        }
    }

    // The restore on another instance, from shares.
    let folder = r"C:\Program Files\Microsoft SQL Server\MSSQL16.MSSQLSERVER\MSSQL\Backup\Restore";
    let local = b
        .emu
        .instance()
        .host_path(folder)
        .unwrap()
        .display()
        .to_string();
    let port = format!("localhost,{}", b.emu.addr().port());
    let restore = |share_vars: &[&'static str]| {
        let mut r: Vec<String> = [
            "restore",
            "dmk",
            &medium,
            "--database",
            "HR",
            "--server",
            &port,
            "--login",
            "sa",
            "--login-password-env",
            "KS_LOGIN_PW",
            "--trust-server-certificate",
            "--master-key-password-env",
            "KS_NEW_DMK",
            "--add-service-master-key",
            "--server-dir",
            folder,
            "--server-dir-local",
            &local,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for v in share_vars {
            r.extend(["--share-env".to_string(), v.to_string()]);
        }
        r.extend(keysafe_test_support::encrypt_args());
        r
    };
    // One character near the end typed wrong.
    let mistyped: String = {
        let at = texts[2].len() - 2;
        texts[2]
            .char_indices()
            .map(|(i, ch)| {
                if i == at {
                    if ch == 'Z' {
                        'Y'
                    } else {
                        'Z'
                    }
                } else {
                    ch
                }
            })
            .collect()
    };
    let vars = [
        ("KS_LOGIN_PW", mssql_emulator::DEFAULT_SA_PASSWORD),
        ("KS_NEW_DMK", "Restored!Dmk#2026"),
        ("KS_SHARE_A", texts[0].as_str()),
        ("KS_SHARE_C", texts[2].as_str()),
        ("KS_SHARE_BAD", mistyped.as_str()),
    ];
    // Shares that cannot open the backup are the caller's input: exit 2, nothing sent.
    let (code, err) = run(&b, &restore(&["KS_SHARE_A"]), &vars).await;
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("needs 2 shares; 1 given"), "{err}");
    let (code, err) = run(&b, &restore(&["KS_SHARE_A", "KS_SHARE_BAD"]), &vars).await;
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("the 2nd share you gave has a typing mistake"),
        "{err}"
    );
    let r = restore(&["KS_SHARE_C", "KS_SHARE_A"]);
    let out = keysafe(&b, &r.iter().map(String::as_str).collect::<Vec<_>>(), &vars).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("Proof: The restored master key opens with its new password"),
        "{stdout}"
    );
    let by_smk = b
        .emu
        .instance()
        .state()
        .database("HR")
        .and_then(|d| d.master_key.as_ref().map(|k| k.by_smk.is_some()));
    assert_eq!(by_smk, Some(true));
}

/// The evidence pack's structure and control mapping, without dates, hashes or paths: what a
/// reviewer compares with `tests/golden/`.
fn evidence_shape(pack: &serde_json::Value) -> serde_json::Value {
    let keys: Vec<serde_json::Value> = pack["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            let mut fields: Vec<&str> = k.as_object().unwrap().keys().map(String::as_str).collect();
            fields.sort();
            serde_json::json!({
                "label": k["label"],
                "identity_kind": k["identity"].as_str().unwrap().split(' ').next(),
                "fields": fields,
                "controls": k["controls"].as_array().unwrap().iter().map(|c| serde_json::json!({
                    "control": c["control"], "met": c["met"], "gaps": c["gaps"],
                })).collect::<Vec<_>>(),
                "restore_proof": k["restore_proof"].as_str().unwrap().split(':').next(),
                "password": k["password"].as_str().unwrap().split(';').next(),
            })
        })
        .collect();
    serde_json::json!({
        "schema": pack["schema"],
        "standard": pack["standard"],
        "controls": pack["controls"],
        "keys": keys,
    })
}

fn golden(name: &str, actual: &serde_json::Value) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    let text = serde_json::to_string_pretty(actual).unwrap() + "\n";
    if std::env::var("KEYSAFE_UPDATE_GOLDEN").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &text).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "{} is missing: run with KEYSAFE_UPDATE_GOLDEN=1 and review it",
            path.display()
        )
    });
    assert_eq!(
        expected, text,
        "{name} differs from the reviewed golden file"
    );
}

/// The evidence pack after a split-custody backup with a restore proof: each control of the
/// STIG and of PCI DSS answered from the history, compared with the reviewed golden files;
/// the pack's check holds until a history line it cites is edited, then fails naming it.
#[tokio::test]
async fn the_evidence_pack_maps_each_key_to_its_controls_and_its_check_catches_an_edit() {
    let e = env().await;
    let medium = e.medium.display().to_string();
    let shares = e
        .home
        .parent()
        .unwrap()
        .join("shares")
        .display()
        .to_string();
    let c = conn(&e);
    let mut args = vec!["backup", "dmk", "--database", "HR"];
    args.extend(c.iter().map(String::as_str));
    args.extend([
        "--split",
        "2",
        "--custodian",
        "Ann Lee",
        "--custodian",
        "Bob Roy",
        "--shares-to",
        &shares,
        "--copy-to",
        &medium,
        "--verify-restore",
        "--carrier",
        "Ann Lee",
        "--storage-location",
        "Vault 3",
    ]);
    let out = keysafe(&e, &args, &[("KS_LOGIN_PW", "Operat0r!Pass#1")]).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let packs = e.home.parent().unwrap().join("evidence");
    let packs_s = packs.display().to_string();
    for (standard, file) in [
        ("stig", "evidence-stig.json"),
        ("pci", "evidence-pci.json"),
        ("cis", "evidence-cis.json"),
    ] {
        let out = keysafe(
            &e,
            &[
                "evidence",
                "--standard",
                standard,
                "--out",
                &packs_s,
                "--json",
            ],
            &[],
        )
        .await;
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let pack: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(pack["keys"].as_array().unwrap().len(), 1, "{pack}");
        assert!(
            pack["keys"][0]["identity"]
                .as_str()
                .unwrap()
                .starts_with("key_guid "),
            "{pack}"
        );
        golden(file, &evidence_shape(&pack));
    }
    // One instance only: the demo's keys for its own name (any case), none for another (kept
    // apart from the packs checked below).
    let one = packs.with_file_name("evidence-one").display().to_string();
    for (instance, keys, code) in [("sqldemo01", 1, 0), ("SQLOTHER", 0, 1)] {
        let out = keysafe(
            &e,
            &[
                "evidence",
                "--standard",
                "stig",
                "--instance",
                instance,
                "--out",
                &one,
                "--json",
            ],
            &[],
        )
        .await;
        exits(&out, code);
        let pack: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(pack["instance"], instance);
        assert_eq!(pack["keys"].as_array().unwrap().len(), keys, "{pack}");
    }
    // One run, by the first characters of its id, whenever it was; an unknown one refused.
    let history_line = std::fs::read_to_string(e.home.join("history.jsonl")).unwrap();
    let at = history_line.find("\"run_id\":\"").expect("the run's id") + 10;
    let run_id = history_line[at..at + 36].to_string();
    let out = keysafe(
        &e,
        &[
            "evidence",
            "--standard",
            "pci",
            "--run",
            &run_id[..8],
            "--out",
            &one,
            "--json",
        ],
        &[],
    )
    .await;
    let pack: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(pack["run"], run_id.as_str(), "{pack}");
    assert_eq!(pack["keys"].as_array().unwrap().len(), 1, "{pack}");
    let out = keysafe(
        &e,
        &[
            "evidence",
            "--standard",
            "pci",
            "--run",
            "ffffffff",
            "--out",
            &one,
        ],
        &[],
    )
    .await;
    assert_ne!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("No run ffffffff in the history"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // No share of the split in any pack, HTML or JSON.
    let shares: Vec<String> = files_under(Path::new(&shares))
        .iter()
        .map(|p| {
            let html = std::fs::read_to_string(p).unwrap();
            let at = html.find("KS1-").expect("a share on its page");
            html[at..].split('<').next().unwrap().to_string()
        })
        .collect();
    assert_eq!(shares.len(), 2);
    for f in files_under(&packs)
        .into_iter()
        .chain(files_under(Path::new(&one)))
    {
        let text = std::fs::read_to_string(&f).unwrap();
        for share in &shares {
            assert!(
                !text.contains(share.as_str()),
                "{} holds a share",
                f.display()
            );
        }
    }
    let html = files_under(&packs)
        .into_iter()
        .find(|p| {
            p.to_string_lossy().contains("evidence-stig")
                && p.extension().is_some_and(|x| x == "html")
        })
        .unwrap();
    let html = std::fs::read_to_string(html).unwrap();
    assert!(
        html.contains("SQLI-22-009700") && html.contains("Evidence complete."),
        "the STIG page"
    );
    let json = files_under(&packs)
        .into_iter()
        .find(|p| {
            p.to_string_lossy().contains("evidence-stig")
                && p.extension().is_some_and(|x| x == "json")
        })
        .unwrap();
    let json_s = json.display().to_string();
    let out = keysafe(&e, &["evidence", "--verify", &json_s], &[]).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A digit of the run's record changed: the pack's check names the record.
    let history = e.home.join("history.jsonl");
    let text = std::fs::read_to_string(&history).unwrap();
    let edited = text.replacen("\"keys_verified\":1", "\"keys_verified\":2", 1);
    assert_ne!(text, edited, "the record has the count to edit");
    std::fs::write(&history, edited).unwrap();
    let out = keysafe(&e, &["evidence", "--verify", &json_s], &[]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "record 0 the pack cites is no longer in the history, or no longer vouched for"
        ),
        "{stderr}"
    );
}

/// `backup changed` backs up what status flags and nothing else: everything the first time,
/// then only a certificate created since, then nothing at all (exit 0, "up to date").
#[tokio::test]
async fn backup_changed_backs_up_the_new_certificate_and_then_nothing() {
    let e = ops_instance("SQLCHG").await;
    let medium = e.medium.display().to_string();
    let sa: Vec<String> = conn_as(&e, "sa");
    let run_changed = || {
        let mut args: Vec<String> = vec!["backup".into(), "changed".into()];
        args.extend(sa.clone());
        args.extend([
            "--password-env".into(),
            "KS_BACKUP_PW".into(),
            "--copy-to".into(),
            medium.clone(),
            "--json".into(),
        ]);
        args
    };
    let vars = [
        ("KS_LOGIN_PW", mssql_emulator::DEFAULT_SA_PASSWORD),
        ("KS_BACKUP_PW", "Str0ng!Backup#Pass"),
    ];
    let labels = |out: &Output| -> Vec<String> {
        let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        r["instances"][0]["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| format!("{}", k["key"]))
            .collect()
    };
    let a = run_changed();
    let out = keysafe(&e, &a.iter().map(String::as_str).collect::<Vec<_>>(), &vars).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        labels(&out).len(),
        3,
        "the SMK, Ops' master key and OpsCert: {:?}",
        labels(&out)
    );

    e.emu
        .instance()
        .run_as(
            "sa",
            "USE Ops; CREATE CERTIFICATE NewCert WITH SUBJECT = 'new';",
        )
        .unwrap();
    let out = keysafe(&e, &a.iter().map(String::as_str).collect::<Vec<_>>(), &vars).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = labels(&out);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].contains("NewCert"), "{got:?}");

    let out = keysafe(&e, &a.iter().map(String::as_str).collect::<Vec<_>>(), &vars).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(labels(&out).is_empty());
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["instances"][0]["up_to_date"], true, "{r}");
}

/// An instance named `machine` with a database Ops, its master key and a certificate, made
/// through T-SQL as an administrator would.
async fn ops_instance(machine: &str) -> Env {
    let e = env_with(&format!("[server]\nmachine_name = \"{machine}\"\n")).await;
    e.emu
        .instance()
        .run_as("sa", "CREATE DATABASE Ops; USE Ops; CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Ops!Master#Pass1'; CREATE CERTIFICATE OpsCert WITH SUBJECT = 'ops';")
        .unwrap();
    e
}

/// One split per instance: a fleet run gives each instance its own generated password and
/// its own pages; each instance's report names its split (the run's custody none); one
/// instance's two shares rebuild the password that opens its own backup file on the server
/// and not the other's; shares of two splits do not mix.
#[tokio::test]
async fn one_split_per_instance_gives_each_server_its_own_password_and_pages() {
    let (a, b) = (ops_instance("SQLA").await, ops_instance("SQLB").await);
    let shares_dir = a.home.parent().unwrap().join("shares");
    let (shares, medium) = (
        shares_dir.display().to_string(),
        a.medium.display().to_string(),
    );
    let (pa, pb) = (
        format!("localhost,{}", a.emu.addr().port()),
        format!("localhost,{}", b.emu.addr().port()),
    );
    let mut args = vec![
        "backup",
        "dmk",
        "--database",
        "Ops",
        "--server",
        &pa,
        "--server",
        &pb,
        "--login",
        "sa",
        "--login-password-env",
        "KS_LOGIN_PW",
        "--trust-server-certificate",
        "--split",
        "2",
        "--custodian",
        "Ann",
        "--custodian",
        "Bob",
        "--split-per-instance",
        "--shares-to",
        &shares,
        "--copy-to",
        &medium,
        "--json",
    ];
    // Under Wine only the login is encrypted (its SChannel stalls whole-session TLS).
    let wine = keysafe_test_support::encrypt_args();
    args.extend(wine.iter().map(String::as_str));
    let out = keysafe(
        &a,
        &args,
        &[("KS_LOGIN_PW", mssql_emulator::DEFAULT_SA_PASSWORD)],
    )
    .await;
    exits(&out, 0);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["custody"]["password_split"].is_null(), "{report}");
    let instances = report["instances"].as_array().unwrap();
    assert_eq!(instances.len(), 2);
    let ids: Vec<String> = instances
        .iter()
        .map(|i| {
            i["password_split"]["split_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_ne!(ids[0], ids[1]);
    assert_eq!(report["summary"]["keys_verified"], 2, "{report}");

    // Two pages per instance, each naming its own server only.
    let pages: Vec<String> = files_under(&shares_dir)
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    assert_eq!(pages.len(), 4);
    let share_of = |html: &str| {
        let start = html.find("KS1-").expect("a share on the page");
        keysafe_core::Password::new(html[start..].split('<').next().unwrap())
    };
    let of_split = |id: &str, server: &str, other: &str| -> Vec<keysafe_core::Password> {
        let mine: Vec<&String> = pages
            .iter()
            .filter(|p| p.contains(&format!("Split <strong>{id}</strong>")))
            .collect();
        assert_eq!(mine.len(), 2, "two pages of split {id}");
        for p in &mine {
            assert!(p.contains(server) && !p.contains(other), "{p}");
        }
        mine.iter().map(|p| share_of(p)).collect()
    };
    let (sa, sb) = (of_split(&ids[0], &pa, &pb), of_split(&ids[1], &pb, &pa));
    let (pw_a, pw_b) = (
        keysafe_core::custody::combine(&sa).unwrap(),
        keysafe_core::custody::combine(&sb).unwrap(),
    );
    assert_ne!(pw_a.expose(), pw_b.expose());
    let Err(mixed) = keysafe_core::custody::combine(&[sa[0].clone(), sb[1].clone()]) else {
        panic!("shares of two splits combined");
    };
    assert!(
        mixed
            .message
            .contains("shares of different splits do not combine"),
        "{}",
        mixed.message
    );

    // Each password opens its own instance's backup file there, and not the other's.
    let restore = |e: &Env, i: usize, pw: &str| {
        let file = instances[i]["keys"][0]["files"][0]["server_path"]
            .as_str()
            .unwrap();
        e.emu.instance().run_as(
            "sa",
            &format!("USE Ops; RESTORE MASTER KEY FROM FILE = '{file}' DECRYPTION BY PASSWORD = '{}' ENCRYPTION BY PASSWORD = 'New!Ops#Master1' FORCE;", pw.replace('\'', "''")),
        )
    };
    restore(&a, 0, pw_a.expose()).unwrap();
    restore(&b, 1, pw_b.expose()).unwrap();
    assert!(
        restore(&a, 0, pw_b.expose()).is_err(),
        "another instance's password opened the file"
    );
}

/// The scratch instance of the drill tests: the emulator's default instance (SQLPROD01), sa.
async fn scratch_env() -> Env {
    env_with(include_str!("../../mssql-emulator/scenarios/default.toml")).await
}

/// `backup all` of the demo instance to its medium, every password given.
async fn back_up_everything(e: &Env) {
    let medium = e.medium.display().to_string();
    let mut args = vec!["backup", "all"];
    let c = conn(e);
    args.extend(c.iter().map(String::as_str));
    args.extend([
        "--password-env",
        "KS_BACKUP_PW",
        "--copy-to",
        &medium,
        "--master-key-password-env",
        "Sales=KS_SALES",
        "--certificate-password-env",
        "Sales.SalesSigning=KS_SIGN",
    ]);
    let out = keysafe(
        e,
        &args,
        &[
            ("KS_LOGIN_PW", "Operat0r!Pass#1"),
            ("KS_BACKUP_PW", "Str0ng!Backup#Pass"),
            ("KS_SALES", "Sales!Dmk#Pass1"),
            ("KS_SIGN", "Signing!Cert#Pw1"),
        ],
    )
    .await;
    exits(&out, 0);
}

const DEMO_BACKUPS: &str =
    r"C:\Program Files\Microsoft SQL Server\MSSQL16.MSSQLSERVER\MSSQL\Backup";
const SCRATCH_SHARE: &str =
    r"C:\Program Files\Microsoft SQL Server\MSSQL16.MSSQLSERVER\MSSQL\Backup\FromSQLDEMO01";
const SCRATCH_DIR: &str =
    r"C:\Program Files\Microsoft SQL Server\MSSQL16.MSSQLSERVER\MSSQL\Backup\Drill";

/// `keysafe drill` of `source`'s medium on `scratch` (sa on both, the source second).
async fn drill(source: &Env, scratch: &Env, extra: &[&str], backup_pw: &str) -> Output {
    let local = scratch.emu.instance().host_path(SCRATCH_DIR).unwrap();
    let seen_as = format!("{DEMO_BACKUPS}={SCRATCH_SHARE}");
    let mut args: Vec<String> = [
        "drill",
        &source.medium.display().to_string(),
        "--server",
        &format!("localhost,{}", scratch.emu.addr().port()),
        "--server",
        &format!("localhost,{}", source.emu.addr().port()),
        "--login",
        "sa",
        "--login-password-env",
        "KS_LOGIN_PW",
        "--trust-server-certificate",
        "--password-env",
        "KS_BACKUP_PW",
        "--server-dir",
        SCRATCH_DIR,
        "--server-dir-local",
        &local.display().to_string(),
        "--backups-seen-as",
        &seen_as,
        "--report-to",
        &scratch.home.join("drills").display().to_string(),
        "--json",
    ]
    .map(String::from)
    .to_vec();
    args.extend(keysafe_test_support::encrypt_args());
    args.extend(extra.iter().map(|s| s.to_string()));
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    keysafe(
        scratch,
        &a,
        &[
            ("KS_LOGIN_PW", mssql_emulator::DEFAULT_SA_PASSWORD),
            ("KS_BACKUP_PW", backup_pw),
        ],
    )
    .await
}

/// Every file the emulated instance keeps (its state, its disks), with its SHA-256.
fn instance_bytes(e: &Env) -> Vec<(PathBuf, String)> {
    let root = e._dir.path().join("server");
    let mut v: Vec<(PathBuf, String)> = files_under(&root)
        .into_iter()
        .map(|p| {
            let h = keysafe_core::copy::sha256_hex(&std::fs::read(&p).unwrap());
            (p, h)
        })
        .collect();
    v.sort();
    v
}

/// The scratch instance's databases and master certificates, by name.
fn scratch_catalog(e: &Env) -> (Vec<String>, Vec<String>) {
    let st = e.emu.instance().state();
    let mut dbs: Vec<String> = st.databases.iter().map(|d| d.name.clone()).collect();
    dbs.sort();
    let mut certs: Vec<String> = st
        .databases
        .iter()
        .filter(|d| d.name == "master")
        .flat_map(|d| d.certificates.iter().map(|c| c.name.clone()))
        .collect();
    certs.sort();
    (dbs, certs)
}

/// The recovery drill end to end: the scratch instance is refused until its name is typed,
/// then every key of the medium is restored there and proven, the source's kept backups that
/// need a certificate are read on the scratch instance (through the folder it sees them in),
/// everything created is dropped, and the source's bytes are exactly as they were. The second
/// drill needs no confirmation, and with the source's full retention it names the Sales
/// backup stranded by the certificate dropped in a rotation.
#[tokio::test]
async fn a_drill_restores_every_key_on_scratch_and_proves_the_kept_backups_and_the_source_is_untouched(
) {
    let source = env().await;
    let scratch = scratch_env().await;
    back_up_everything(&source).await;
    // The administrator's share: the source's backups, where the scratch instance reads them.
    let share = scratch.emu.instance().host_path(SCRATCH_SHARE).unwrap();
    std::fs::create_dir_all(&share).unwrap();
    for f in [
        "Payroll_FULL_1.bak",
        "Archive_FULL_1.bak",
        "Sales_FULL_1.bak",
    ] {
        let from = source
            .emu
            .instance()
            .host_path(&format!(r"{DEMO_BACKUPS}\{f}"))
            .unwrap();
        std::fs::copy(from, share.join(f)).unwrap();
    }
    let before = instance_bytes(&source);
    let scratch_before = scratch_catalog(&scratch);

    // Never designated and no name typed (no terminal to ask on): refused, nothing changed.
    let out = drill(
        &source,
        &scratch,
        &["--retention-days", "10"],
        "Str0ng!Backup#Pass",
    )
    .await;
    exits(&out, 1);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("has not been designated"), "{said}");
    let out = drill(
        &source,
        &scratch,
        &["--retention-days", "10", "--scratch", "SQLDEMO01"],
        "Str0ng!Backup#Pass",
    )
    .await;
    exits(&out, 1);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("'SQLDEMO01' is not SQLPROD01"), "{said}");
    assert_eq!(scratch_catalog(&scratch), scratch_before);

    let smk_before = scratch
        .emu
        .instance()
        .state()
        .service_master_key
        .as_ref()
        .unwrap()
        .guid;
    let out = drill(
        &source,
        &scratch,
        &["--retention-days", "10", "--scratch", "SQLPROD01"],
        "Str0ng!Backup#Pass",
    )
    .await;
    exits(&out, 0);
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["passed"], true);
    assert_eq!(r["source"], "SQLDEMO01");
    assert_eq!(r["scratch"], "SQLPROD01");
    let labels: Vec<&str> = r["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["label"].as_str().unwrap())
        .collect();
    for want in [
        "Service Master Key",
        "certificate master.TDE_Payroll",
        "certificate master.TDE_Archive",
        "Sales database master key",
        "certificate Sales.SalesSigning",
    ] {
        assert!(labels.contains(&want), "{want} in {labels:?}");
    }
    assert!(
        r["keys"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["passed"] == true),
        "{r:#}"
    );
    // The service master key is restored last, and the clock ends there.
    assert_eq!(labels.last(), Some(&"Service Master Key"));
    assert!(r["time_to_recover_seconds"].as_f64().unwrap() > 0.0);
    let proven: Vec<&str> = r["backups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["result"]["result"] == "proven")
        .map(|b| b["read_as"].as_str().unwrap())
        .collect();
    assert_eq!(proven.len(), 2, "{r:#}");
    assert!(
        proven.iter().all(|p| p.starts_with(SCRATCH_SHARE)),
        "{proven:?}"
    );
    // The scratch instance holds the medium's service master key; everything else the drill
    // made is gone again.
    let smk_after = scratch
        .emu
        .instance()
        .state()
        .service_master_key
        .as_ref()
        .unwrap()
        .guid;
    assert_ne!(smk_before, smk_after);
    assert_eq!(scratch_catalog(&scratch), scratch_before);
    assert!(r["left_behind"].as_array().unwrap().is_empty());
    // The source was only read: every byte it keeps is as it was.
    assert_eq!(instance_bytes(&source), before);
    // The report is on disk, HTML and JSON.
    let reports = files_under(&scratch.home.join("drills"));
    assert!(reports
        .iter()
        .any(|p| p.extension().is_some_and(|x| x == "html")));
    // No password is in it, in anything else the drill wrote, or in what it printed.
    for secret in ["Str0ng!Backup#Pass", mssql_emulator::DEFAULT_SA_PASSWORD] {
        for f in files_under(&scratch.home) {
            let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).to_string();
            assert!(!text.contains(secret), "{} holds a password", f.display());
        }
        assert!(!String::from_utf8_lossy(&out.stdout).contains(secret));
        assert!(!String::from_utf8_lossy(&out.stderr).contains(secret));
    }

    // Designated now: no confirmation. The full retention reaches the Sales backup whose
    // certificate was dropped in a rotation: stranded, named, and the drill fails.
    let out = drill(&source, &scratch, &[], "Str0ng!Backup#Pass").await;
    exits(&out, 1);
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let stranded: Vec<&serde_json::Value> = r["backups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["result"]["result"] == "stranded")
        .collect();
    assert_eq!(stranded.len(), 1, "{r:#}");
    assert!(stranded[0]["backup"]["device"]
        .as_str()
        .unwrap()
        .ends_with("Sales_FULL_1.bak"));
    assert!(
        r["keys"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["passed"] == true),
        "{r:#}"
    );
    assert_eq!(scratch_catalog(&scratch), scratch_before);
    assert_eq!(instance_bytes(&source), before);
}

/// A medium with one byte changed fails the drill before any server is reached; a wrong
/// backup password fails every key with SQL Server's reason, and nothing is left behind.
#[tokio::test]
async fn a_drill_fails_on_a_changed_copy_before_anything_is_sent_and_on_a_wrong_password() {
    let source = env().await;
    let scratch = scratch_env().await;
    back_up_everything(&source).await;
    let scratch_before = scratch_catalog(&scratch);
    let smk_before = scratch
        .emu
        .instance()
        .state()
        .service_master_key
        .as_ref()
        .unwrap()
        .guid;
    let pvk = files_under(&source.medium)
        .into_iter()
        .find(|p| p.extension().is_some_and(|x| x == "pvk" || x == "pfx"))
        .unwrap_or_else(|| {
            panic!(
                "a certificate's private key on the medium: {:?}",
                files_under(&source.medium)
            )
        });
    let original = std::fs::read(&pvk).unwrap();
    let mut flipped = original.clone();
    flipped[original.len() / 2] ^= 0x01;
    std::fs::write(&pvk, &flipped).unwrap();
    let out = drill(
        &source,
        &scratch,
        &["--scratch", "SQLPROD01"],
        "Str0ng!Backup#Pass",
    )
    .await;
    exits(&out, 1);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("before anything was sent to a server"),
        "{said}"
    );
    assert!(
        said.contains(&pvk.file_name().unwrap().to_string_lossy().to_string()),
        "{said}"
    );
    assert!(
        scratch.emu.closed_connections().is_empty(),
        "no connection was made to the scratch instance"
    );

    std::fs::write(&pvk, &original).unwrap();
    let out = drill(
        &source,
        &scratch,
        &["--scratch", "SQLPROD01"],
        "Wrong!Backup#Pass9",
    )
    .await;
    exits(&out, 1);
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["passed"], false);
    for k in r["keys"].as_array().unwrap() {
        assert_eq!(k["passed"], false, "{k:#}");
        assert!(!k["detail"].as_str().unwrap().is_empty());
    }
    assert_eq!(scratch_catalog(&scratch), scratch_before);
    let smk_after = scratch
        .emu
        .instance()
        .state()
        .service_master_key
        .as_ref()
        .unwrap()
        .guid;
    assert_eq!(smk_before, smk_after, "a wrong password restores nothing");
}

/// An unattended run as a schedule runs it: no environment but Keysafe's home, the login's
/// password from the profile's keyring entry and the backup password from `secret set`. The
/// platform's form is written and checked (systemd-analyze verify on Linux; the task's XML on
/// Windows); the result of each run is recorded, and a failed one is what `schedule list`
/// shows first, with exit 1. No secret reaches any file the schedule wrote.
#[tokio::test]
async fn a_scheduled_backup_runs_with_its_secrets_from_the_keyring_and_its_result_is_recorded() {
    let e = ops_instance("SQLSCHED").await;
    let tag = format!(
        "{}-{}",
        std::process::id(),
        &uuid::Uuid::new_v4().simple().to_string()[..6]
    );
    let (profile, secret, name) = (
        format!("Sched-{tag}"),
        format!("backup-{tag}"),
        format!("nightly-{tag}"),
    );
    let backup_pw = format!("Sched!Backup#{tag}");
    let server = format!("localhost,{}", e.emu.addr().port());
    let ca = e.emu.cert_pem_path().unwrap().display().to_string();
    let mut add = vec![
        "profile",
        "add",
        &profile,
        "--server",
        &server,
        "--login",
        "sa",
        "--login-password-env",
        "KS_LOGIN_PW",
        "--ca-file",
        &ca,
        "--remember",
    ];
    let wine = keysafe_test_support::encrypt_args();
    add.extend(wine.iter().map(String::as_str));
    exits(
        &keysafe(
            &e,
            &add,
            &[("KS_LOGIN_PW", mssql_emulator::DEFAULT_SA_PASSWORD)],
        )
        .await,
        0,
    );
    exits(
        &keysafe(
            &e,
            &["secret", "set", &secret, "--from-env", "KS_PW"],
            &[("KS_PW", &backup_pw)],
        )
        .await,
        0,
    );
    let medium = e.medium.display().to_string();
    let scheduled = [
        "backup",
        "changed",
        "--profile",
        &profile,
        "--password-keyring",
        &secret,
        "--copy-to",
        &medium,
    ];
    // A secret from the environment cannot work unattended: refused with what to do instead.
    let mut with_env = vec![
        "schedule",
        "add",
        "bad",
        "--",
        "backup",
        "changed",
        "--profile",
        &profile,
    ];
    with_env.extend(["--password-env", "KS_PW", "--copy-to", &medium]);
    let out = keysafe(&e, &with_env, &[]).await;
    exits(&out, 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("keysafe secret set"));

    let mut args = vec![
        "schedule",
        "add",
        &name,
        "--at",
        "02:30",
        "--no-register",
        "--",
    ];
    args.extend(scheduled);
    exits(&keysafe(&e, &args, &[]).await, 0);
    let dir = e.home.join("schedules");
    if cfg!(windows) {
        let bytes = std::fs::read(dir.join(format!("{name}.xml"))).unwrap();
        assert_eq!(
            &bytes[..2],
            &[0xFF, 0xFE],
            "UTF-16 with its byte order mark"
        );
        let units: Vec<u16> = bytes[2..]
            .chunks(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        let xml = String::from_utf16(&units).unwrap();
        assert!(xml.contains("<LogonType>Password</LogonType>"), "{xml}");
        assert!(
            xml.contains(&format!("<Arguments>schedule run {name}</Arguments>")),
            "{xml}"
        );
    } else {
        let service = dir.join(format!("keysafe-{name}.service"));
        let timer = dir.join(format!("keysafe-{name}.timer"));
        let verify = |files: &[&Path]| {
            std::process::Command::new("systemd-analyze")
                .arg("verify")
                .args(files)
                .output()
                .expect("systemd-analyze (Debian's systemd package)")
        };
        let ok = verify(&[&service, &timer]);
        assert!(
            ok.status.success(),
            "{}",
            String::from_utf8_lossy(&ok.stderr)
        );
        // The check is real: a timer with no valid calendar fails it.
        let broken = dir.join("keysafe-broken.timer");
        std::fs::write(
            &broken,
            std::fs::read_to_string(&timer)
                .unwrap()
                .replace("*-*-* 02:30:00", "every night"),
        )
        .unwrap();
        assert!(!verify(&[&broken]).status.success());
        std::fs::remove_file(&broken).unwrap();
    }
    let (code, v) = schedule_list(&e).await;
    assert_eq!(code, Some(0));
    assert_eq!(v[0]["verdict"], "never run", "{v:#}");

    // What the timer runs: nothing from the environment but the home.
    let run = keysafe(&e, &["schedule", "run", &name], &[]).await;
    exits(&run, 0);
    assert!(files_under(&e.medium)
        .iter()
        .any(|p| p.extension().is_some_and(|x| x == "html")));
    let (code, v) = schedule_list(&e).await;
    assert_eq!(code, Some(0));
    assert_eq!(v[0]["verdict"], "ok", "{v:#}");
    assert_eq!(v[0]["last_run"]["exit_code"], 0);

    // The secret is gone from the keyring: the next run fails, and says why.
    exits(&keysafe(&e, &["secret", "delete", &secret], &[]).await, 0);
    exits(&keysafe(&e, &["schedule", "run", &name], &[]).await, 1);
    let (code, v) = schedule_list(&e).await;
    assert_eq!(code, Some(1), "a failed last run fails the list");
    assert_eq!(v[0]["verdict"], "failed", "{v:#}");
    assert!(
        v[0]["last_run"]["error"]
            .as_str()
            .unwrap()
            .contains(&secret),
        "{v:#}"
    );
    let status = keysafe(&e, &["status", "--profile", &profile], &[]).await;
    exits(&status, 1);
    let said = String::from_utf8_lossy(&status.stderr);
    assert!(said.contains(&format!("schedule {name} FAILED")), "{said}");

    for f in files_under(&dir) {
        let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).to_string();
        assert!(
            !text.contains(&backup_pw) && !text.contains(mssql_emulator::DEFAULT_SA_PASSWORD),
            "{}",
            f.display()
        );
    }
    exits(&keysafe(&e, &["schedule", "remove", &name], &[]).await, 0);
    let (_, v) = schedule_list(&e).await;
    assert_eq!(v, serde_json::json!([]));
    exits(&keysafe(&e, &["profile", "remove", &profile], &[]).await, 0);
}

/// `keysafe schedule list --json`: its exit code and what it printed.
async fn schedule_list(e: &Env) -> (Option<i32>, serde_json::Value) {
    let out = keysafe(e, &["schedule", "list", "--json"], &[]).await;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    (out.status.code(), v)
}

/// Saves `e`'s instance as profile `name` (sa, its password in the keyring, its CA).
async fn saved_profile(e: &Env, home: &Env, name: &str) {
    let server = format!("localhost,{}", e.emu.addr().port());
    let ca = e.emu.cert_pem_path().unwrap().display().to_string();
    let mut add = vec![
        "profile",
        "add",
        name,
        "--server",
        &server,
        "--login",
        "sa",
        "--login-password-env",
        "KS_LOGIN_PW",
        "--ca-file",
        &ca,
        "--remember",
    ];
    let wine = keysafe_test_support::encrypt_args();
    add.extend(wine.iter().map(String::as_str));
    exits(
        &keysafe(
            home,
            &add,
            &[("KS_LOGIN_PW", mssql_emulator::DEFAULT_SA_PASSWORD)],
        )
        .await,
        0,
    );
}

/// A saved group of two profiles, the primary with a TDE database and the DR server with
/// nothing: `keysafe parity --group` names the missing certificate and fails; with
/// --copy-missing it copies it (proven by thumbprint), says to back up the master key it
/// created, and parity then holds (exit 0). A group of unknown profiles is refused.
#[tokio::test]
async fn parity_of_a_saved_group_finds_the_missing_tde_certificate_and_the_copy_fixes_it() {
    let tag = &uuid::Uuid::new_v4().simple().to_string()[..6];
    let primary = env_with("[server]\nmachine_name = \"SQL01\"\n").await;
    primary
        .emu
        .instance()
        .run_as(
            "sa",
            "USE master; CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Master!Key#2026x';
CREATE CERTIFICATE TDE_2025 WITH SUBJECT = 'TDE 2025';
CREATE DATABASE Payroll; USE Payroll;
CREATE DATABASE ENCRYPTION KEY WITH ALGORITHM = AES_256 ENCRYPTION BY SERVER CERTIFICATE TDE_2025;
ALTER DATABASE Payroll SET ENCRYPTION ON;",
        )
        .unwrap();
    let dr = env_with("[server]\nmachine_name = \"SQLDR01\"\n").await;
    let (p1, p2, group) = (
        format!("Prod-{tag}"),
        format!("DR-{tag}"),
        format!("Payroll prod + DR {tag}"),
    );
    saved_profile(&primary, &primary, &p1).await;
    saved_profile(&dr, &primary, &p2).await;
    let unknown = keysafe(
        &primary,
        &[
            "group",
            "add",
            &group,
            "--profile",
            &p1,
            "--profile",
            "nobody",
        ],
        &[],
    )
    .await;
    exits(&unknown, 2);
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no profile named 'nobody'"));
    exits(
        &keysafe(
            &primary,
            &["group", "add", &group, "--profile", &p1, "--profile", &p2],
            &[],
        )
        .await,
        0,
    );
    let dr_addr = format!("localhost,{}", dr.emu.addr().port());
    // A kept backup of Payroll on the primary: group-wide coverage says where it restores.
    primary
        .emu
        .instance()
        .run_as(
            "sa",
            r"BACKUP DATABASE Payroll TO DISK = N'C:\Program Files\Microsoft SQL Server\MSSQL16.MSSQLSERVER\MSSQL\Backup\Payroll.bak' WITH INIT",
        )
        .unwrap();
    let cov = keysafe(&primary, &["coverage", "--group", &group], &[]).await;
    exits(&cov, 1);
    let text = String::from_utf8_lossy(&cov.stdout);
    assert!(
        text.contains("restores on SQL01, NOT on SQLDR01 (certificate TDE_2025 missing there)"),
        "{text}"
    );

    let before = keysafe(&primary, &["parity", "--group", &group], &[]).await;
    exits(&before, 1);
    let text = String::from_utf8_lossy(&before.stdout);
    assert!(
        text.contains("certificate TDE_2025")
            && text.contains("protects the encryption key of Payroll on SQL01")
            && text.contains(&format!("{dr_addr:<24} MISSING")),
        "{text}"
    );
    assert!(String::from_utf8_lossy(&before.stderr).contains("RISK: Certificate TDE_2025"));
    // keysafe status over the group says it too, beside each key's state.
    let status = keysafe(&primary, &["status", "--group", &group], &[]).await;
    exits(&status, 1);
    let said = String::from_utf8_lossy(&status.stderr);
    assert!(
        said.contains("PARITY: Certificate TDE_2025")
            && said.contains(&format!("{dr_addr}: MISSING")),
        "{said}"
    );
    assert!(String::from_utf8_lossy(&status.stdout).contains("NEVER backed up"));
    // A backup of the group: each member's report lists its parity risks with its own.
    let medium = primary.medium.join("group-run");
    let run = keysafe(
        &primary,
        &[
            "backup",
            "smk",
            "--group",
            &group,
            "--password-env",
            "KS_PW",
            "--copy-to",
            &medium.display().to_string(),
        ],
        &[("KS_PW", "Group!Backup#Run-2026")],
    )
    .await;
    exits(&run, 0);
    let json = files_under(&medium)
        .into_iter()
        .find(|p| {
            p.extension().is_some_and(|x| x == "json")
                && p.to_string_lossy().contains("keysafe-report")
        })
        .expect("the run's JSON report");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let risks_of = |name: &str| -> Vec<String> {
        report["instances"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| {
                i["facts"]["server_name"]
                    .as_str()
                    .is_some_and(|n| n.starts_with(name))
            })
            .flat_map(|i| i["risks"].as_array().cloned().unwrap_or_default())
            .map(|r| {
                format!(
                    "{} {}: {}",
                    r["severity"],
                    r["object"].as_str().unwrap(),
                    r["text"].as_str().unwrap()
                )
            })
            .collect()
    };
    let on_dr = risks_of("SQLDR01");
    assert!(
        on_dr
            .iter()
            .any(|r| r.contains("master.TDE_2025: key parity: MISSING here, held by SQL01")),
        "{on_dr:#?}"
    );
    assert!(
        risks_of("SQL01")
            .iter()
            .any(|r| r.contains("key parity: not on every member: SQLDR01 (MISSING)")),
        "{report:#}"
    );
    let html = std::fs::read_to_string(json.with_extension("html")).unwrap();
    assert!(html.contains("Risks found") && html.contains("key parity: MISSING here"));

    let fix = keysafe(
        &primary,
        &[
            "parity",
            "--group",
            &group,
            "--copy-missing",
            "--create-master-key-password-env",
            "KS_MK",
        ],
        &[("KS_MK", "DR!Master#Key2026")],
    )
    .await;
    exits(&fix, 0);
    let text = String::from_utf8_lossy(&fix.stdout);
    assert!(
        text.contains(&format!(
            "copied TDE_2025 from localhost,{}",
            primary.emu.addr().port()
        )) && text.contains(&format!("{dr_addr:<24} present, with its private key")),
        "{text}"
    );
    assert!(
        String::from_utf8_lossy(&fix.stderr).contains("Back it up now"),
        "{}",
        String::from_utf8_lossy(&fix.stderr)
    );
    let status = keysafe(&primary, &["status", "--group", &group], &[]).await;
    assert!(!String::from_utf8_lossy(&status.stderr).contains("PARITY"));
    let again = keysafe(&primary, &["parity", "--group", &group, "--json"], &[]).await;
    exits(&again, 0);
    let v: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(
        v["parity"]["certificates"][0]["members"][1]["presence"]["state"],
        "present"
    );
    let cov = keysafe(&primary, &["coverage", "--group", &group, "--json"], &[]).await;
    let v: serde_json::Value = serde_json::from_slice(&cov.stdout).unwrap();
    assert_eq!(
        v["group"]["backups"][0]["restores_on"],
        serde_json::json!(["SQL01", "SQLDR01"])
    );
}

/// keysafe rotate-certificate over a saved group: refused without --yes where no terminal
/// can ask; with it, every step is done (exit 0), the history lists the rotation, the group
/// is at parity with the new certificate, and the backup password is nowhere Keysafe wrote.
#[tokio::test]
async fn rotate_certificate_over_a_group_moves_the_database_to_a_new_certificate_everywhere() {
    let tag = &uuid::Uuid::new_v4().simple().to_string()[..6];
    let primary = env_with("[server]\nmachine_name = \"SQL01\"\n").await;
    primary
        .emu
        .instance()
        .run_as(
            "sa",
            "USE master; CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Master!Key#2026x';
CREATE CERTIFICATE TDE_2025 WITH SUBJECT = 'TDE 2025';
CREATE DATABASE Payroll; USE Payroll;
CREATE DATABASE ENCRYPTION KEY WITH ALGORITHM = AES_256 ENCRYPTION BY SERVER CERTIFICATE TDE_2025;
ALTER DATABASE Payroll SET ENCRYPTION ON;",
        )
        .unwrap();
    let dr = env_with("[server]\nmachine_name = \"SQLDR01\"\n").await;
    dr.emu
        .instance()
        .run_as(
            "sa",
            "USE master; CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'DR!Master#Key2026';",
        )
        .unwrap();
    let (p1, p2, group) = (
        format!("Prod-{tag}"),
        format!("DR-{tag}"),
        format!("Payroll {tag}"),
    );
    saved_profile(&primary, &primary, &p1).await;
    saved_profile(&dr, &primary, &p2).await;
    exits(
        &keysafe(
            &primary,
            &["group", "add", &group, "--profile", &p1, "--profile", &p2],
            &[],
        )
        .await,
        0,
    );
    let medium = primary.medium.display().to_string();
    let pw = "Rotate!Backup#Canary-2026";
    let mut args = vec![
        "rotate-certificate",
        "--group",
        &group,
        "--certificate",
        "TDE_2025",
        "--new-name",
        "TDE_2026",
        "--password-env",
        "KS_PW",
        "--copy-to",
        &medium,
    ];
    let refused = keysafe(&primary, &args, &[("KS_PW", pw)]).await;
    exits(&refused, 2);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--yes"));
    args.push("--yes");
    let done = keysafe(&primary, &args, &[("KS_PW", pw)]).await;
    exits(&done, 0);
    let text = String::from_utf8_lossy(&done.stdout);
    assert!(
        text.contains("4. done   the new certificate on every other member")
            && text.contains("7. done   the rotation recorded"),
        "{text}"
    );
    let hist = keysafe(&primary, &["history"], &[]).await;
    assert!(String::from_utf8_lossy(&hist.stdout).contains("rotation of TDE_2025 to TDE_2026"));
    let parity = keysafe(&primary, &["parity", "--group", &group, "--json"], &[]).await;
    exits(&parity, 0);
    let v: serde_json::Value = serde_json::from_slice(&parity.stdout).unwrap();
    assert_eq!(v["parity"]["certificates"][0]["name"], "TDE_2026");

    // A second rotation with no log backup since the first stops before anything changes,
    // and says how to go on.
    let again: Vec<&str> = args
        .iter()
        .map(|a| match *a {
            "TDE_2025" => "TDE_2026",
            "TDE_2026" => "TDE_2027",
            a => a,
        })
        .collect();
    let stopped = keysafe(&primary, &again, &[("KS_PW", pw)]).await;
    exits(&stopped, 1);
    let said = String::from_utf8_lossy(&stopped.stderr);
    assert!(
        said.contains("Nothing was changed: the encryption key of Payroll")
            && said.contains("--log-backup"),
        "{said}"
    );
    assert!(String::from_utf8_lossy(&stopped.stdout).contains("5. NOT    a log backup"));

    // drop-certificate: TDE_2026 protects Payroll, refused. TDE_2025 still encrypts the
    // active log, refused; after a log backup (which needs it too) and once that backup is
    // outside the retention, dropped where it is (the DR server never had it).
    let drop = |cert: &'static str, days: &'static str| {
        let (e, g) = (&primary, group.clone());
        async move {
            keysafe(
                e,
                &[
                    "drop-certificate",
                    "--group",
                    &g,
                    "--certificate",
                    cert,
                    "--retention-days",
                    days,
                    "--yes",
                ],
                &[],
            )
            .await
        }
    };
    let refused = drop("TDE_2026", "35").await;
    exits(&refused, 1);
    assert!(
        String::from_utf8_lossy(&refused.stdout).contains("protects the encryption key of Payroll")
    );
    let active = drop("TDE_2025", "0").await;
    exits(&active, 1);
    assert!(
        String::from_utf8_lossy(&active.stdout)
            .contains("Payroll's active log is still encrypted by it"),
        "{}",
        String::from_utf8_lossy(&active.stdout)
    );
    primary
        .emu
        .instance()
        .run_as(
            "sa",
            r"BACKUP LOG Payroll TO DISK = N'C:\Program Files\Microsoft SQL Server\MSSQL16.MSSQLSERVER\MSSQL\Backup\Payroll.trn' WITH INIT",
        )
        .unwrap();
    let kept = drop("TDE_2025", "35").await;
    exits(&kept, 1);
    assert!(String::from_utf8_lossy(&kept.stdout)
        .contains("it holds log written before the certificate changed"));
    // 36 days later (msdb's clock moved by the test), outside the 35-day retention.
    primary.emu.instance().age_backup_history(36).unwrap();
    let dropped = drop("TDE_2025", "35").await;
    exits(&dropped, 0);
    assert!(String::from_utf8_lossy(&dropped.stdout).contains("TDE_2025 dropped"));
    let hist = keysafe(&primary, &["history"], &[]).await;
    assert!(String::from_utf8_lossy(&hist.stdout).contains("certificate TDE_2025 dropped on"));
    let mut seen = vec![
        text.into_owned(),
        String::from_utf8_lossy(&done.stderr).into_owned(),
    ];
    for f in files_under(&primary.home)
        .into_iter()
        .chain(files_under(&primary.medium))
    {
        seen.push(String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned());
    }
    assert!(
        seen.iter().all(|t| !t.contains(pw)),
        "the backup password leaked"
    );
}
