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

pub fn server_property(ctx: &Ctx, p: &str) -> Value {
    let info = &ctx.inst.info;
    let s = |x: &str| Value::Str(x.to_string());
    let since = |major: u8, v: Value| if info.major >= major { v } else { Value::Null };
    match p.to_ascii_lowercase().as_str() {
        "productversion" => s(&info.product_version),
        "productlevel" => s(&info.product_level),
        "productmajorversion" => s(&info.major.to_string()),
        "productminorversion" => s("0"),
        "productbuild" => s(&info.build.to_string()),
        "productupdatelevel" => info.update_level.as_deref().map(s).unwrap_or(Value::Null),
        "edition" => s(&info.edition),
        "editionid" => Value::Int(info.edition_id),
        "engineedition" => Value::Int(info.engine_edition as i64),
        "machinename" | "computernamephysicalnetbios" => s(&info.machine_name),
        "servername" => s(&info.server_name()),
        "instancename" => info.instance_name.as_deref().map(s).unwrap_or(Value::Null),
        "isclustered" => Value::Int(0),
        "ishadrenabled" => Value::Int(0),
        "hadrmanagerstatus" => Value::Int(0),
        "issingleuser" => Value::Int(0),
        "isintegratedsecurityonly" => Value::Int(0),
        "collation" => s(crate::engine::server_info::DATABASE_COLLATION),
        "processid" => Value::Int(info.process_id as i64),
        "instancedefaultdatapath" => s(&with_sep(&info.default_data_path, info.path_separator())),
        "instancedefaultlogpath" => s(&with_sep(&info.default_log_path, info.path_separator())),
        "instancedefaultbackuppath" => since(
            15,
            s(&with_sep(&info.default_backup_path, info.path_separator())),
        ),
        "pathseparator" => since(14, s(info.path_separator())),
        _ => Value::Null,
    }
}

fn with_sep(p: &str, sep: &str) -> String {
    if p.ends_with(sep) {
        p.to_string()
    } else {
        format!("{p}{sep}")
    }
}
