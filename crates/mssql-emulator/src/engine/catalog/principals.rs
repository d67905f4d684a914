//! Principals and permissions: sys.server_principals, sys.server_role_members, sys.database_principals, sys.database_permissions, fn_my_permissions.

use super::*;

/// The catalog views and DMVs of this family.
pub(super) const VIEWS: &[Source] = &[
    Source {
        name: "server_principals",
        since: 0,
        build: server_principals,
    },
    Source {
        name: "server_role_members",
        since: 0,
        build: server_role_members,
    },
    Source {
        name: "database_principals",
        since: 0,
        build: database_principals,
    },
    Source {
        name: "database_permissions",
        since: 0,
        build: database_permissions,
    },
];

/// The table-valued functions of this family.
pub(super) const FUNCTIONS: &[Source] = &[Source {
    name: "fn_my_permissions",
    since: 0,
    build: fn_my_permissions,
}];

fn server_principals(ctx: &Ctx, at: &At) -> Res<Table> {
    let st = ctx.st;
    let login = &ctx.session.login;
    let qualifier = at.qualifier;
    let c = cols(
        qualifier,
        &[
            ("name", SYSNAME),
            ("principal_id", SqlType::Int),
            ("sid", SqlType::VarBinary(Some(85))),
            ("type", SqlType::Char(1)),
            ("type_desc", SqlType::NVarChar(Some(60))),
            ("is_disabled", SqlType::Bit),
            ("create_date", SqlType::DateTime),
            ("modify_date", SqlType::DateTime),
            ("default_database_name", SYSNAME),
            ("default_language_name", SYSNAME),
            ("is_fixed_role", SqlType::Bit),
        ],
    );
    let see_all = perms::has_server(st, login, "VIEW ANY DEFINITION")
        || perms::has_server(st, login, "ALTER ANY LOGIN");
    let rows = st
        .logins
        .iter()
        .filter(|l| see_all || l.kind == PrincipalKind::ServerRole || ci_eq(&l.name, login))
        .map(|l| {
            let (t, d) = match l.kind {
                PrincipalKind::SqlLogin => ("S", "SQL_LOGIN"),
                PrincipalKind::WindowsLogin => ("U", "WINDOWS_LOGIN"),
                PrincipalKind::ServerRole => ("R", "SERVER_ROLE"),
            };
            let role = l.kind == PrincipalKind::ServerRole;
            vec![
                s(&l.name),
                Value::Int(l.principal_id as i64),
                Value::Bytes(l.sid.clone()),
                s(t),
                s(d),
                Value::Bit(l.disabled),
                dt(l.create_date),
                dt(l.modify_date),
                if role {
                    Value::Null
                } else {
                    s(&l.default_database)
                },
                if role { Value::Null } else { s("us_english") },
                Value::Bit(role && !ci_eq(&l.name, "public")),
            ]
        })
        .collect();
    Ok(Table { cols: c, rows })
}

fn server_role_members(ctx: &Ctx, at: &At) -> Res<Table> {
    let st = ctx.st;
    let login = &ctx.session.login;
    let qualifier = at.qualifier;
    let c = cols(
        qualifier,
        &[
            ("role_principal_id", SqlType::Int),
            ("member_principal_id", SqlType::Int),
        ],
    );
    let see_all = perms::has_server(st, login, "VIEW ANY DEFINITION");
    let mut rows = Vec::new();
    for l in st
        .logins
        .iter()
        .filter(|l| see_all || ci_eq(&l.name, login))
    {
        for r in &l.roles {
            if let Some(role) = st.login(r) {
                rows.push(vec![
                    Value::Int(role.principal_id as i64),
                    Value::Int(l.principal_id as i64),
                ]);
            }
        }
    }
    Ok(Table { cols: c, rows })
}

fn database_principals(ctx: &Ctx, at: &At) -> Res<Table> {
    let st = ctx.st;
    let login = &ctx.session.login;
    let dbname = at.dbname.as_str();
    let qualifier = at.qualifier;
    let db = database(ctx, dbname)?;
    let c = cols(
        qualifier,
        &[
            ("name", SYSNAME),
            ("principal_id", SqlType::Int),
            ("type", SqlType::Char(1)),
            ("type_desc", SqlType::NVarChar(Some(60))),
            ("sid", SqlType::VarBinary(Some(85))),
        ],
    );
    let mut rows = vec![vec![
        s("dbo"),
        Value::Int(1),
        s("S"),
        s("SQL_USER"),
        st.login(&db.owner)
            .map(|l| Value::Bytes(l.sid.clone()))
            .unwrap_or(Value::Null),
    ]];
    if perms::can_see_metadata(st, login, db) {
        for u in &db.users {
            let sid = u
                .login
                .as_deref()
                .and_then(|l| st.login(l))
                .map(|l| Value::Bytes(l.sid.clone()))
                .unwrap_or(Value::Null);
            rows.push(vec![
                s(&u.name),
                Value::Int(u.principal_id as i64),
                s("S"),
                s("SQL_USER"),
                sid,
            ]);
        }
    }
    Ok(Table { cols: c, rows })
}

