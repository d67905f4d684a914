//! Security functions: who the caller is (SUSER_*, USER_NAME) and what it may do (HAS_PERMS_BY_NAME, IS_SRVROLEMEMBER, IS_MEMBER).

use super::super::*;

/// The functions of this family, as SQL Server names them.
pub(super) const NAMES: &[&str] = &[
    "HAS_DBACCESS",
    "HAS_PERMS_BY_NAME",
    "IS_SRVROLEMEMBER",
    "IS_MEMBER",
    "SUSER_SNAME",
    "SUSER_NAME",
    "SYSTEM_USER",
    "ORIGINAL_LOGIN",
    "SUSER_SID",
    "USER_NAME",
    "CURRENT_USER",
    "SESSION_USER",
    "USER",
];

pub(super) fn call(ctx: &Ctx, scope: &Scope, name: &str, args: &[Expr]) -> Res<TV> {
    let a = |i: usize| -> Res<TV> { eval(ctx, scope, &args[i]) };
    let text = |i: usize| -> Res<Option<String>> { Ok(a(i)?.v.to_text()) };
    let st = ctx.st;
    let login = &ctx.session.login;
    Ok(match name {
        // 1 when the caller may enter the database (the system databases always; others
        // with CONNECT, ownership or CONTROL SERVER, as a three-part name checks), 0 when
        // not, NULL for a name that is no database.
        "HAS_DBACCESS" => {
            arg_count(name, args, 1, 1)?;
            let db = text(0)?.and_then(|n| st.database(&n));
            let v = db.map(|d| {
                (d.database_id <= 4 || perms::has_database(st, login, d, "CONNECT")) as i64
            });
            TV::new(v.map(Value::Int).unwrap_or(Value::Null), SqlType::Int)
        }
        "HAS_PERMS_BY_NAME" => {
            arg_count(name, args, 3, 5)?;
            let securable = text(0)?;
            let class = text(1)?.map(|c| c.to_uppercase());
            let perm = text(2)?.unwrap_or_default().to_uppercase();
            TV::new(
                has_perms_by_name(ctx, securable.as_deref(), class.as_deref(), &perm),
                SqlType::Int,
            )
        }
        "IS_SRVROLEMEMBER" => {
            arg_count(name, args, 1, 2)?;
            let role = text(0)?.unwrap_or_default();
            let who = if args.len() == 2 {
                text(1)?
            } else {
                Some(login.clone())
            };
            let valid_role =
                ci_eq(&role, "public") || perms::FIXED_SERVER_ROLES.iter().any(|r| ci_eq(r, &role));
            let v = match who {
                Some(w) if valid_role && st.login(&w).is_some() => {
                    if !ci_eq(&w, login) && !perms::has_server(st, login, "VIEW ANY DEFINITION") {
                        Value::Null
                    } else {
                        Value::Int(perms::is_member(st, &w, &role) as i64)
                    }
                }
                _ => Value::Null,
            };
            TV::new(v, SqlType::Int)
        }
        "IS_MEMBER" => {
            arg_count(name, args, 1, 1)?;
            let role = text(0)?.unwrap_or_default();
            let db = st.database(&ctx.session.database);
            let v = db.map(|d| {
                if ci_eq(&role, "db_owner") {
                    perms::has_database(st, login, d, "CONTROL") as i64
                } else {
                    d.user_for_login(login)
                        .is_some_and(|u| u.roles.iter().any(|r| ci_eq(r, &role)))
                        as i64
                }
            });
            TV::new(v.map(Value::Int).unwrap_or(Value::Null), SqlType::Int)
        }
        "SUSER_SNAME" | "SUSER_NAME" | "SYSTEM_USER" | "ORIGINAL_LOGIN" => {
            let who = if args.is_empty() {
                Some(login.clone())
            } else {
                let v = a(0)?;
                match v.v {
                    Value::Bytes(sid) => st
                        .logins
                        .iter()
                        .find(|l| l.sid == sid)
                        .map(|l| l.name.clone()),
                    Value::Int(id) => st
                        .logins
                        .iter()
                        .find(|l| l.principal_id as i64 == id)
                        .map(|l| l.name.clone()),
                    _ => None,
                }
            };
            TV::new(
                who.map(Value::Str).unwrap_or(Value::Null),
                SqlType::NVarChar(Some(128)),
            )
        }
        "SUSER_SID" => {
            let who = if args.is_empty() {
                Some(login.clone())
            } else {
                text(0)?
            };
            let sid = who.and_then(|w| st.login(&w).map(|l| l.sid.clone()));
            TV::new(
                sid.map(Value::Bytes).unwrap_or(Value::Null),
                SqlType::VarBinary(Some(85)),
            )
        }
        "USER_NAME" | "CURRENT_USER" | "SESSION_USER" | "USER" => {
            let db = st.database(&ctx.session.database);
            let n = db.map(|d| {
                if perms::is_sysadmin(st, login) || ci_eq(&d.owner, login) {
                    "dbo".to_string()
                } else {
                    d.user_for_login(login)
                        .map(|u| u.name.clone())
                        .unwrap_or_else(|| "guest".into())
                }
            });
            TV::new(
                n.map(Value::Str).unwrap_or(Value::Null),
                SqlType::NVarChar(Some(128)),
            )
        }
        _ => unreachable!("{name} is not one of this family's NAMES"),
    })
}

