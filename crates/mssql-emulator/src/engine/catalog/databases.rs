//! sys.databases.

use super::*;

/// The catalog views and DMVs of this family.
pub(super) const VIEWS: &[Source] = &[Source {
    name: "databases",
    since: 0,
    build: databases,
}];

fn databases(ctx: &Ctx, at: &At) -> Res<Table> {
    let st = ctx.st;
    let info = &ctx.inst.info;
    let qualifier = at.qualifier;
    let c = cols(
        qualifier,
        &[
            ("name", SYSNAME),
            ("database_id", SqlType::Int),
            ("source_database_id", SqlType::Int),
            ("owner_sid", SqlType::VarBinary(Some(85))),
            ("create_date", SqlType::DateTime),
            ("compatibility_level", SqlType::TinyInt),
            ("collation_name", SYSNAME),
            ("user_access_desc", SqlType::NVarChar(Some(60))),
            ("state", SqlType::TinyInt),
            ("state_desc", SqlType::NVarChar(Some(60))),
            ("recovery_model_desc", SqlType::NVarChar(Some(60))),
            ("is_master_key_encrypted_by_server", SqlType::Bit),
            ("is_encrypted", SqlType::Bit),
        ],
    );
    let compat = info.compatibility_level();
    // VIEW ANY DATABASE is granted to public: every login sees every database.
    let rows = st
        .databases
        .iter()
        .map(|d| {
            let owner = st
                .login(&d.owner)
                .map(|l| Value::Bytes(l.sid.clone()))
                .unwrap_or(Value::Null);
            vec![
                s(&d.name),
                Value::Int(d.database_id as i64),
                Value::Null,
                owner,
                dt(info.to_local(d.create_date)),
                Value::Int(compat),
                s(crate::engine::server_info::DATABASE_COLLATION),
                s("MULTI_USER"),
                Value::Int(0),
                s("ONLINE"),
                s(d.recovery_model()),
                Value::Bit(d.master_key.as_ref().is_some_and(|k| k.by_smk.is_some())),
                Value::Bit(d.is_encrypted),
            ]
        })
        .collect();
    Ok(Table { cols: c, rows })
}
