//! msdb's backup history: dbo.backupset and dbo.backupmediafamily, from the backups this
//! instance took (and a scenario's), readable as assumptions::MSDB_HISTORY_READERS says.

use super::*;

/// `msdb.dbo.backupset` / `backupmediafamily` (also `msdb..x`, or `dbo.x` and `x` in msdb);
/// None for any other name.
pub(super) fn table(ctx: &Ctx, parts: &[String], qualifier: &str) -> Option<Res<Table>> {
    let n = parts.len();
    let view = parts[n - 1].as_str();
    let schema = if n >= 2 { parts[n - 2].as_str() } else { "dbo" };
    let db = if n >= 3 {
        parts[n - 3].as_str()
    } else {
        ctx.session.database.as_str()
    };
    if !ci_eq(db, "msdb") || !(schema.is_empty() || ci_eq(schema, "dbo")) {
        return None;
    }
    let build = if ci_eq(view, "backupset") {
        backupset
    } else if ci_eq(view, "backupmediafamily") {
        backupmediafamily
    } else {
        return None;
    };
    Some(may_read(ctx, view).map(|_| build(ctx, qualifier)))
}

fn may_read(ctx: &Ctx, view: &str) -> Res<()> {
    let st = ctx.st;
    let login = &ctx.session.login;
    let msdb = st.database("msdb").expect("msdb exists");
    let reader = perms::may_select_msdb_table(st, login, msdb, view, "SELECT");
    if reader {
        Ok(())
    } else {
        Err(Msg::new(
            229,
            14,
            5,
            format!("The SELECT permission was denied on the object '{view}', database 'msdb', schema 'dbo'."),
        )
        .into())
    }
}

fn backupset(ctx: &Ctx, qualifier: &str) -> Table {
    let c = cols(
        qualifier,
        &[
            ("backup_set_id", SqlType::Int),
            ("media_set_id", SqlType::Int),
            ("name", SqlType::NVarChar(Some(128))),
            ("user_name", SqlType::NVarChar(Some(128))),
            ("backup_start_date", SqlType::DateTime),
            ("backup_finish_date", SqlType::DateTime),
            ("type", SqlType::Char(1)),
            ("backup_size", SqlType::Decimal(20, 0)),
            ("database_name", SqlType::NVarChar(Some(128))),
            ("server_name", SqlType::NVarChar(Some(128))),
            ("is_copy_only", SqlType::Bit),
            ("key_algorithm", SqlType::NVarChar(Some(32))),
            ("encryptor_thumbprint", SqlType::VarBinary(Some(20))),
            ("encryptor_type", SqlType::NVarChar(Some(32))),
            ("position", SqlType::Int),
            ("time_zone", SqlType::SmallInt),
        ],
    );
    let server = ctx.inst.info.server_name();
    let info = &ctx.inst.info;
    let opt = |v: &Option<String>| v.as_deref().map(s).unwrap_or(Value::Null);
    let rows = ctx
        .st
        .backup_history
        .iter()
        .map(|r| {
            vec![
                Value::Int(r.backup_set_id),
                Value::Int(r.media_set_id),
                opt(&r.name),
                s(&r.user_name),
                // Stored in UTC, shown in the server's local time with its offset beside.
                dt(info.to_local(r.backup_start_date)),
                dt(info.to_local(r.backup_finish_date)),
                s(&r.kind),
                Value::Decimal(r.backup_size as i128, 0),
                s(&r.database_name),
                s(&server),
                Value::Bit(r.is_copy_only),
                opt(&r.key_algorithm),
                r.encryptor_thumbprint
                    .clone()
                    .map(Value::Bytes)
                    .unwrap_or(Value::Null),
                opt(&r.encryptor_type),
                Value::Int(r.position as i64),
                Value::Int(info.time_zone_quarters()),
            ]
        })
        .collect();
    Table { cols: c, rows }
}

fn backupmediafamily(ctx: &Ctx, qualifier: &str) -> Table {
    let c = cols(
        qualifier,
        &[
            ("media_set_id", SqlType::Int),
            ("family_sequence_number", SqlType::TinyInt),
            ("physical_device_name", SqlType::NVarChar(Some(260))),
            ("device_type", SqlType::TinyInt),
        ],
    );
    let rows = ctx
        .st
        .backup_history
        .iter()
        .map(|r| {
            vec![
                Value::Int(r.media_set_id),
                Value::Int(1),
                s(&r.physical_device_name),
                Value::Int(2),
            ]
        })
        .collect();
    Table { cols: c, rows }
}
