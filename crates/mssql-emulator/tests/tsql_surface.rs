//! The T-SQL Keysafe sends: expressions, catalog queries, functions, file helpers, and
//! SQL Server's errors for everything else.

mod common;
use common::*;
use mssql_emulator::TlsMode;

#[tokio::test]
async fn expressions_follow_sql_server_typing() {
    let r = start().await;
    let mut c = sa(&r).await;
    let rows = ok(&mut c, "SELECT 1 + 2 * 3, 'a' + 'b', N'x' + 'y', 7 / 2, 7 % 3, -(-5), CASE WHEN 1 = 0 THEN 'no' WHEN NULL IS NULL THEN 'yes' END, CAST('42' AS int) + 1, CONVERT(varchar(10), 0x414243), DATALENGTH(N'ab'), DATALENGTH('ab'), LEN('ab  '), COALESCE(NULL, NULL, 'c'), ISNULL(NULL, 3), NULLIF(1, 1)").await;
    let row = &rows[0][0];
    assert_eq!(i32v(row, 0), Some(7));
    assert_eq!(s(row, 1).as_deref(), Some("ab"));
    assert_eq!(s(row, 2).as_deref(), Some("xy"));
    assert_eq!(i32v(row, 3), Some(3));
    assert_eq!(i32v(row, 4), Some(1));
    assert_eq!(i32v(row, 5), Some(5));
    assert_eq!(s(row, 6).as_deref(), Some("yes"));
    assert_eq!(i32v(row, 7), Some(43));
    assert_eq!(s(row, 8).as_deref(), Some("ABC"));
    assert_eq!(i32v(row, 9), Some(4));
    assert_eq!(i32v(row, 10), Some(2));
    assert_eq!(i32v(row, 11), Some(2));
    assert_eq!(s(row, 12).as_deref(), Some("c"));
    assert_eq!(i32v(row, 13), Some(3));
    assert_eq!(i32v(row, 14), None);
    fails(&mut c, "SELECT 'abc' + 1", 245).await;
    fails(&mut c, "SELECT 1 / 0", 8134).await;
    fails(&mut c, "SELECT 2147483647 + 1", 8115).await;
}

