//! Each command with exactly the permissions README's table documents, then with each one of
//! them taken away: with all it works, without one it fails, and the error names what is
//! missing (the permission or the GRANT that gives it) for a person to act on. Seeded through
//! T-SQL only, as a real instance would be.

use keysafe_core::backup::Secrets;
use keysafe_core::connection::{connect, ConnectOptions};
use keysafe_core::run::{back_up_fleet, RunSettings, Selection};
use keysafe_core::{ErrorCode, KeysafeError, Password};
use mssql_emulator::Emulator;

const SEED: &str = "CREATE DATABASE Ops; USE Ops;
CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Ops!Master#Pass1';
CREATE CERTIFICATE OpsCert WITH SUBJECT = 'Ops signing';
CREATE DATABASE Moved; USE Moved;
CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Moved!Master#Pass1';
ALTER MASTER KEY DROP ENCRYPTION BY SERVICE MASTER KEY;";

const BACKUP_PW: &str = "Str0ng!Backup#Pass";
const LOGIN_PW: &str = "Least!Priv#Pass1";

/// One command and the permissions the README documents for it: each a T-SQL statement run
/// as sa with `{u}` standing for the login (and its user, of the same name).
struct Case {
    name: &'static str,
    /// Users the login needs (databases it must enter); not permissions.
    users_in: &'static [&'static str],
    grants: &'static [&'static str],
    /// Words of the error that say what is missing, one per grant.
    missing_says: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        name: "backup smk",
        users_in: &[],
        grants: &["GRANT CONTROL SERVER TO [{u}];"],
        missing_says: &["CONTROL SERVER"],
    },
    Case {
        name: "backup dmk",
        users_in: &["Ops"],
        grants: &[
            "USE Ops; GRANT CONTROL ON DATABASE::Ops TO [{u}];",
            "GRANT ADMINISTER BULK OPERATIONS TO [{u}];",
        ],
        missing_says: &["CONTROL", "ADMINISTER BULK OPERATIONS"],
    },
    Case {
        name: "backup cert",
        users_in: &["Ops"],
        grants: &[
            "USE Ops; GRANT CONTROL ON CERTIFICATE::OpsCert TO [{u}];",
            "GRANT ADMINISTER BULK OPERATIONS TO [{u}];",
        ],
        missing_says: &["VIEW DEFINITION", "ADMINISTER BULK OPERATIONS"],
    },
    Case {
        name: "repair-master-key",
        users_in: &["Moved"],
        grants: &["USE Moved; GRANT CONTROL ON DATABASE::Moved TO [{u}];"],
        missing_says: &["CONTROL"],
    },
];

fn login_sql(case: &Case, login: &str, skip: Option<usize>) -> String {
    grants_sql(case.users_in, case.grants, login, skip)
}

/// The login, its users in `users_in`, and every grant but the `skip`th.
fn grants_sql(users_in: &[&str], grants: &[&str], login: &str, skip: Option<usize>) -> String {
    let mut sql = format!("USE master; CREATE LOGIN [{login}] WITH PASSWORD = '{LOGIN_PW}';\n");
    for db in users_in {
        sql.push_str(&format!(
            "USE {db}; CREATE USER [{login}] FOR LOGIN [{login}];\n"
        ));
    }
    for (i, g) in grants.iter().enumerate() {
        if Some(i) != skip {
            sql.push_str(&format!("USE master; {}\n", g.replace("{u}", login)));
        }
    }
    sql
}

/// Runs the case's command as `o`: Ok when it did all it was asked, else the error that
/// says why not.
async fn attempt(
    case: &Case,
    o: &ConnectOptions,
    medium: &std::path::Path,
    server_dir: &str,
) -> Result<(), KeysafeError> {
    if case.name == "repair-master-key" {
        let mut c = connect(o).await?;
        keysafe_core::master_key::add_service_master_key_encryption(
            &mut c,
            "Moved",
            &Password::new("Moved!Master#Pass1"),
        )
        .await?;
        return Ok(());
    }
    let selection = match case.name {
        "backup smk" => Selection::ServiceMasterKey,
        "backup dmk" => Selection::DatabaseMasterKeys(vec!["Ops".into()]),
        _ => Selection::Certificates(vec![("Ops".into(), "OpsCert".into())]),
    };
    let mut settings = RunSettings::new(selection, medium);
    settings.backup.server_dir = Some(server_dir.to_string());
    let reports = back_up_fleet(
        std::slice::from_ref(o),
        &settings,
        &Secrets::new(Password::new(BACKUP_PW)),
        1,
        &|_| {},
    )
    .await;
    let r = &reports[0];
    if r.all_verified() {
        return Ok(());
    }
    Err(r
        .error
        .clone()
        .or_else(|| r.keys.iter().find_map(|k| k.error.clone()))
        .unwrap_or_else(|| KeysafeError::new(ErrorCode::Internal, format!("not verified: {r:?}"))))
}

