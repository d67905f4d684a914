//! msdb's backup history: dbo.backupset, dbo.backupmediaset and dbo.backupmediafamily, from
//! the backups this instance took (and a scenario's), readable as
//! assumptions::MSDB_HISTORY_READERS says. Every documented column, in the documented order
//! (the system-tables pages); what the emulator does not model is NULL
//! (assumptions::UNMODELLED_BACKUP_COLUMNS).

use super::*;

/// `msdb.dbo.backupset` / `backupmediaset` / `backupmediafamily` (also `msdb..x`, or `dbo.x` and `x` in msdb);
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
    if !(schema.is_empty() || ci_eq(schema, "dbo")) {
        return None;
    }
    // Which msdb: the instance's, or a contained availability group's (`<group>_msdb` by
    // name, or `msdb` inside the group's environment; assumptions::CONTAINED_AG_SESSIONS).
    let which = if ci_eq(db, "msdb") {
        ctx.session
            .contained_group
            .as_ref()
            .map(|g| format!("{g}_msdb"))
    } else {
        let g = ctx
            .st
            .availability_groups
            .iter()
            .find(|g| g.contained && ci_eq(db, &format!("{}_msdb", g.name)))?;
        Some(format!("{}_msdb", g.name))
    };
    let build = if ci_eq(view, "backupset") {
        backupset
    } else if ci_eq(view, "backupmediaset") {
        backupmediaset
    } else if ci_eq(view, "backupmediafamily") {
        backupmediafamily
    } else {
        return None;
    };
    Some(may_read(ctx, view).map(|_| build(ctx, qualifier, &which)))
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

use crate::engine::server_info as si;

/// "SQL Server" as the backup headers' vendor (0x1200).
const SOFTWARE_VENDOR_ID: i64 = 4608;

fn bit(b: bool) -> Value {
    Value::Bit(b)
}

/// The backup sets `which` msdb records (None: the instance's).
fn history<'a>(
    ctx: &Ctx<'a>,
    which: &Option<String>,
) -> Vec<&'a crate::engine::state::BackupSetRow> {
    ctx.st
        .backup_history
        .iter()
        .filter(|r| match (&r.msdb, which) {
            (None, None) => true,
            (Some(a), Some(b)) => ci_eq(a, b),
            _ => false,
        })
        .collect()
}

