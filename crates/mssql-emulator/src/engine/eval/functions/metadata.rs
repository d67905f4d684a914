//! Metadata and system functions: SERVERPROPERTY, DB_NAME, DB_ID, CERT_ID, KEY_ID, NEWID, the ERROR_ functions.

use super::super::*;

/// The functions of this family, as SQL Server names them.
pub(super) const NAMES: &[&str] = &[
    "SERVERPROPERTY",
    "DB_NAME",
    "DB_ID",
    "NEWID",
    "CERT_ID",
    "KEY_ID",
    "ERROR_NUMBER",
    "ERROR_MESSAGE",
    "SCOPE_IDENTITY",
];

pub(super) fn call(ctx: &Ctx, scope: &Scope, name: &str, args: &[Expr]) -> Res<TV> {
    let a = |i: usize| -> Res<TV> { eval(ctx, scope, &args[i]) };
    let text = |i: usize| -> Res<Option<String>> { Ok(a(i)?.v.to_text()) };
    let st = ctx.st;
    let login = &ctx.session.login;
    Ok(match name {
        "SERVERPROPERTY" => {
            arg_count(name, args, 1, 1)?;
            let p = text(0)?.unwrap_or_default();
            TV::new(server_property(ctx, &p), SqlType::SqlVariant)
        }
        "DB_NAME" => {
            let n = if args.is_empty() {
                Some(ctx.session.database.clone())
            } else {
                a(0)?
                    .v
                    .as_i64()
                    .and_then(|id| st.database_by_id(id as i32))
                    .map(|d| d.name.clone())
            };
            TV::new(
                n.map(Value::Str).unwrap_or(Value::Null),
                SqlType::NVarChar(Some(128)),
            )
        }
        "DB_ID" => {
            let n = if args.is_empty() {
                Some(ctx.session.database.clone())
            } else {
                text(0)?
            };
            let id = n
                .and_then(|n| st.database(&n))
                .map(|d| d.database_id as i64);
            TV::new(id.map(Value::Int).unwrap_or(Value::Null), SqlType::SmallInt)
        }
        "NEWID" => TV::new(Value::Guid(uuid::Uuid::new_v4()), SqlType::UniqueIdentifier),
        "CERT_ID" | "KEY_ID" => {
            arg_count(name, args, 1, 1)?;
            let n = text(0)?.unwrap_or_default();
            let db = st.database(&ctx.session.database);
            let id = db.and_then(|d| {
                if name == "CERT_ID" {
                    if !perms::can_see_certificate(st, login, d, &n) {
                        return None;
                    }
                    d.certificate(&n).map(|c| c.certificate_id as i64)
                } else if !perms::can_see_metadata(st, login, d) {
                    None
                } else if ci_eq(&n, "##MS_DatabaseMasterKey##") && d.master_key.is_some() {
                    Some(101)
                } else if ci_eq(&n, "##MS_ServiceMasterKey##") && d.database_id == 1 {
                    Some(102)
                } else {
                    None
                }
            });
            TV::new(id.map(Value::Int).unwrap_or(Value::Null), SqlType::Int)
        }
        "ERROR_NUMBER" | "ERROR_MESSAGE" | "SCOPE_IDENTITY" => TV::null(SqlType::Int),
        _ => unreachable!("{name} is not one of this family's NAMES"),
    })
}