async fn server() -> (tempfile::TempDir, Emulator, String) {
    let dir = tempfile::tempdir().unwrap();
    let emu = keysafe_test_support::seeded(dir.path(), "LEAST01", SEED).await;
    // The server folder, made beforehand by a sysadmin: creating it is not these commands'
    // business (xp_create_subdir is for sysadmins), and a login without it is told so.
    let mut sa = connect(&keysafe_test_support::sql_options(
        &emu,
        "sa",
        mssql_emulator::DEFAULT_SA_PASSWORD,
    ))
    .await
    .unwrap();
    let inv = keysafe_core::inventory::inventory(&mut sa).await.unwrap();
    let dir_on_server = keysafe_core::backup::default_server_dir(&inv).unwrap();
    keysafe_core::backup::ensure_server_dir(&mut sa, &dir_on_server)
        .await
        .unwrap();
    (dir, emu, dir_on_server)
}

#[tokio::test]
async fn each_command_works_with_its_documented_permissions_and_names_the_one_missing() {
    let (dir, emu, server_dir) = server().await;
    for (n, case) in CASES.iter().enumerate() {
        for skip in std::iter::once(None).chain((0..case.grants.len()).map(Some)) {
            let login = format!("least{n}_{}", skip.map_or("all".into(), |s| s.to_string()));
            emu.instance()
                .run_as("sa", &login_sql(case, &login, skip))
                .unwrap_or_else(|e| panic!("{}: the grants fail: {e:?}", case.name));
            let o = keysafe_test_support::sql_options(&emu, &login, LOGIN_PW);
            let medium = dir.path().join(format!("medium-{login}"));
            let outcome = attempt(case, &o, &medium, &server_dir).await;
            match skip {
                None => assert!(
                    outcome.is_ok(),
                    "{} with {:?}: {outcome:?}",
                    case.name,
                    case.grants
                ),
                Some(i) => {
                    let e = outcome.expect_err(&format!(
                        "{} without {} succeeded",
                        case.name, case.grants[i]
                    ));
                    let said = format!("{} {}", e.message, e.next_step.as_deref().unwrap_or(""));
                    assert!(
                        matches!(e.code, ErrorCode::PermissionDenied | ErrorCode::NotFound),
                        "{} without {}: {e:?}",
                        case.name,
                        case.grants[i]
                    );
                    assert!(
                        said.contains(case.missing_says[i]),
                        "{} without {}: the error does not say {:?}: {said}",
                        case.name,
                        case.grants[i],
                        case.missing_says[i]
                    );
                }
            }
        }
    }
}

// Restore and copy-certificate's target side. Each attempt runs against a target instance of
// its own, so what one attempt changed cannot hide what another did: a refused attempt must
// leave the target exactly as it was (its whole state on disk, catalog and server folder
// alike), a successful one must have put the source's key there.

const SOURCE_SEED: &str = "CREATE DATABASE Sales; USE Sales;
CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Sales!Master#Pass1';
CREATE CERTIFICATE SalesCert WITH SUBJECT = 'Sales signing';";
const TARGET_WITH_MASTER_KEY: &str = "CREATE DATABASE Sales; USE Sales;
CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Target!Master#Pass1';";
const TARGET_BARE: &str = "CREATE DATABASE Sales;";
/// The folder on the target the server reads placed files from, created beforehand.
const RESTORE_FOLDER: &str =
    r"C:\Program Files\Microsoft SQL Server\MSSQL16.MSSQLSERVER\MSSQL\Backup\Restore";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Target {
    /// restore of SalesCert from its .cer + .pvk (FROM BINARY, no file on the server)
    CertFromBinary,
    /// restore of SalesCert from its .pfx (a file placed where the server reads it)
    CertFromPfx,
    DatabaseMasterKey,
    ServiceMasterKey,
    /// copy-certificate into a target database that has a master key
    CopyCertificate,
    /// copy-certificate into one without: Keysafe creates the master key first
    CopyCertificateNewMasterKey,
}