fn fn_my_permissions(ctx: &Ctx, at: &At) -> Res<Table> {
    let st = ctx.st;
    let login = &ctx.session.login;
    let dbname = at.dbname.as_str();
    let qualifier = at.qualifier;
    let args = at.args;
    if args.len() != 2 {
        return Err(Msg::new(216, 16, 1, "Parameters supplied for object 'fn_my_permissions' which is not a function. If the parameters are intended as a table hint, a WITH keyword is required.").into());
    }
    let securable = args[0].v.to_text();
    let class = args[1].v.to_text().unwrap_or_default().to_uppercase();
    let c = cols(
        qualifier,
        &[
            ("entity_name", SYSNAME),
            ("subentity_name", SYSNAME),
            ("permission_name", SqlType::NVarChar(Some(60))),
        ],
    );
    let rows: Vec<Vec<Value>> = match class.as_str() {
            "SERVER" => perms::server_list(st, login).into_iter().map(|p| vec![s("server"), s(""), s(p)]).collect(),
            "DATABASE" => {
                let dbn = securable.unwrap_or_else(|| dbname.to_string());
                let db = st.database(&dbn).ok_or_else(|| crate::engine::Fail::from(messages::database_missing(&dbn)))?;
                perms::database_list(st, login, db).into_iter().map(|p| vec![s("database"), s(""), s(p)]).collect()
            }
            "CERTIFICATE" => {
                let db = database(ctx, dbname)?;
                let n = securable.unwrap_or_default();
                match db.certificate(&n) {
                    Some(cert) if perms::can_see_metadata(st, login, db) => {
                        let mut v = vec![];
                        for (p, via) in [("CONTROL", "CONTROL"), ("ALTER", "CONTROL"), ("TAKE OWNERSHIP", "CONTROL"), ("REFERENCES", "VIEW DEFINITION"), ("VIEW DEFINITION", "VIEW DEFINITION")] {
                            if perms::has_database(st, login, db, via) {
                                v.push(vec![s(&cert.name), s(""), s(p)]);
                            }
                        }
                        v
                    }
                    _ => vec![],
                }
            }
            _ => return Err(Msg::new(15135, 16, 1, format!("Object is invalid. Extended properties are not permitted on '{class}', or the object does not exist.")).into()),
        };
    Ok(Table { cols: c, rows })
}

/// sys.database_permissions: each user's grants and denies, on the database (class 0) and
/// on its securables (certificates 25, symmetric keys 24, objects 1). A login sees its own
/// rows, and every row where it may see the database's metadata.
fn database_permissions(ctx: &Ctx, at: &At) -> Res<Table> {
    let st = ctx.st;
    let login = &ctx.session.login;
    let db = database(ctx, at.dbname.as_str())?;
    let c = cols(
        at.qualifier,
        &[
            ("class", SqlType::TinyInt),
            ("class_desc", SqlType::NVarChar(Some(60))),
            ("major_id", SqlType::Int),
            ("minor_id", SqlType::Int),
            ("grantee_principal_id", SqlType::Int),
            ("grantor_principal_id", SqlType::Int),
            ("type", SqlType::Char(4)),
            ("permission_name", SqlType::NVarChar(Some(128))),
            ("state", SqlType::Char(1)),
            ("state_desc", SqlType::NVarChar(Some(60))),
        ],
    );
    let all = perms::can_see_metadata(st, login, db);
    let mut rows = Vec::new();
    for u in &db.users {
        let own = u.login.as_deref().is_some_and(|l| ci_eq(l, login));
        if !all && !own {
            continue;
        }
        let mut push = |class: i64, desc: &str, major: i64, perm: &str, deny: bool| {
            rows.push(vec![
                Value::Int(class),
                s(desc),
                Value::Int(major),
                Value::Int(0),
                Value::Int(u.principal_id as i64),
                Value::Int(1),
                s(&permission_type(perm)),
                s(perm),
                s(if deny { "D" } else { "G" }),
                s(if deny { "DENY" } else { "GRANT" }),
            ])
        };
        for g in &u.grants {
            push(0, "DATABASE", 0, g, false);
        }
        for d in &u.denies {
            push(0, "DATABASE", 0, d, true);
        }
        for o in &u.object_permissions {
            let (class, desc, major) = match o.class.as_str() {
                "CERTIFICATE" => (
                    25,
                    "CERTIFICATE",
                    db.certificate(&o.name)
                        .map(|c| c.certificate_id as i64)
                        .unwrap_or(0),
                ),
                "SYMMETRIC KEY" => (
                    24,
                    "SYMMETRIC_KEYS",
                    db.symmetric_keys
                        .iter()
                        .find(|k| ci_eq(&k.name, &o.name))
                        .map(|k| k.symmetric_key_id as i64)
                        .unwrap_or(0),
                ),
                _ => (1, "OBJECT_OR_COLUMN", object_id(&o.name)),
            };
            push(class, desc, major, &o.permission, o.deny);
        }
    }
    Ok(Table { cols: c, rows })
}

/// The permission's type code as sys.database_permissions.type shows it.
fn permission_type(p: &str) -> String {
    match p {
        "CONTROL" => "CL",
        "VIEW DEFINITION" => "VW",
        "SELECT" => "SL",
        "INSERT" => "IN",
        "UPDATE" => "UP",
        "DELETE" => "DL",
        "ALTER" => "AL",
        "REFERENCES" => "RF",
        "TAKE OWNERSHIP" => "TO",
        "CONNECT" => "CO",
        "BACKUP DATABASE" => "BADB",
        "CREATE CERTIFICATE" => "CRCF",
        "VIEW DATABASE STATE" => "VWDS",
        other => {
            return other
                .chars()
                .filter(|c| c.is_ascii_alphabetic())
                .take(4)
                .collect()
        }
    }
    .to_string()
}

/// A stable object id for msdb's history tables (their OBJECT_ID on the emulator).
fn object_id(name: &str) -> i64 {
    match name {
        "dbo.backupset" => 1_000_001,
        "dbo.backupmediafamily" => 1_000_002,
        _ => 0,
    }
}
