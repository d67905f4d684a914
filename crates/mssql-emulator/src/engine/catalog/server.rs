//! The server and its host: sys.dm_server_services, sys.dm_exec_connections, sys.dm_os_host_info, sys.dm_os_file_exists.

use super::*;

/// The catalog views and DMVs of this family.
pub(super) const VIEWS: &[Source] = &[
    Source {
        name: "dm_server_services",
        since: 0,
        build: dm_server_services,
    },
    Source {
        name: "dm_exec_connections",
        since: 0,
        build: dm_exec_connections,
    },
    Source {
        name: "dm_os_host_info",
        since: 14,
        build: dm_os_host_info,
    },
];

/// The table-valued functions of this family.
pub(super) const FUNCTIONS: &[Source] = &[Source {
    name: "dm_os_file_exists",
    since: 14,
    build: dm_os_file_exists,
}];

/// sys.dm_exec_connections: this session's connection (the emulator keeps no list of the
/// others' transports), with VIEW SERVER STATE as SQL Server requires.
fn dm_exec_connections(ctx: &Ctx, at: &At) -> Res<Table> {
    need_server_state(ctx)?;
    let c = cols(
        at.qualifier,
        &[
            ("session_id", SqlType::Int),
            ("net_transport", SqlType::NVarChar(Some(40))),
            ("protocol_type", SqlType::NVarChar(Some(40))),
            ("encrypt_option", SqlType::NVarChar(Some(40))),
            ("auth_scheme", SqlType::NVarChar(Some(40))),
        ],
    );
    let session = ctx.session;
    let windows = session.login.contains('\\');
    Ok(Table {
        cols: c,
        rows: vec![vec![
            Value::Int(session.spid as i64),
            s("TCP"),
            s("TSQL"),
            s(if session.encrypted { "TRUE" } else { "FALSE" }),
            s(if windows { "NTLM" } else { "SQL" }),
        ]],
    })
}

fn dm_server_services(ctx: &Ctx, at: &At) -> Res<Table> {
    let info = &ctx.inst.info;
    let qualifier = at.qualifier;
    need_server_state(ctx)?;
    let c = cols(
        qualifier,
        &[
            ("servicename", SqlType::NVarChar(Some(256))),
            ("startup_type", SqlType::Int),
            ("startup_type_desc", SqlType::NVarChar(Some(256))),
            ("status", SqlType::Int),
            ("status_desc", SqlType::NVarChar(Some(256))),
            ("process_id", SqlType::Int),
            ("last_startup_time", SqlType::DateTimeOffset(7)),
            ("service_account", SqlType::NVarChar(Some(256))),
            ("filename", SqlType::NVarChar(Some(256))),
            ("is_clustered", SqlType::NVarChar(Some(1))),
            ("cluster_nodename", SqlType::NVarChar(Some(256))),
            (
                "instant_file_initialization_enabled",
                SqlType::NVarChar(Some(1)),
            ),
        ],
    );
    let svc = info.service_name();
    let agent_account = if info.instance_name.is_some() {
        format!("NT Service\\SQLAgent${svc}")
    } else {
        "NT Service\\SQLSERVERAGENT".into()
    };
    let base = if info.is_linux() {
        "/opt/mssql/bin".to_string()
    } else {
        format!(
            "\"C:\\Program Files\\Microsoft SQL Server\\MSSQL{}.{svc}\\MSSQL\\Binn",
            info.major
        )
    };
    let started = Value::DateTimeOffset(chrono::Utc::now().fixed_offset());
    let mut rows = vec![vec![
        s(&format!("SQL Server ({svc})")),
        Value::Int(2),
        s("Automatic"),
        Value::Int(4),
        s("Running"),
        Value::Int(info.process_id as i64),
        started.clone(),
        s(&info.service_account),
        s(&if info.is_linux() {
            format!("{base}/sqlservr")
        } else {
            format!("{base}\\sqlservr.exe\" -s{svc}")
        }),
        s("N"),
        Value::Null,
        s("Y"),
    ]];
    if !info.is_linux() {
        rows.push(vec![
            s(&format!("SQL Server Agent ({svc})")),
            Value::Int(3),
            s("Manual"),
            Value::Int(1),
            s("Stopped"),
            Value::Null,
            Value::Null,
            s(&agent_account),
            s(&format!("{base}\\SQLAGENT.EXE\" -i {svc}")),
            s("N"),
            Value::Null,
            s("N"),
        ]);
    }
    Ok(Table { cols: c, rows })
}

fn dm_os_host_info(ctx: &Ctx, at: &At) -> Res<Table> {
    let info = &ctx.inst.info;
    let qualifier = at.qualifier;
    let c = cols(
        qualifier,
        &[
            ("host_platform", SqlType::NVarChar(Some(256))),
            ("host_distribution", SqlType::NVarChar(Some(256))),
            ("host_release", SqlType::NVarChar(Some(256))),
            ("host_service_pack_level", SqlType::NVarChar(Some(256))),
            ("host_sku", SqlType::Int),
            ("os_language_version", SqlType::Int),
        ],
    );
    let linux = info.is_linux();
    let row = vec![
        s(if linux { "Linux" } else { "Windows" }),
        s(&info.host_distribution),
        s(&info.host_release),
        s(""),
        if linux { Value::Null } else { Value::Int(8) },
        Value::Int(1033),
    ];
    Ok(Table {
        cols: c,
        rows: vec![row],
    })
}

fn dm_os_file_exists(ctx: &Ctx, at: &At) -> Res<Table> {
    let qualifier = at.qualifier;
    let args = at.args;
    let path = args.first().and_then(|a| a.v.to_text()).unwrap_or_default();
    let c = cols(
        qualifier,
        &[
            ("file_exists", SqlType::Bit),
            ("file_is_a_directory", SqlType::Bit),
            ("parent_directory_exists", SqlType::Bit),
        ],
    );
    let (f, d, p) = file_exists(ctx, &path);
    Ok(Table {
        cols: c,
        rows: vec![vec![Value::Bit(f), Value::Bit(d), Value::Bit(p)]],
    })
}