struct TargetCase {
    name: &'static str,
    target: Target,
    seed: &'static str,
    users_in: &'static [&'static str],
    grants: &'static [&'static str],
    missing_says: &'static [&'static str],
}

const TARGET_CASES: &[TargetCase] = &[
    TargetCase {
        name: "restore cert (.cer + .pvk)",
        target: Target::CertFromBinary,
        seed: TARGET_WITH_MASTER_KEY,
        users_in: &["Sales"],
        grants: &[
            "USE Sales; GRANT CREATE CERTIFICATE TO [{u}];",
            "USE Sales; GRANT VIEW DEFINITION TO [{u}];",
        ],
        missing_says: &["CREATE CERTIFICATE", "VIEW DEFINITION"],
    },
    TargetCase {
        // README lists CREATE CERTIFICATE only ("for a PFX, the service account reads the
        // placed file"); Keysafe also hashes the placed file through OPENROWSET(BULK), which
        // needs ADMINISTER BULK OPERATIONS.
        name: "restore cert (.pfx)",
        target: Target::CertFromPfx,
        seed: TARGET_WITH_MASTER_KEY,
        users_in: &["Sales"],
        grants: &[
            "USE Sales; GRANT CREATE CERTIFICATE TO [{u}];",
            "GRANT ADMINISTER BULK OPERATIONS TO [{u}];",
            "USE Sales; GRANT VIEW DEFINITION TO [{u}];",
        ],
        missing_says: &[
            "CREATE CERTIFICATE",
            "ADMINISTER BULK OPERATIONS",
            "VIEW DEFINITION",
        ],
    },
    TargetCase {
        name: "restore dmk",
        target: Target::DatabaseMasterKey,
        seed: TARGET_BARE,
        users_in: &["Sales"],
        grants: &[
            "USE Sales; GRANT CONTROL ON DATABASE::Sales TO [{u}];",
            "GRANT ADMINISTER BULK OPERATIONS TO [{u}];",
        ],
        missing_says: &["CONTROL", "ADMINISTER BULK OPERATIONS"],
    },
    TargetCase {
        // CONTROL SERVER implies ADMINISTER BULK OPERATIONS: one grant, as for backup smk.
        name: "restore smk",
        target: Target::ServiceMasterKey,
        seed: "SELECT 1;",
        users_in: &[],
        grants: &["GRANT CONTROL SERVER TO [{u}];"],
        missing_says: &["CONTROL SERVER"],
    },
    TargetCase {
        name: "copy-certificate target",
        target: Target::CopyCertificate,
        seed: TARGET_WITH_MASTER_KEY,
        users_in: &["Sales"],
        grants: &[
            "USE Sales; GRANT CREATE CERTIFICATE TO [{u}];",
            "USE Sales; GRANT VIEW DEFINITION TO [{u}];",
        ],
        missing_says: &["CREATE CERTIFICATE", "VIEW DEFINITION"],
    },
    TargetCase {
        // CONTROL on the database implies CREATE CERTIFICATE in it: one grant.
        name: "copy-certificate target without a master key",
        target: Target::CopyCertificateNewMasterKey,
        seed: TARGET_BARE,
        users_in: &["Sales"],
        grants: &["USE Sales; GRANT CONTROL ON DATABASE::Sales TO [{u}];"],
        missing_says: &["CONTROL"],
    },
];

/// Every file under `dir` (the emulator's data folder: its persisted state, the server's
/// file system) and its bytes.
fn files_under(dir: &std::path::Path) -> std::collections::BTreeMap<std::path::PathBuf, Vec<u8>> {
    keysafe_test_support::files_under(dir)
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect()
}

async fn sa_of(e: &Emulator) -> keysafe_core::connection::SqlConnection {
    connect(&keysafe_test_support::sql_options(
        e,
        "sa",
        mssql_emulator::DEFAULT_SA_PASSWORD,
    ))
    .await
    .unwrap()
}

async fn one_value(e: &Emulator, sql: &str) -> Option<String> {
    sa_of(e)
        .await
        .rows(sql)
        .await
        .unwrap()
        .first()
        .and_then(|r| r.get::<&str, _>(0).map(str::to_string))
}