fn backupset(ctx: &Ctx, qualifier: &str, which: &Option<String>) -> Table {
    let info = &ctx.inst.info;
    let n = SqlType::NVarChar;
    let lsn = SqlType::Decimal(25, 0);
    let mut columns = vec![
        ("backup_set_id", SqlType::Int),
        ("backup_set_uuid", SqlType::UniqueIdentifier),
        ("media_set_id", SqlType::Int),
        ("first_family_number", SqlType::TinyInt),
        ("first_media_number", SqlType::SmallInt),
        ("last_family_number", SqlType::TinyInt),
        ("last_media_number", SqlType::SmallInt),
        ("catalog_family_number", SqlType::TinyInt),
        ("catalog_media_number", SqlType::SmallInt),
        ("position", SqlType::Int),
        ("expiration_date", SqlType::DateTime),
        ("software_vendor_id", SqlType::Int),
        ("name", n(Some(128))),
        ("description", n(Some(255))),
        ("user_name", n(Some(128))),
        ("software_major_version", SqlType::TinyInt),
        ("software_minor_version", SqlType::TinyInt),
        ("software_build_version", SqlType::SmallInt),
        ("time_zone", SqlType::SmallInt),
        ("mtf_minor_version", SqlType::TinyInt),
        ("first_lsn", lsn),
        ("last_lsn", lsn),
        ("checkpoint_lsn", lsn),
        ("database_backup_lsn", lsn),
        ("database_creation_date", SqlType::DateTime),
        ("backup_start_date", SqlType::DateTime),
        ("backup_finish_date", SqlType::DateTime),
        ("type", SqlType::Char(1)),
        ("sort_order", SqlType::SmallInt),
        ("code_page", SqlType::SmallInt),
        ("compatibility_level", SqlType::TinyInt),
        ("database_version", SqlType::Int),
        ("backup_size", SqlType::Decimal(20, 0)),
        ("database_name", n(Some(128))),
        ("server_name", n(Some(128))),
        ("machine_name", n(Some(128))),
        ("flags", SqlType::Int),
        ("unicode_locale", SqlType::Int),
        ("unicode_compare_style", SqlType::Int),
        ("collation_name", n(Some(128))),
        ("is_password_protected", SqlType::Bit),
        ("recovery_model", n(Some(60))),
        ("has_bulk_logged_data", SqlType::Bit),
        ("is_snapshot", SqlType::Bit),
        ("is_readonly", SqlType::Bit),
        ("is_single_user", SqlType::Bit),
        ("has_backup_checksums", SqlType::Bit),
        ("is_damaged", SqlType::Bit),
        ("begins_log_chain", SqlType::Bit),
        ("has_incomplete_metadata", SqlType::Bit),
        ("is_force_offline", SqlType::Bit),
        ("is_copy_only", SqlType::Bit),
        ("first_recovery_fork_guid", SqlType::UniqueIdentifier),
        ("last_recovery_fork_guid", SqlType::UniqueIdentifier),
        ("fork_point_lsn", lsn),
        ("database_guid", SqlType::UniqueIdentifier),
        ("family_guid", SqlType::UniqueIdentifier),
        ("differential_base_lsn", lsn),
        ("differential_base_guid", SqlType::UniqueIdentifier),
        ("compressed_backup_size", SqlType::Decimal(20, 0)),
        ("key_algorithm", n(Some(32))),
        ("encryptor_thumbprint", SqlType::VarBinary(Some(20))),
        ("encryptor_type", n(Some(32))),
    ];
    let since_2022 = info.major >= 16;
    if since_2022 {
        columns.push(("last_valid_restore_time", SqlType::DateTime));
        columns.push(("compression_algorithm", n(Some(32))));
    }
    let c = cols(qualifier, &columns);
    let server = info.server_name();
    let (major, minor, build) = info.software_version();
    let opt = |v: &Option<String>| v.as_deref().map(s).unwrap_or(Value::Null);
    let history = history(ctx, which);
    let rows = history
        .iter()
        .enumerate()
        .map(|(i, r)| {
            // The first log backup of a database (none before it) begins its log chain.
            let begins_log_chain = r.kind == "L"
                && !history[..i]
                    .iter()
                    .any(|e| e.kind == "L" && ci_eq(&e.database_name, &r.database_name));
            let mut row = vec![
                Value::Int(r.backup_set_id),
                Value::Guid(r.backup_set_uuid),
                Value::Int(r.media_set_id),
                Value::Int(1),
                Value::Int(1),
                Value::Int(1),
                Value::Int(1),
                Value::Int(1),
                Value::Int(1),
                Value::Int(r.position as i64),
                Value::Null,
                Value::Int(SOFTWARE_VENDOR_ID),
                opt(&r.name),
                Value::Null,
                s(&r.user_name),
                Value::Int(major),
                Value::Int(minor),
                Value::Int(build),
                Value::Int(info.time_zone_quarters()),
                Value::Int(0),
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                r.database_creation_date
                    .map(|d| dt(info.to_local(d)))
                    .unwrap_or(Value::Null),
                // Stored in UTC, shown in the server's local time with its offset beside.
                dt(info.to_local(r.backup_start_date)),
                dt(info.to_local(r.backup_finish_date)),
                s(&r.kind),
                Value::Int(si::COLLATION_SORT_ORDER),
                Value::Int(si::COLLATION_CODE_PAGE),
                r.compatibility_level.map(Value::Int).unwrap_or(Value::Null),
                Value::Null,
                Value::Decimal(r.backup_size as i128, 0),
                s(&r.database_name),
                s(&server),
                s(&info.machine_name),
                Value::Null,
                Value::Int(si::COLLATION_LOCALE),
                Value::Int(si::COLLATION_COMPARISON_STYLE),
                s(si::DATABASE_COLLATION),
                bit(false),
                opt(&r.recovery_model),
                bit(false),
                bit(false),
                bit(false),
                bit(false),
                bit(false),
                bit(false),
                bit(begins_log_chain),
                bit(false),
                bit(false),
                bit(r.is_copy_only),
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                // The emulator does not compress: what is on disk is the whole set.
                Value::Decimal(r.backup_size as i128, 0),
                s(r.key_algorithm
                    .as_deref()
                    .unwrap_or(assumptions::NOT_ENCRYPTED_KEY_ALGORITHM)),
                r.encryptor_thumbprint
                    .clone()
                    .map(Value::Bytes)
                    .unwrap_or(Value::Null),
                opt(&r.encryptor_type),
            ];
            if since_2022 {
                row.push(Value::Null);
                row.push(if r.compressed {
                    s("MS_XPRESS")
                } else {
                    Value::Null
                });
            }
            row
        })
        .collect();
    Table { cols: c, rows }
}