#[tokio::test]
async fn server_identity_matches_serverproperty_and_the_dmvs() {
    let r = start().await;
    let mut c = sa(&r).await;
    let rows = ok(
        &mut c,
        "SELECT CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)), CAST(SERVERPROPERTY('ProductMajorVersion') AS int),
                CAST(SERVERPROPERTY('Edition') AS nvarchar(128)), CAST(SERVERPROPERTY('InstanceDefaultBackupPath') AS nvarchar(512)),
                CAST(SERVERPROPERTY('InstanceName') AS nvarchar(128)), @@SERVERNAME, CAST(SERVERPROPERTY('PathSeparator') AS nchar(1)),
                CAST(SERVERPROPERTY('NoSuchProperty') AS int)",
    )
    .await;
    let row = &rows[0][0];
    assert_eq!(s(row, 0).as_deref(), Some("16.0.4135.4"));
    assert_eq!(i32v(row, 1), Some(16));
    assert_eq!(s(row, 2).as_deref(), Some("Developer Edition (64-bit)"));
    assert_eq!(
        s(row, 3).as_deref(),
        Some(r"C:\Program Files\Microsoft SQL Server\MSSQL16.MSSQLSERVER\MSSQL\Backup\")
    );
    assert_eq!(
        s(row, 4),
        None,
        "InstanceName is NULL for the default instance"
    );
    assert_eq!(s(row, 5).as_deref(), Some("SQLPROD01"));
    assert_eq!(s(row, 6).as_deref(), Some("\\"));
    let svc = ok(&mut c, "SELECT servicename, service_account FROM sys.dm_server_services WHERE servicename LIKE 'SQL Server (%'").await;
    assert_eq!(
        s(&svc[0][0], 0).as_deref(),
        Some("SQL Server (MSSQLSERVER)")
    );
    assert_eq!(s(&svc[0][0], 1).as_deref(), Some(r"NT Service\MSSQLSERVER"));
    let host = ok(&mut c, "SELECT host_platform FROM sys.dm_os_host_info").await;
    assert_eq!(s(&host[0][0], 0).as_deref(), Some("Windows"));
}

#[tokio::test]
async fn older_versions_lack_newer_properties_and_views() {
    let r = start_with(Some(mssql_emulator::scenarios::NAMED_2016), TlsMode::On).await;
    let mut c = sa(&r).await;
    let rows = ok(&mut c, "SELECT @@SERVERNAME, CAST(SERVERPROPERTY('InstanceName') AS nvarchar(128)), CAST(SERVERPROPERTY('InstanceDefaultBackupPath') AS nvarchar(256)), CAST(SERVERPROPERTY('ProductMajorVersion') AS int)").await;
    assert_eq!(s(&rows[0][0], 0).as_deref(), Some(r"SQLOLD01\PAYROLL"));
    assert_eq!(s(&rows[0][0], 1).as_deref(), Some("PAYROLL"));
    assert_eq!(i32v(&rows[0][0], 3), Some(13));
    let r2 = ok(
        &mut c,
        "SELECT CAST(SERVERPROPERTY('InstanceDefaultBackupPath') AS nvarchar(10))",
    )
    .await;
    assert_eq!(s(&r2[0][0], 0), None, "2019+ only");
    fails(&mut c, "SELECT * FROM sys.dm_os_host_info", 208).await;
    let svc = ok(&mut c, "SELECT service_account FROM sys.dm_server_services WHERE servicename = 'SQL Server (PAYROLL)'").await;
    assert_eq!(
        s(&svc[0][0], 0).as_deref(),
        Some(r"NT Service\MSSQL$PAYROLL")
    );
    // The UNC share and the D: drive exist on this host.
    ok(&mut c, &format!(r"BACKUP SERVICE MASTER KEY TO FILE = '\\fileserver\sqlkeys\old.key' ENCRYPTION BY PASSWORD = '{STRONG}'")).await;
    assert!(host(&r, r"\\FILESERVER\SQLKEYS\old.key").is_file());
    fails(&mut c, &format!(r"BACKUP SERVICE MASTER KEY TO FILE = '\\otherserver\share\old.key' ENCRYPTION BY PASSWORD = '{STRONG}'"), 15240).await;
}

#[tokio::test]
async fn linux_instances_use_posix_paths() {
    let r = start_with(Some(mssql_emulator::scenarios::LINUX_2019), TlsMode::On).await;
    let mut c = sa(&r).await;
    ok(&mut c, &format!("BACKUP SERVICE MASTER KEY TO FILE = '/var/opt/mssql/data/smk' ENCRYPTION BY PASSWORD = '{STRONG}'")).await;
    assert!(host(&r, "/var/opt/mssql/data/smk").is_file());
    let e = fails(&mut c, "BACKUP SERVICE MASTER KEY TO FILE = '/var/opt/mssql/data/x' ENCRYPTION BY PASSWORD = 'lowercaseonly'", 15118).await;
    assert!(e.message().contains("operating system policy"));
    let rows = ok(
        &mut c,
        "SELECT host_platform, host_distribution FROM sys.dm_os_host_info",
    )
    .await;
    assert_eq!(s(&rows[0][0], 0).as_deref(), Some("Linux"));
    assert_eq!(
        scalar_str(
            &mut c,
            "SELECT CAST(SERVERPROPERTY('PathSeparator') AS nvarchar(1))"
        )
        .await
        .as_deref(),
        Some("/")
    );
}

/// OPENROWSET(BULK) on Linux: before 2022 CU24 only sysadmin may read a file, whatever else
/// a login was granted; from CU24 ADMINISTER BULK OPERATIONS suffices, but only in the folders
/// mssql-conf's bulkadmin.allowedpathslist lists (else 4861, operating system error 5).
#[tokio::test]
async fn linux_bulk_reads_follow_the_version_the_cu_and_the_allowed_paths() {
    const OPERATOR: &str = r#"
[[logins]]
name = "operator"
password = "Operat0r!Pass#1"
grant = ["CONTROL SERVER", "ADMINISTER BULK OPERATIONS"]
"#;
    let read = |path: &str| {
        format!("SELECT CAST(DATALENGTH(BulkColumn) AS int) FROM OPENROWSET(BULK N'{path}', SINGLE_BLOB) AS f")
    };
    let smk = |path: &str| {
        format!("BACKUP SERVICE MASTER KEY TO FILE = '{path}' ENCRYPTION BY PASSWORD = '{STRONG}'")
    };
    // 2019: sysadmin only.
    let linux_2019 = format!("{}{OPERATOR}", mssql_emulator::scenarios::LINUX_2019);
    let r = start_with(Some(&linux_2019), TlsMode::On).await;
    let mut op = login(&r, "operator", "Operat0r!Pass#1").await;
    ok(&mut op, &smk("/var/opt/mssql/data/smk")).await;
    fails(&mut op, &read("/var/opt/mssql/data/smk"), 4834).await;
    let mut c = sa(&r).await;
    assert!(
        scalar_i32(&mut c, &read("/var/opt/mssql/data/smk"))
            .await
            .unwrap()
            > 0
    );
    // 2022 CU24 with /var/opt/mssql/keysafe listed: there (and below) only.
    let cu24 = format!(
        "folders = [\"/var/opt/mssql/keysafe/deep\", \"/var/opt/mssql/keysafe2\"]\n[server]\nversion = 2022\nplatform = \"linux\"\ncumulative_update = 24\nbulk_allowed_paths = [\"/var/opt/mssql/keysafe\"]\n{OPERATOR}"
    );
    let r = start_with(Some(&cu24), TlsMode::On).await;
    let mut c = sa(&r).await;
    assert_eq!(
        scalar_str(
            &mut c,
            "SELECT CAST(SERVERPROPERTY('ProductUpdateLevel') AS nvarchar(16))"
        )
        .await
        .as_deref(),
        Some("CU24")
    );
    let mut op = login(&r, "operator", "Operat0r!Pass#1").await;
    for f in [
        "/var/opt/mssql/keysafe/smk",
        "/var/opt/mssql/keysafe/deep/smk",
        "/var/opt/mssql/data/smk",
        "/var/opt/mssql/keysafe2/smk",
    ] {
        ok(&mut op, &smk(f)).await;
    }
    assert!(
        scalar_i32(&mut op, &read("/var/opt/mssql/keysafe/smk"))
            .await
            .unwrap()
            > 0
    );
    assert!(
        scalar_i32(&mut op, &read("/var/opt/mssql/keysafe/deep/smk"))
            .await
            .unwrap()
            > 0
    );
    let e = fails(&mut op, &read("/var/opt/mssql/data/smk"), 4861).await;
    assert!(
        e.message()
            .contains("Operating system error code 5(Access is denied.)"),
        "{}",
        e.message()
    );
    // A folder whose name only starts like a listed one is not listed.
    fails(&mut op, &read("/var/opt/mssql/keysafe2/smk"), 4861).await;
    // sysadmin is not held to the list.
    assert!(
        scalar_i32(&mut c, &read("/var/opt/mssql/data/smk"))
            .await
            .unwrap()
            > 0
    );
}

#[tokio::test]
async fn catalog_queries_join_filter_group_and_order() {
    let r = start_with(Some(DEMO), TlsMode::On).await;
    let mut c = sa(&r).await;
    let rows = ok(
        &mut c,
        "SELECT d.name, d.is_encrypted, d.is_master_key_encrypted_by_server, k.encryption_state
         FROM sys.databases AS d LEFT JOIN sys.dm_database_encryption_keys AS k ON k.database_id = d.database_id
         WHERE d.database_id > 4 AND (d.name LIKE 'S%' OR d.name IN ('HR', 'Payroll')) ORDER BY d.name DESC",
    )
    .await;
    let names: Vec<String> = rows[0].iter().map(|r| s(r, 0).unwrap()).collect();
    assert_eq!(names, ["Sales", "Payroll", "HR"]);
    assert_eq!(rows[0][1].get::<bool, _>(1), Some(true));
    assert_eq!(rows[0][1].get::<i32, _>(3), Some(3));
    assert_eq!(rows[0][0].get::<i32, _>(3), None, "Sales has no DEK");
    let g = ok(&mut c, "SELECT is_encrypted, COUNT(*) AS n, MIN(name), MAX(database_id) FROM sys.databases GROUP BY is_encrypted ORDER BY n").await;
    assert_eq!(g[0].len(), 2);
    let total: i32 = g[0].iter().map(|r| i32v(r, 1).unwrap()).sum();
    assert_eq!(
        Some(total),
        scalar_i32(&mut c, "SELECT COUNT(*) FROM sys.databases").await
    );
    let top = ok(
        &mut c,
        "SELECT TOP (2) name FROM master.sys.certificates ORDER BY expiry_date",
    )
    .await;
    assert_eq!(top[0].len(), 2);
    let keys = ok(&mut c, "SELECT sk.name, ke.crypt_type FROM HR.sys.symmetric_keys sk INNER JOIN HR.sys.key_encryptions ke ON sk.symmetric_key_id = ke.key_id ORDER BY ke.crypt_type").await;
    let kinds: Vec<String> = keys[0].iter().map(|r| s(r, 1).unwrap()).collect();
    assert_eq!(kinds, ["ESKM", "ESP2"]);
    let smk = ok(&mut c, "SELECT name, key_length FROM master.sys.symmetric_keys WHERE name = '##MS_ServiceMasterKey##'").await;
    assert_eq!(i32v(&smk[0][0], 1), Some(256));
    fails(&mut c, "SELECT name, COUNT(*) FROM sys.databases", 8120).await;
    fails(&mut c, "SELECT nosuchcolumn FROM sys.databases", 207).await;
    fails(&mut c, "SELECT * FROM sys.nosuchview", 208).await;
}

#[tokio::test]
async fn metadata_is_visible_only_with_a_permission_on_it() {
    let r = start_with(Some(DEMO), TlsMode::On).await;
    let mut c = login(&r, "app_reader", "Reader!Pass#22").await;
    assert_eq!(
        scalar_i32(&mut c, "SELECT COUNT(*) FROM master.sys.certificates").await,
        Some(0)
    );
    assert_eq!(
        scalar_i32(&mut c, "SELECT COUNT(*) FROM HR.sys.symmetric_keys").await,
        Some(1)
    );
    let e = fails(&mut c, "SELECT * FROM sys.dm_server_services", 300).await;
    assert_eq!(e.class(), 14);
    fails(&mut c, "SELECT * FROM sys.dm_database_encryption_keys", 300).await;
    assert_eq!(
        scalar_i32(&mut c, "SELECT COUNT(*) FROM sys.dm_os_host_info").await,
        Some(1),
        "public by default"
    );
    let own = ok(
        &mut c,
        "SELECT name FROM sys.server_principals WHERE type IN ('S', 'U')",
    )
    .await;
    assert_eq!(own[0].len(), 1, "a login sees only itself");
    let perms = ok(
        &mut c,
        "SELECT permission_name FROM fn_my_permissions(NULL, 'SERVER') ORDER BY permission_name",
    )
    .await;
    let p: Vec<String> = perms[0].iter().map(|r| s(r, 0).unwrap()).collect();
    assert_eq!(p, ["CONNECT SQL", "VIEW ANY DATABASE"]);
    let mut op = login(&r, "keysafe_operator", "Operat0r!Pass#1").await;
    let n = scalar_i32(
        &mut op,
        "SELECT COUNT(*) FROM sys.fn_my_permissions(NULL, 'SERVER')",
    )
    .await
    .unwrap();
    assert!(
        n > 15,
        "CONTROL SERVER implies every server permission, got {n}"
    );
    assert_eq!(
        scalar_i32(&mut op, "SELECT COUNT(*) FROM master.sys.certificates").await,
        Some(2)
    );
}

#[tokio::test]
async fn openrowset_bulk_reads_a_server_file_for_hashbytes() {
    let r = start_with(Some(DEMO), TlsMode::On).await;
    let mut c = sa(&r).await;
    let f = format!(r"{BACKUP_DIR}\smk.key");
    ok(
        &mut c,
        &format!("BACKUP SERVICE MASTER KEY TO FILE = '{f}' ENCRYPTION BY PASSWORD = '{STRONG}'"),
    )
    .await;
    let rows = ok(&mut c, &format!("SELECT HASHBYTES('SHA2_256', BulkColumn), DATALENGTH(BulkColumn) FROM OPENROWSET(BULK N'{f}', SINGLE_BLOB) AS f")).await;
    use sha2::Digest;
    let bytes = std::fs::read(host(&r, &f)).unwrap();
    assert_eq!(
        rows[0][0].get::<&[u8], _>(0).unwrap(),
        sha2::Sha256::digest(&bytes).as_slice()
    );
    assert_eq!(rows[0][0].get::<i64, _>(1), Some(bytes.len() as i64));
    let blob = ok(
        &mut c,
        &format!("SELECT x.BulkColumn FROM OPENROWSET(BULK '{f}', SINGLE_BLOB) x"),
    )
    .await;
    assert_eq!(blob[0][0].get::<&[u8], _>(0).unwrap(), bytes.as_slice());
    let e = fails(
        &mut c,
        &format!("SELECT BulkColumn FROM OPENROWSET(BULK N'{f}', SINGLE_BLOB)"),
        491,
    )
    .await;
    assert_eq!(
        e.message(),
        "A correlation name must be specified for the bulk rowset in the from clause."
    );
    fails(
        &mut c,
        &format!(r"SELECT BulkColumn FROM OPENROWSET(BULK N'{BACKUP_DIR}\none', SINGLE_BLOB) AS f"),
        4860,
    )
    .await;
    // A missing folder and a folder opened as a file are 4861 with the OS error.
    let e = fails(
        &mut c,
        &format!(r"SELECT BulkColumn FROM OPENROWSET(BULK N'{BACKUP_DIR}\nofolder\x.key', SINGLE_BLOB) AS f"),
        4861,
    )
    .await;
    assert!(
        e.message().ends_with(
            "Operating system error code 3(The system cannot find the path specified.)."
        ),
        "{}",
        e.message()
    );
    let e = fails(
        &mut c,
        &format!(r"SELECT BulkColumn FROM OPENROWSET(BULK N'{BACKUP_DIR}', SINGLE_BLOB) AS f"),
        4861,
    )
    .await;
    assert!(
        e.message().contains("error code 5(Access is denied.)"),
        "{}",
        e.message()
    );
    let mut reader = login(&r, "app_reader", "Reader!Pass#22").await;
    fails(
        &mut reader,
        &format!("SELECT BulkColumn FROM OPENROWSET(BULK N'{f}', SINGLE_BLOB) AS f"),
        4834,
    )
    .await;
    let mut bulk = login(&r, "bulk_loader", "Bulk!Loader#33").await;
    ok(
        &mut bulk,
        &format!("SELECT BulkColumn FROM OPENROWSET(BULK N'{f}', SINGLE_BLOB) AS f"),
    )
    .await;
}

#[tokio::test]
async fn file_helpers_act_as_the_service_account() {
    let r = start().await;
    let mut c = sa(&r).await;
    let dir = format!(r"{BACKUP_DIR}\Keysafe\2026");
    let rows = ok(&mut c, &format!("EXEC master..xp_fileexist N'{dir}'")).await;
    assert_eq!(
        (
            i32v(&rows[0][0], 0),
            i32v(&rows[0][0], 1),
            i32v(&rows[0][0], 2)
        ),
        (Some(0), Some(0), Some(0))
    );
    ok(
        &mut c,
        &format!("EXEC master.dbo.xp_create_subdir N'{dir}'"),
    )
    .await;
    assert!(host(&r, &dir).is_dir());
    let rows = ok(&mut c, &format!("EXEC xp_fileexist '{dir}'")).await;
    assert_eq!(
        (
            i32v(&rows[0][0], 0),
            i32v(&rows[0][0], 1),
            i32v(&rows[0][0], 2)
        ),
        (Some(0), Some(1), Some(1))
    );
    let rows = ok(&mut c, &format!("SELECT file_exists, file_is_a_directory, parent_directory_exists FROM sys.dm_os_file_exists(N'{dir}')")).await;
    assert_eq!(rows[0][0].get::<bool, _>(1), Some(true));
    let rows = ok(
        &mut c,
        &format!("DECLARE @e int; EXEC master.sys.xp_fileexist N'{dir}\\x', @e OUTPUT; SELECT @e"),
    )
    .await;
    assert_eq!(i32v(&rows[0][0], 0), Some(0));
    fails(&mut c, r"EXEC xp_create_subdir N'Q:\nowhere'", 22048).await;
    fails(&mut c, "EXEC sp_no_such_procedure", 2812).await;
    // A bare procedure name starts a batch, as in SSMS.
    ok(&mut c, &format!("xp_fileexist N'{dir}'")).await;
}

#[tokio::test]
async fn syntax_errors_reject_the_batch_and_runtime_errors_only_the_statement() {
    let r = start().await;
    let mut c = sa(&r).await;
    let e = fails(&mut c, "SELEC 1", 2812).await; // a bare word is a procedure call
    assert!(e.message().contains("SELEC"));
    let e = fails(&mut c, "SELECT 1 FROM", 156).await;
    assert_eq!(e.message(), "Incorrect syntax near the keyword 'FROM'.");
    assert_eq!(e.class(), 15);
    let e = fails(&mut c, "SELECT * FROM sys.databases WHERE", 156).await;
    assert_eq!(e.message(), "Incorrect syntax near the keyword 'WHERE'.");
    let e = fails(&mut c, "SELECT 1 +", 102).await;
    assert_eq!(e.message(), "Incorrect syntax near '+'.");
    fails(&mut c, "SELECT 1 SELECT FROM", 156).await;
    fails(&mut c, "SELECT 'unclosed", 105).await;
    fails(&mut c, "SELECT 1 /* unclosed", 113).await;
    fails(&mut c, "SELECT @undeclared", 137).await;
    let e = fails(&mut c, "CREATE DATABASE A1\nGO\nCREATE DATABASE A2", 102).await;
    assert_eq!(
        e.message(),
        "Incorrect syntax near 'GO'.",
        "GO belongs to the client"
    );
    assert_eq!(e.line(), 2);
    assert_eq!(
        scalar_i32(
            &mut c,
            "SELECT COUNT(*) FROM sys.databases WHERE name IN ('A1', 'A2')"
        )
        .await,
        Some(0),
        "nothing ran"
    );
    // A runtime error ends its statement; the next ones still run.
    let e = fails(
        &mut c,
        "CREATE DATABASE B1\nSELECT * FROM sys.nope\nCREATE DATABASE B2",
        208,
    )
    .await;
    assert_eq!(e.line(), 2);
    assert_eq!(
        scalar_i32(
            &mut c,
            "SELECT COUNT(*) FROM sys.databases WHERE name IN ('B1', 'B2')"
        )
        .await,
        Some(2)
    );
    // The connection is still usable.
    assert_eq!(scalar_i32(&mut c, "SELECT 9").await, Some(9));
}

#[tokio::test]
async fn lexer_handles_quotes_brackets_comments_and_case() {
    let r = start().await;
    let mut c = sa(&r).await;
    let rows = ok(&mut c, "select /* a /* nested */ comment */ N'it''s' AS [we]]ird], \"q\" = 1 -- trailing\n, [select] = 2\n;").await;
    assert_eq!(s(&rows[0][0], 0).as_deref(), Some("it's"));
    let cols: Vec<String> = rows[0][0]
        .columns()
        .iter()
        .map(|c| c.name().to_string())
        .collect();
    assert_eq!(cols, ["we]ird", "q", "select"]);
    ok(&mut c, "CrEaTe   DaTaBaSe\t[Odd ]]Name]").await;
    assert_eq!(
        scalar_i32(
            &mut c,
            "SELECT COUNT(*) FROM sys.databases WHERE name = 'Odd ]Name'"
        )
        .await,
        Some(1)
    );
}

#[tokio::test]
async fn security_statements_change_what_a_login_may_do() {
    let r = start().await;
    let mut c = sa(&r).await;
    fails(
        &mut c,
        "CREATE LOGIN weak WITH PASSWORD = 'weakpass'",
        15118,
    )
    .await;
    fails(
        &mut c,
        "CREATE LOGIN smith WITH PASSWORD = 'smith!Smith#1'",
        15118,
    )
    .await; // contains the login name
    ok(
        &mut c,
        &format!("CREATE LOGIN ops WITH PASSWORD = '{STRONG}'"),
    )
    .await;
    fails(
        &mut c,
        &format!("CREATE LOGIN ops WITH PASSWORD = '{STRONG}'"),
        15025,
    )
    .await;
    let mut ops = login(&r, "ops", STRONG).await;
    fails(&mut ops, "CREATE DATABASE NotYours", 262).await;
    fails(&mut ops, &format!(r"BACKUP SERVICE MASTER KEY TO FILE = '{BACKUP_DIR}\o.key' ENCRYPTION BY PASSWORD = '{STRONG}'"), 15247).await;
    ok(&mut c, "GRANT CONTROL SERVER TO ops").await;
    ok(&mut ops, &format!(r"BACKUP SERVICE MASTER KEY TO FILE = '{BACKUP_DIR}\o.key' ENCRYPTION BY PASSWORD = '{STRONG}'")).await;
    ok(&mut c, "DENY VIEW SERVER STATE TO ops").await;
    fails(&mut ops, "SELECT * FROM sys.dm_server_services", 300).await;
    ok(&mut c, "REVOKE CONTROL SERVER FROM ops; REVOKE VIEW SERVER STATE FROM ops; ALTER SERVER ROLE sysadmin ADD MEMBER ops").await;
    assert_eq!(
        scalar_i32(&mut ops, "SELECT IS_SRVROLEMEMBER('sysadmin')").await,
        Some(1)
    );
    ok(&mut c, "CREATE DATABASE Shop; USE Shop; CREATE USER clerk WITHOUT LOGIN; GRANT CONTROL ON DATABASE::Shop TO clerk").await;
    fails(
        &mut c,
        "USE Shop; GRANT CONTROL ON DATABASE::Shop TO nobody",
        15151,
    )
    .await;
    fails(&mut c, "GRANT CONTROL SERVER TO nobody", 15151).await;
    ok(&mut ops, "ALTER LOGIN sa DISABLE").await;
    assert!(
        connect_with(config(
            &r,
            "sa",
            mssql_emulator::DEFAULT_SA_PASSWORD,
            tiberius::EncryptionLevel::Required
        ))
        .await
        .is_err(),
        "a disabled login cannot connect"
    );
    ok(&mut ops, "ALTER LOGIN sa ENABLE").await;
    sa(&r).await;
}

#[tokio::test]
async fn serverproperty_is_a_sql_variant_as_on_sql_server() {
    // tiberius cannot decode sql_variant (it panics), which is exactly why Keysafe must CAST.
    let r = start().await;
    let mut s = mssql_emulator::engine::session::Session::new(1, "sa", "master");
    let out = r.emu.instance().execute_batch(
        &mut s,
        "SELECT SERVERPROPERTY('Edition'), CAST(SERVERPROPERTY('Edition') AS nvarchar(128))",
    );
    let cols = out.events.iter().find_map(|e| match e {
        mssql_emulator::engine::Event::Rows { columns, .. } => Some(columns.clone()),
        _ => None,
    });
    let cols = cols.unwrap();
    assert_eq!(cols[0].ty, mssql_emulator::value::SqlType::SqlVariant);
    assert_eq!(
        cols[1].ty,
        mssql_emulator::value::SqlType::NVarChar(Some(128))
    );
}

/// IF ... ELSE and BEGIN ... END run only the branch taken, each statement with its own
/// result; a view the version lacks in the branch not taken is no error (deferred name
/// resolution); HAS_DBACCESS says which databases the caller may enter.
#[tokio::test]
async fn if_else_blocks_and_has_dbaccess() {
    let r = start_with(Some(DEMO), TlsMode::On).await;
    let mut c = sa(&r).await;
    let sets = ok(
        &mut c,
        "IF 1 = 1 SELECT 'then' ELSE SELECT 'else';
         IF 1 = 0 SELECT 'no' ELSE BEGIN SELECT 'a'; SELECT 'b' END
         IF NULL = NULL SELECT 'unknown is not true'
         SELECT 'after'",
    )
    .await;
    let texts: Vec<String> = sets.iter().map(|rs| s(&rs[0], 0).unwrap()).collect();
    assert_eq!(texts, ["then", "a", "b", "after"]);
    fails(&mut c, "IF 1 = 1 BEGIN SELECT 1", 102).await;

    // An ordinary login enters HR (it has a user there), not Payroll; master always.
    let mut app = login(&r, "app_reader", "Reader!Pass#22").await;
    let rows = ok(
        &mut app,
        "SELECT HAS_DBACCESS(N'master'), HAS_DBACCESS(N'HR'), HAS_DBACCESS(N'Payroll'), HAS_DBACCESS(N'NoSuchDb')",
    )
    .await;
    let row = &rows[0][0];
    assert_eq!(
        (i32v(row, 0), i32v(row, 1), i32v(row, 2), i32v(row, 3)),
        (Some(1), Some(1), Some(0), None)
    );
    let rows = ok(&mut c, "SELECT HAS_DBACCESS(N'Payroll')").await;
    assert_eq!(
        i32v(&rows[0][0], 0),
        Some(1),
        "sysadmin enters every database"
    );

    let old = start_with(Some(mssql_emulator::scenarios::NAMED_2016), TlsMode::On).await;
    let mut c = sa(&old).await;
    let rows = ok(
        &mut c,
        "IF CAST(SERVERPROPERTY('ProductMajorVersion') AS int) >= 14 SELECT host_platform FROM sys.dm_os_host_info ELSE SELECT N'Windows'",
    )
    .await;
    assert_eq!(s(&rows[0][0], 0).as_deref(), Some("Windows"));
    fails(&mut c, "SELECT host_platform FROM sys.dm_os_host_info", 208).await;
}

/// An availability group created on this instance (its primary): the catalog lists the group,
/// its replicas and databases, and the DMV names the local replica PRIMARY; a login without
/// VIEW ANY DEFINITION sees no group, without VIEW SERVER STATE no DMV, and without sysadmin
/// cannot create one (`assumptions::AVAILABILITY_GROUPS_NEED_VIEW_ANY_DEFINITION`).
#[tokio::test]
async fn an_availability_group_is_listed_with_its_replicas_and_databases() {
    let r = start_with(Some(DEMO), TlsMode::On).await;
    let mut c = sa(&r).await;
    ok(
        &mut c,
        "CREATE AVAILABILITY GROUP [PayrollAG] WITH (CONTAINED, DB_FAILOVER = ON)
  FOR DATABASE Payroll, Archive
  REPLICA ON N'SQLDEMO01' WITH (ENDPOINT_URL = N'TCP://sqldemo01.corp:5022', AVAILABILITY_MODE = SYNCHRONOUS_COMMIT, FAILOVER_MODE = AUTOMATIC, SECONDARY_ROLE (ALLOW_CONNECTIONS = READ_ONLY)),
    N'SQLDR01' WITH (ENDPOINT_URL = N'TCP://sqldr01.corp:5022', AVAILABILITY_MODE = ASYNCHRONOUS_COMMIT, FAILOVER_MODE = MANUAL)",
    )
    .await;
    let rows = ok(
        &mut c,
        "SELECT ag.name, CAST(ag.is_contained AS int), ar.replica_server_name, ar.endpoint_url, ar.availability_mode_desc, rs.role_desc
  FROM sys.availability_groups AS ag
  INNER JOIN sys.availability_replicas AS ar ON ar.group_id = ag.group_id
  INNER JOIN sys.dm_hadr_availability_replica_states AS rs ON rs.replica_id = ar.replica_id
  ORDER BY ar.replica_server_name",
    )
    .await;
    let got: Vec<Vec<Option<String>>> = rows[0]
        .iter()
        .map(|row| {
            vec![
                s(row, 0),
                i32v(row, 1).map(|v| v.to_string()),
                s(row, 2),
                s(row, 3),
                s(row, 4),
                s(row, 5),
            ]
        })
        .collect();
    let w = |x: &str| Some(x.to_string());
    assert_eq!(
        got,
        [
            vec![
                w("PayrollAG"),
                w("1"),
                w("SQLDEMO01"),
                w("TCP://sqldemo01.corp:5022"),
                w("SYNCHRONOUS_COMMIT"),
                w("PRIMARY")
            ],
            vec![
                w("PayrollAG"),
                w("1"),
                w("SQLDR01"),
                w("TCP://sqldr01.corp:5022"),
                w("ASYNCHRONOUS_COMMIT"),
                w("SECONDARY")
            ],
        ]
    );
    let dbs = ok(
        &mut c,
        "SELECT database_name FROM sys.availability_databases_cluster ORDER BY database_name",
    )
    .await;
    let names: Vec<String> = dbs[0].iter().map(|r| s(r, 0).unwrap()).collect();
    assert_eq!(names, ["Archive", "Payroll"]);
    // A contained group has its own master and msdb, named after it.
    let system = ok(
        &mut c,
        "SELECT name FROM sys.databases WHERE name LIKE N'PayrollAG[_]%' ORDER BY name",
    )
    .await;
    let system: Vec<String> = system[0].iter().map(|r| s(r, 0).unwrap()).collect();
    assert_eq!(system, ["PayrollAG_master", "PayrollAG_msdb"]);

    let mut reader = login(&r, "app_reader", "Reader!Pass#22").await;
    assert_eq!(
        scalar_i32(&mut reader, "SELECT COUNT(*) FROM sys.availability_groups").await,
        Some(0)
    );
    fails(
        &mut reader,
        "SELECT * FROM sys.dm_hadr_availability_replica_states",
        300,
    )
    .await;
    fails(
        &mut reader,
        "CREATE AVAILABILITY GROUP [Other] FOR REPLICA ON N'SQLDEMO01' WITH (ENDPOINT_URL = N'TCP://x:5022', AVAILABILITY_MODE = SYNCHRONOUS_COMMIT, FAILOVER_MODE = MANUAL)",
        15247,
    )
    .await;
    let mut op = login(&r, "keysafe_operator", "Operat0r!Pass#1").await;
    assert_eq!(
        scalar_i32(&mut op, "SELECT COUNT(*) FROM sys.availability_replicas").await,
        Some(2),
        "CONTROL SERVER implies VIEW ANY DEFINITION"
    );
}