const THUMBPRINT: &str = "USE Sales; SELECT CONVERT(nvarchar(64), thumbprint, 2) FROM sys.certificates WHERE name = N'SalesCert'";
const DMK_GUID: &str = "USE Sales; SELECT CONVERT(nvarchar(36), key_guid) FROM sys.symmetric_keys WHERE name = N'##MS_DatabaseMasterKey##'";
const SMK_GUID: &str = "SELECT CONVERT(nvarchar(36), key_guid) FROM master.sys.symmetric_keys WHERE name = N'##MS_ServiceMasterKey##'";

/// What proves the case's key arrived: the query, run as sa on source and target.
fn proof_query(t: Target) -> &'static str {
    match t {
        Target::DatabaseMasterKey => DMK_GUID,
        Target::ServiceMasterKey => SMK_GUID,
        _ => THUMBPRINT,
    }
}

struct Source {
    emu: Emulator,
    /// The report of a backup of everything, certificates as .cer + .pvk.
    pvk_report: std::path::PathBuf,
    /// The report of a backup of SalesCert as one .pfx.
    pfx_report: std::path::PathBuf,
}

async fn source(root: &std::path::Path) -> Source {
    use keysafe_core::backup::KeyRef;
    let emu = keysafe_test_support::seeded(&root.join("source"), "SOURCE01", SOURCE_SEED).await;
    let sa = keysafe_test_support::sql_options(&emu, "sa", mssql_emulator::DEFAULT_SA_PASSWORD);
    let mut all = RunSettings::new(Selection::All, root.join("medium-pvk"));
    all.backup.format = Some(keysafe_core::tsql::CertificateFormat::Pvk);
    let pvk_report = keysafe_test_support::back_up_to_medium(&sa, &all, BACKUP_PW)
        .await
        .1
        .json;
    let cert = RunSettings::new(
        Selection::Keys(vec![KeyRef::Certificate {
            database: "Sales".into(),
            name: "SalesCert".into(),
        }]),
        root.join("medium-pfx"),
    );
    let pfx_report = keysafe_test_support::back_up_to_medium(&sa, &cert, BACKUP_PW)
        .await
        .1
        .json;
    Source {
        emu,
        pvk_report,
        pfx_report,
    }
}

/// Runs the case's command as `login` on `target`: Ok when it did what it was asked.
async fn attempt_on_target(
    case: &TargetCase,
    src: &Source,
    target: &Emulator,
    login: &str,
) -> Result<(), KeysafeError> {
    use keysafe_core::backup::KeyRef;
    use keysafe_core::restore::{self, Placement, RestoreRequest, RestoreSecrets};
    let mut c = connect(&keysafe_test_support::sql_options(target, login, LOGIN_PW)).await?;
    let new_master_key = Password::new("Restored!Master#Pass1");
    let cert = KeyRef::Certificate {
        database: "Sales".into(),
        name: "SalesCert".into(),
    };
    let (report, key) = match case.target {
        Target::CopyCertificate | Target::CopyCertificateNewMasterKey => {
            let mut a = sa_of(&src.emu).await;
            let fresh =
                (case.target == Target::CopyCertificateNewMasterKey).then_some(&new_master_key);
            let copy = keysafe_core::recovery::copy_certificate(
                &mut a,
                &mut c,
                "Sales",
                "SalesCert",
                "Sales",
                fresh,
            )
            .await?;
            assert!(copy.verified() && !copy.already_present, "{copy:?}");
            return Ok(());
        }
        Target::CertFromBinary => (&src.pvk_report, cert),
        Target::CertFromPfx => (&src.pfx_report, cert),
        Target::DatabaseMasterKey => (
            &src.pvk_report,
            KeyRef::DatabaseMasterKey {
                database: "Sales".into(),
            },
        ),
        Target::ServiceMasterKey => (&src.pvk_report, KeyRef::ServiceMasterKey),
    };
    let req = RestoreRequest {
        report: report.clone(),
        from_server: None,
        key,
        target_database: None,
        server_dir: Some(RESTORE_FOLDER.into()),
        placement: Placement::Local(target.instance().host_path(RESTORE_FOLDER).unwrap()),
        force: false,
        add_service_master_key: case.target == Target::DatabaseMasterKey,
        verify_backup: None,
        confirmed_instance: Some("TARGET01".into()),
    };
    let master_key = (case.target == Target::DatabaseMasterKey).then_some(&new_master_key);
    restore::restore(
        &mut c,
        &req,
        &RestoreSecrets {
            backup: &Password::new(BACKUP_PW),
            master_key,
        },
        &mut |_| {},
    )
    .await
    .map(|_| ())
}

