//! The catalog views, DMVs and table-valued functions Keysafe reads, built from the
//! instance state with SQL Server's columns, types and visibility rules.

use super::eval::{ColRef, Ctx, TV};
use super::messages::{self, Msg};
use super::state::{Database, KeyProtection, PrincipalKind};
use super::{assumptions, perms, Res};
use crate::value::{ci_eq, SqlType, Value};

pub struct Table {
    pub cols: Vec<ColRef>,
    pub rows: Vec<Vec<Value>>,
}

fn cols(qualifier: &str, spec: &[(&str, SqlType)]) -> Vec<ColRef> {
    spec.iter()
        .map(|(n, t)| ColRef {
            qualifier: qualifier.to_string(),
            name: n.to_string(),
            ty: *t,
        })
        .collect()
}

const SYSNAME: SqlType = SqlType::NVarChar(Some(128));

fn s(x: &str) -> Value {
    Value::Str(x.to_string())
}
fn dt(d: chrono::NaiveDateTime) -> Value {
    Value::DateTime(d)
}
fn opt_dt(d: Option<chrono::NaiveDateTime>) -> Value {
    d.map(Value::DateTime).unwrap_or(Value::Null)
}

/// Resolves `[db.]sys.name` to (database, view name). Views outside `sys` don't exist.
fn split_name<'a>(ctx: &Ctx, parts: &'a [String]) -> Option<(String, &'a str)> {
    let n = parts.len();
    let view = parts[n - 1].as_str();
    let schema = if n >= 2 { parts[n - 2].as_str() } else { "" };
    if !ci_eq(schema, "sys") && (n != 1 || !ci_eq(view, "fn_my_permissions")) {
        return None;
    }
    let db = if n >= 3 && !parts[n - 3].is_empty() {
        parts[n - 3].clone()
    } else {
        ctx.session.database.clone()
    };
    Some((db, view))
}

/// A database whose catalog is read through a three-part name: the login must be able to
/// enter it (a user, ownership or CONTROL SERVER), as SQL Server checks (916).
fn database<'a>(ctx: &'a Ctx, name: &str) -> Res<&'a Database> {
    let d = ctx
        .st
        .database(name)
        .ok_or_else(|| crate::engine::Fail::from(messages::database_missing(name)))?;
    if d.database_id > 4 && !perms::has_database(ctx.st, &ctx.session.login, d, "CONNECT") {
        return Err(messages::cannot_access_database(&ctx.session.login, &d.name).into());
    }
    Ok(d)
}

fn need_server_state(ctx: &Ctx) -> Res<()> {
    if perms::has_server(ctx.st, &ctx.session.login, "VIEW SERVER STATE") {
        Ok(())
    } else {
        Err(super::Fail(messages::server_state_denied(
            &ctx.session.database,
        )))
    }
}

/// A catalog view or DMV by name.
mod databases;
mod hadr;
mod keys;
mod msdb;
mod principals;
mod server;

/// Where a view or function is read: the database it names (or the current one), its alias,
/// and a function's arguments.
pub(super) struct At<'a> {
    pub dbname: String,
    pub qualifier: &'a str,
    pub args: &'a [TV],
}

/// One catalog view, DMV or table-valued function: its name, the major version that has it
/// (0: every version) and what builds its rows.
pub(super) struct Source {
    pub name: &'static str,
    pub since: u8,
    pub build: fn(&Ctx, &At) -> Res<Table>,
}

const VIEW_FAMILIES: &[&[Source]] = &[
    databases::VIEWS,
    hadr::VIEWS,
    keys::VIEWS,
    principals::VIEWS,
    server::VIEWS,
];
const FUNCTION_FAMILIES: &[&[Source]] =
    &[keys::FUNCTIONS, principals::FUNCTIONS, server::FUNCTIONS];

fn read(
    ctx: &Ctx,
    families: &[&[Source]],
    parts: &[String],
    args: &[TV],
    qualifier: &str,
) -> Res<Table> {
    let full = parts.join(".");
    if let Some(t) = msdb::table(ctx, parts, qualifier) {
        return t;
    }
    let Some((dbname, name)) = split_name(ctx, parts) else {
        return Err(messages::invalid_object(&full).into());
    };
    let found = families.iter().flat_map(|f| f.iter()).find(|s| {
        s.name.eq_ignore_ascii_case(name) && ctx.inst.info.major as u32 >= s.since as u32
    });
    match found {
        Some(s) => (s.build)(
            ctx,
            &At {
                dbname,
                qualifier,
                args,
            },
        ),
        None => Err(messages::invalid_object(&full).into()),
    }
}

pub fn view(ctx: &Ctx, parts: &[String], qualifier: &str) -> Res<Table> {
    read(ctx, VIEW_FAMILIES, parts, &[], qualifier)
}

/// A table-valued function.
pub fn function(ctx: &Ctx, parts: &[String], args: &[TV], qualifier: &str) -> Res<Table> {
    read(ctx, FUNCTION_FAMILIES, parts, args, qualifier)
}

/// (file exists, is a directory, parent exists) as the service account sees it.
pub fn file_exists(ctx: &Ctx, path: &str) -> (bool, bool, bool) {
    match ctx.inst.fs.resolve(path) {
        Ok(host) => {
            let parent = host.parent().is_some_and(|p| {
                p.is_dir() && p.starts_with(ctx.inst.fs.root()) && p != ctx.inst.fs.root()
            });
            (host.is_file(), host.is_dir(), parent)
        }
        Err(_) => (false, false, false),
    }
}
