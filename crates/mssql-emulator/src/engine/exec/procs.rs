//! EXEC: dynamic SQL, sp_executesql, and the extended procedures Keysafe uses to look at
//! the server's file system as the service account (xp_fileexist, xp_create_subdir).

use super::{arg_text, run_nested, Out};
use crate::engine::catalog::file_exists;
use crate::engine::eval::{eval, Scope};
use crate::engine::messages::{self, Msg};
use crate::engine::session::Session;
use crate::engine::{perms, Event, Fail, Instance, Res};
use crate::sql::ast::Exec;
use crate::tds::token::Column;
use crate::value::{SqlType, Value};

const MAX_NESTING: u32 = 32;

/// The first argument as text, or the procedure's usage message (Msg 22027).
fn first_arg(inst: &Instance, session: &Session, x: &Exec, usage: &str) -> Res<String> {
    match x.args.first() {
        Some(a) => Ok(arg_text(inst, session, &a.value)?.unwrap_or_default()),
        None => Err(Msg::new(22027, 15, 1, usage).into()),
    }
}

pub fn exec(
    inst: &Instance,
    session: &mut Session,
    x: &Exec,
    out: &mut Out,
    depth: u32,
) -> Res<Option<u64>> {
    if depth >= MAX_NESTING {
        return Err(Msg::new(217, 16, 1, "Maximum stored procedure, function, trigger, or view nesting level exceeded (limit 32).").into());
    }
    if x.procedure.is_empty() {
        let sql = arg_text(inst, session, &x.args[0].value)?.unwrap_or_default();
        let saved = session.variables.clone();
        session.variables.clear();
        let inner = run_nested(inst, session, &sql, depth + 1);
        session.variables = saved;
        out.events.extend(inner.events);
        return Ok(None);
    }
    let name = x.procedure.last().unwrap().to_ascii_lowercase();
    if name == "sp_delete_database_backuphistory" {
        return delete_backup_history(inst, session, x);
    }
    let qualifier_ok = x.procedure.len() == 1
        || x.procedure.iter().rev().skip(1).all(|p| {
            let p = p.to_ascii_lowercase();
            p.is_empty() || p == "master" || p == "sys" || p == "dbo"
        });
    if !qualifier_ok {
        return Err(messages::unknown_procedure(&x.procedure.join(".")).into());
    }
    match name.as_str() {
        "sp_executesql" => {
            let sql = match x.args.first() {
                Some(a) => arg_text(inst, session, &a.value)?.unwrap_or_default(),
                None => return Err(Msg::new(201, 16, 4, "Procedure or function 'sp_executesql' expects parameter '@statement', which was not supplied.").into()),
            };
            let mut vars = std::collections::HashMap::new();
            for a in x.args.iter().skip(2) {
                let st = inst.state();
                let tv = eval(&inst.ctx(&st, session), &Scope::empty(), &a.value)?;
                if let Some(n) = &a.name {
                    vars.insert(n.to_lowercase(), (tv.t, tv.v));
                }
            }
            let saved = std::mem::replace(&mut session.variables, vars);
            let inner = run_nested(inst, session, &sql, depth + 1);
            session.variables = saved;
            out.events.extend(inner.events);
            Ok(None)
        }
        "xp_fileexist" => {
            let path = first_arg(
                inst,
                session,
                x,
                "Usage:  EXECUTE xp_fileexist <filename> [, <file_exists INT> OUTPUT]",
            )?;
            let (f, d, p) = {
                let st = inst.state();
                // Assumption: callers without CONTROL SERVER see nothing (dbatools #449/#3629).
                if !perms::has_server(&st, &session.login, "CONTROL SERVER") {
                    (false, false, false)
                } else if !inst.may_list_parent(&st, &session.login, &path) {
                    // A Windows login looks as its own account (assumptions).
                    (false, false, false)
                } else {
                    file_exists(&inst.ctx(&st, session), &path)
                }
            };
            if let Some(o) = x.args.get(1).filter(|a| a.output) {
                if let crate::sql::ast::Expr::Variable(v) = &o.value {
                    let key = v.to_lowercase();
                    let ty = session
                        .variables
                        .get(&key)
                        .map(|(t, _)| *t)
                        .ok_or_else(|| Fail::from(messages::must_declare(v)))?;
                    session.variables.insert(key, (ty, Value::Int(f as i64)));
                }
                return Ok(None);
            }
            let columns = [
                "File Exists",
                "File is a Directory",
                "Parent Directory Exists",
            ]
            .iter()
            .map(|n| Column {
                name: n.to_string(),
                ty: SqlType::Int,
                nullable: false,
            })
            .collect();
            out.events.push(Event::Rows {
                columns,
                rows: vec![vec![
                    Value::Int(f as i64),
                    Value::Int(d as i64),
                    Value::Int(p as i64),
                ]],
            });
            Ok(Some(1))
        }
        "xp_create_subdir" => {
            let path = first_arg(
                inst,
                session,
                x,
                "Usage:  EXECUTE xp_create_subdir <directory>",
            )?;
            if !perms::has_server(&inst.state(), &session.login, "CONTROL SERVER") {
                return Err(Msg::new(229, 14, 5, "The EXECUTE permission was denied on the object 'xp_create_subdir', database 'mssqlsystemresource', schema 'sys'.").into());
            }
            inst.create_server_dir(&path).map_err(|os| {
                let text = if os == 5 {
                    "Access is denied."
                } else {
                    "The system cannot find the path specified."
                };
                Fail::from(Msg::new(
                    22048,
                    16,
                    1,
                    format!("xp_create_subdir() returned error {os}, '{text}'"),
                ))
            })?;
            Ok(None)
        }
        _ => Err(messages::unknown_procedure(&x.procedure.join(".")).into()),
    }
}

/// msdb.dbo.sp_delete_database_backuphistory @database_name: deletes a database's rows from
/// the backup history tables (sp-delete-database-backuphistory-transact-sql.md: "Requires
/// membership in the sysadmin fixed server role"). It lives in msdb: from another database
/// it must be named with msdb.
fn delete_backup_history(inst: &Instance, session: &mut Session, x: &Exec) -> Res<Option<u64>> {
    let in_msdb = match x.procedure.len() {
        1 => crate::value::ci_eq(&session.database, "msdb"),
        _ => crate::value::ci_eq(&x.procedure[0], "msdb"),
    };
    if !in_msdb {
        return Err(messages::unknown_procedure(&x.procedure.join(".")).into());
    }
    let database = match x.args.first() {
        Some(a) => arg_text(inst, session, &a.value)?.unwrap_or_default(),
        None => return Err(Msg::new(201, 16, 4, "Procedure or function 'sp_delete_database_backuphistory' expects parameter '@database_name', which was not supplied.").into()),
    };
    let mut st = inst.state();
    if !perms::is_sysadmin(&st, &session.login) {
        return Err(Msg::new(229, 14, 5, "The EXECUTE permission was denied on the object 'sp_delete_database_backuphistory', database 'msdb', schema 'dbo'.").into());
    }
    st.backup_history
        .retain(|r| !crate::value::ci_eq(&r.database_name, &database));
    inst.persist(&st)?;
    Ok(None)
}