/// One row per media set: the first backup set written to it describes it.
fn media_sets<'a>(
    ctx: &Ctx<'a>,
    which: &Option<String>,
) -> Vec<&'a crate::engine::state::BackupSetRow> {
    let mut seen = std::collections::HashSet::new();
    history(ctx, which)
        .into_iter()
        .filter(|r| seen.insert(r.media_set_id))
        .collect()
}

fn backupmediaset(ctx: &Ctx, qualifier: &str, which: &Option<String>) -> Table {
    let c = cols(
        qualifier,
        &[
            ("media_set_id", SqlType::Int),
            ("media_uuid", SqlType::UniqueIdentifier),
            ("media_family_count", SqlType::TinyInt),
            ("name", SqlType::NVarChar(Some(128))),
            ("description", SqlType::NVarChar(Some(255))),
            ("software_name", SqlType::NVarChar(Some(128))),
            ("software_vendor_id", SqlType::Int),
            ("MTF_major_version", SqlType::TinyInt),
            ("mirror_count", SqlType::TinyInt),
            ("is_password_protected", SqlType::Bit),
            ("is_compressed", SqlType::Bit),
            ("is_encrypted", SqlType::Bit),
        ],
    );
    let rows = media_sets(ctx, which)
        .into_iter()
        .map(|r| {
            vec![
                Value::Int(r.media_set_id),
                Value::Guid(r.media_uuid),
                Value::Int(1),
                Value::Null,
                Value::Null,
                s("Microsoft SQL Server"),
                Value::Int(SOFTWARE_VENDOR_ID),
                Value::Int(1),
                Value::Int(1),
                bit(false),
                bit(r.compressed),
                bit(r.encryptor_thumbprint.is_some()),
            ]
        })
        .collect();
    Table { cols: c, rows }
}

fn backupmediafamily(ctx: &Ctx, qualifier: &str, which: &Option<String>) -> Table {
    let c = cols(
        qualifier,
        &[
            ("media_set_id", SqlType::Int),
            ("family_sequence_number", SqlType::TinyInt),
            ("media_family_id", SqlType::UniqueIdentifier),
            ("media_count", SqlType::Int),
            ("logical_device_name", SqlType::NVarChar(Some(128))),
            ("physical_device_name", SqlType::NVarChar(Some(260))),
            ("device_type", SqlType::TinyInt),
            ("physical_block_size", SqlType::Int),
            ("mirror", SqlType::TinyInt),
        ],
    );
    let rows = media_sets(ctx, which)
        .into_iter()
        .map(|r| {
            vec![
                Value::Int(r.media_set_id),
                Value::Int(1),
                // One family per media set: the family is the media set's own medium.
                Value::Guid(r.media_uuid),
                Value::Int(1),
                // BACKUP ... TO DISK = 'path' is a temporary device: no logical name.
                Value::Null,
                s(&r.physical_device_name),
                Value::Int(2),
                Value::Int(512),
                Value::Int(0),
            ]
        })
        .collect();
    Table { cols: c, rows }
}