#[tokio::test]
async fn restore_and_copy_certificate_work_with_their_documented_permissions_and_change_nothing_without_one(
) {
    let dir = tempfile::tempdir().unwrap();
    let src = source(dir.path()).await;
    // Every case runs; what went wrong is listed together at the end.
    let mut problems: Vec<String> = Vec::new();
    for (n, case) in TARGET_CASES.iter().enumerate() {
        let source_says = one_value(&src.emu, proof_query(case.target)).await;
        assert!(
            source_says.is_some(),
            "{}: the source has the key",
            case.name
        );
        for skip in std::iter::once(None).chain((0..case.grants.len()).map(Some)) {
            let login = format!("target{n}_{}", skip.map_or("all".into(), |s| s.to_string()));
            let at = dir.path().join(&login);
            let target = keysafe_test_support::seeded(&at, "TARGET01", case.seed).await;
            target
                .instance()
                .run_as("sa", &grants_sql(case.users_in, case.grants, &login, skip))
                .unwrap_or_else(|e| panic!("{}: the grants fail: {e:?}", case.name));
            let folder = target.instance().host_path(RESTORE_FOLDER).unwrap();
            std::fs::create_dir_all(&folder).unwrap();
            let target_said = one_value(&target, proof_query(case.target)).await;
            assert_ne!(target_said, source_says, "{}: not there before", case.name);
            let before = files_under(&at.join("server"));
            let outcome = attempt_on_target(case, &src, &target, &login).await;
            let now_says = one_value(&target, proof_query(case.target)).await;
            let Some(i) = skip else {
                match outcome {
                    Err(e) => problems.push(format!(
                        "{} with {:?} failed: {}",
                        case.name,
                        case.grants,
                        e.describe()
                    )),
                    Ok(()) if now_says != source_says => problems.push(format!(
                        "{}: succeeded, but the target holds {now_says:?}, not the source's {source_says:?}",
                        case.name
                    )),
                    Ok(()) if std::fs::read_dir(&folder).unwrap().next().is_some() => problems
                        .push(format!("{}: what Keysafe placed is still there", case.name)),
                    Ok(()) => {}
                }
                continue;
            };
            let without = format!("{} without {}", case.name, case.grants[i]);
            let e = match outcome {
                Ok(()) => {
                    problems.push(format!("{without}: succeeded"));
                    continue;
                }
                Err(e) => e,
            };
            // What the administrator reads: the explanation, the next step and SQL
            // Server's own words.
            let said = e.describe();
            if !matches!(e.code, ErrorCode::PermissionDenied | ErrorCode::NotFound) {
                problems.push(format!("{without}: {:?}, not a permission: {said}", e.code));
            }
            if !said.contains(case.missing_says[i]) {
                problems.push(format!(
                    "{without}: the error does not say {:?}: {said}",
                    case.missing_says[i]
                ));
            }
            let after = files_under(&at.join("server"));
            let changed: Vec<_> = after
                .iter()
                .filter(|(p, b)| before.get(*p) != Some(*b))
                .map(|(p, _)| p.display().to_string())
                .chain(
                    before
                        .keys()
                        .filter(|p| !after.contains_key(*p))
                        .map(|p| format!("{} (removed)", p.display())),
                )
                .collect();
            if !changed.is_empty() {
                problems.push(format!("{without}: the target changed: {changed:?}"));
            }
            if now_says != target_said {
                problems.push(format!(
                    "{without}: the target now holds {now_says:?} (before: {target_said:?})"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// inventory and status (status judges the inventory's keys): they change nothing, so a
// missing permission does not fail them; it must not go unsaid either. With the documented
// permissions the login sees every key, the service account and TDE; with one removed, the
// inventory names what it cannot see and the GRANT (its risks, which `keysafe inventory`
// and `status` print), instead of reporting fewer keys as if that were all there is.

const INVENTORY_SEED: &str = "USE master;
CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Master!Key#2026x';
CREATE CERTIFICATE TdeCert WITH SUBJECT = 'TDE';
CREATE DATABASE Sales; USE Sales;
CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Sales!Master#Pass1';
CREATE CERTIFICATE SalesCert WITH SUBJECT = 'Sales signing';
CREATE DATABASE ENCRYPTION KEY WITH ALGORITHM = AES_256 ENCRYPTION BY SERVER CERTIFICATE TdeCert;
ALTER DATABASE Sales SET ENCRYPTION ON;";

/// The documented permissions, each one removable: (what it is, its T-SQL, words of the risk
/// that names it when it is missing).
const INVENTORY_GRANTS: &[(&str, &str, &str)] = &[
    (
        "VIEW SERVER STATE",
        "GRANT VIEW SERVER STATE TO [{u}];",
        "GRANT VIEW SERVER STATE",
    ),
    (
        "a user in master",
        "USE master; CREATE USER [{u}] FOR LOGIN [{u}];",
        "VIEW DEFINITION",
    ),
    (
        "VIEW DEFINITION in master",
        "USE master; GRANT VIEW DEFINITION TO [{u}];",
        "VIEW DEFINITION",
    ),
    (
        "a user in Sales",
        "USE Sales; CREATE USER [{u}] FOR LOGIN [{u}];",
        "cannot read this database's keys",
    ),
    (
        "VIEW DEFINITION in Sales",
        "USE Sales; GRANT VIEW DEFINITION TO [{u}];",
        "VIEW DEFINITION",
    ),
];

#[tokio::test]
async fn inventory_sees_everything_with_its_documented_permissions_and_names_what_one_less_hides() {
    let dir = tempfile::tempdir().unwrap();
    let emu = keysafe_test_support::seeded(dir.path(), "INV01", INVENTORY_SEED).await;
    let mut problems: Vec<String> = Vec::new();
    for skip in std::iter::once(None).chain((0..INVENTORY_GRANTS.len()).map(Some)) {
        let login = format!("inv_{}", skip.map_or("all".into(), |s| s.to_string()));
        let mut sql = format!("USE master; CREATE LOGIN [{login}] WITH PASSWORD = '{LOGIN_PW}';\n");
        for (i, (_, g, _)) in INVENTORY_GRANTS.iter().enumerate() {
            // A GRANT to a user that is not there is not made either.
            let user_missing = skip.is_some_and(|s| {
                INVENTORY_GRANTS[s].0.starts_with("a user in ")
                    && g.contains(&INVENTORY_GRANTS[s].0["a user in ".len()..])
            });
            if Some(i) != skip && !user_missing {
                sql.push_str(&format!("USE master; {}\n", g.replace("{u}", &login)));
            }
        }
        emu.instance()
            .run_as("sa", &sql)
            .unwrap_or_else(|e| panic!("{login}: the grants fail: {e:?}"));
        let mut c = connect(&keysafe_test_support::sql_options(&emu, &login, LOGIN_PW))
            .await
            .unwrap();
        let inv = keysafe_core::inventory::inventory(&mut c).await.unwrap();
        let db = |n: &str| inv.databases.iter().find(|d| d.name == n).unwrap();
        let sees_all = inv.server.service_account.is_some()
            && db("Sales").tde == Some(3)
            && db("Sales").master_key.is_some()
            && db("Sales")
                .certificates
                .iter()
                .any(|c| c.name == "SalesCert")
            && db("master")
                .certificates
                .iter()
                .any(|c| c.name == "TdeCert" && c.used_by_tde == ["Sales"]);
        let risks: Vec<String> = inv
            .risks
            .iter()
            .map(|r| format!("{}: {}", r.object, r.text))
            .collect();
        match skip {
            None => {
                if !sees_all {
                    problems.push(format!(
                        "with every grant the inventory misses keys: {inv:#?}"
                    ));
                }
                if let Some(r) = risks.iter().find(|r| {
                    r.contains("VIEW SERVER STATE")
                        || r.contains("VIEW DEFINITION")
                        || r.contains("cannot")
                }) {
                    problems.push(format!("with every grant it still says: {r}"));
                }
            }
            Some(i) => {
                let (what, _, says) = INVENTORY_GRANTS[i];
                if sees_all {
                    problems.push(format!("without {what}: it sees everything anyway"));
                }
                if !risks.iter().any(|r| r.contains(says)) {
                    problems.push(format!("without {what}: no risk says {says:?}: {risks:#?}"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
