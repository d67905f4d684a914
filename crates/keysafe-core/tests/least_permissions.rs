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
    let mut sql = format!("USE master; CREATE LOGIN [{login}] WITH PASSWORD = '{LOGIN_PW}';\n");
    for db in case.users_in {
        sql.push_str(&format!(
            "USE {db}; CREATE USER [{login}] FOR LOGIN [{login}];\n"
        ));
    }
    for (i, g) in case.grants.iter().enumerate() {
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