fn has_perms_by_name(ctx: &Ctx, securable: Option<&str>, class: Option<&str>, perm: &str) -> Value {
    let st = ctx.st;
    let login = &ctx.session.login;
    match class.unwrap_or("SERVER") {
        "SERVER" => {
            if securable.is_some() && class.is_none() {
                return Value::Null;
            }
            if !perms::is_server_permission(perm) {
                return Value::Null;
            }
            Value::Int(perms::has_server(st, login, perm) as i64)
        }
        "DATABASE" => {
            if !perms::is_database_permission(perm)
                && !perm.starts_with("CREATE ")
                && !perm.starts_with("ALTER ")
            {
                return Value::Null;
            }
            let Some(db) = securable.and_then(|n| st.database(n)) else {
                return Value::Null;
            };
            Value::Int(perms::has_database(st, login, db, perm) as i64)
        }
        "CERTIFICATE" => {
            let Some(db) = st.database(&ctx.session.database) else {
                return Value::Null;
            };
            let Some(cert) = securable.and_then(|n| db.certificate(n)) else {
                return Value::Null;
            };
            if !matches!(
                perm,
                "CONTROL" | "ALTER" | "TAKE OWNERSHIP" | "VIEW DEFINITION" | "REFERENCES"
            ) {
                return Value::Null;
            }
            Value::Int(perms::has_object(st, login, db, "CERTIFICATE", &cert.name, perm) as i64)
        }
        // msdb's history tables, as [msdb.]dbo.backupset or backupset in msdb.
        "OBJECT" => {
            let Some(name) = securable else {
                return Value::Null;
            };
            let parts: Vec<&str> = name
                .split('.')
                .map(|p| p.trim_matches(['[', ']']))
                .collect();
            let (db, table) = match parts.as_slice() {
                [t] => (ctx.session.database.as_str(), *t),
                [_, t] => (ctx.session.database.as_str(), *t),
                [d, _, t] => (*d, *t),
                _ => return Value::Null,
            };
            let known = ["backupset", "backupmediafamily"]
                .iter()
                .any(|k| ci_eq(k, table));
            let Some(msdb) = st.database(db).filter(|d| ci_eq(&d.name, "msdb") && known) else {
                return Value::Null;
            };
            Value::Int(perms::may_select_msdb_table(st, login, msdb, table, perm) as i64)
        }
        "LOGIN" => {
            let Some(_) = securable.and_then(|n| st.login(n)) else {
                return Value::Null;
            };
            Value::Int(perms::has_server(st, login, "ALTER ANY LOGIN") as i64)
        }
        _ => Value::Null,
    }
}
