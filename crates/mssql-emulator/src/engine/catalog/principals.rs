//! Principals and permissions: sys.server_principals, sys.server_role_members, sys.database_principals, fn_my_permissions.

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
