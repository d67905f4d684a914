//! Always On availability groups: sys.availability_groups, sys.availability_replicas,
//! sys.availability_databases_cluster, sys.dm_hadr_availability_replica_states
//! (`assumptions::AVAILABILITY_GROUPS_NEED_VIEW_ANY_DEFINITION`).

use super::*;

/// The catalog views and DMVs of this family.
pub(super) const VIEWS: &[Source] = &[
    Source {
        name: "availability_groups",
        since: 0,
        build: availability_groups,
    },
    Source {
        name: "availability_replicas",
        since: 0,
        build: availability_replicas,
    },
    Source {
        name: "availability_databases_cluster",
        since: 0,
        build: availability_databases_cluster,
    },
    Source {
        name: "dm_hadr_availability_replica_states",
        since: 0,
        build: dm_hadr_availability_replica_states,
    },
];

/// The groups this login may see: all of them with VIEW ANY DEFINITION, none without.
fn visible<'a>(ctx: &'a Ctx) -> Vec<&'a crate::engine::state::AvailabilityGroup> {
    if !assumptions::AVAILABILITY_GROUPS_NEED_VIEW_ANY_DEFINITION
        || perms::has_server(ctx.st, &ctx.session.login, "VIEW ANY DEFINITION")
    {
        ctx.st.availability_groups.iter().collect()
    } else {
        vec![]
    }
}

fn availability_groups(ctx: &Ctx, at: &At) -> Res<Table> {
    let mut spec = vec![
        ("group_id", SqlType::UniqueIdentifier),
        ("name", SYSNAME),
        ("resource_id", SqlType::NVarChar(Some(40))),
        ("resource_group_id", SqlType::NVarChar(Some(40))),
        ("failure_condition_level", SqlType::Int),
        ("health_check_timeout", SqlType::Int),
        ("automated_backup_preference", SqlType::TinyInt),
        (
            "automated_backup_preference_desc",
            SqlType::NVarChar(Some(60)),
        ),
    ];
    if ctx.inst.info.major >= 16 {
        spec.push(("is_contained", SqlType::Bit));
    }
    let c = cols(at.qualifier, &spec);
    let rows = visible(ctx)
        .into_iter()
        .map(|g| {
            let mut r = vec![
                Value::Guid(g.group_id),
                s(&g.name),
                Value::Null,
                Value::Null,
                Value::Int(3),
                Value::Int(30000),
                Value::Int(2),
                s("SECONDARY"),
            ];
            if ctx.inst.info.major >= 16 {
                r.push(Value::Bit(g.contained));
            }
            r
        })
        .collect();
    Ok(Table { cols: c, rows })
}

fn availability_replicas(ctx: &Ctx, at: &At) -> Res<Table> {
    let c = cols(
        at.qualifier,
        &[
            ("replica_id", SqlType::UniqueIdentifier),
            ("group_id", SqlType::UniqueIdentifier),
            ("replica_server_name", SqlType::NVarChar(Some(256))),
            ("endpoint_url", SqlType::NVarChar(Some(128))),
            ("availability_mode", SqlType::TinyInt),
            ("availability_mode_desc", SqlType::NVarChar(Some(60))),
            ("failover_mode", SqlType::TinyInt),
            ("failover_mode_desc", SqlType::NVarChar(Some(60))),
        ],
    );
    let mut rows = Vec::new();
    for g in visible(ctx) {
        for r in &g.replicas {
            let mode = match r.availability_mode.as_str() {
                "ASYNCHRONOUS_COMMIT" => 0,
                "SYNCHRONOUS_COMMIT" => 1,
                _ => 4,
            };
            rows.push(vec![
                Value::Guid(r.replica_id),
                Value::Guid(g.group_id),
                s(&r.server),
                s(&r.endpoint_url),
                Value::Int(mode),
                s(&r.availability_mode),
                Value::Int(i64::from(r.failover_mode == "MANUAL")),
                s(&r.failover_mode),
            ]);
        }
    }
    Ok(Table { cols: c, rows })
}

fn availability_databases_cluster(ctx: &Ctx, at: &At) -> Res<Table> {
    let c = cols(
        at.qualifier,
        &[
            ("group_id", SqlType::UniqueIdentifier),
            ("group_database_id", SqlType::UniqueIdentifier),
            ("database_name", SYSNAME),
        ],
    );
    let mut rows = Vec::new();
    for g in visible(ctx) {
        for (d, id) in &g.databases {
            rows.push(vec![Value::Guid(g.group_id), Value::Guid(*id), s(d)]);
        }
    }
    Ok(Table { cols: c, rows })
}

fn dm_hadr_availability_replica_states(ctx: &Ctx, at: &At) -> Res<Table> {
    need_server_state(ctx)?;
    let c = cols(
        at.qualifier,
        &[
            ("replica_id", SqlType::UniqueIdentifier),
            ("group_id", SqlType::UniqueIdentifier),
            ("is_local", SqlType::Bit),
            ("role", SqlType::TinyInt),
            ("role_desc", SqlType::NVarChar(Some(60))),
        ],
    );
    let here = ctx.inst.info.server_name();
    let mut rows = Vec::new();
    for g in &ctx.st.availability_groups {
        for r in &g.replicas {
            let local = ci_eq(&r.server, &here);
            // Created here: the local replica is the primary; the others' roles are as the
            // primary sees them.
            let (role, desc) = if local {
                (1, "PRIMARY")
            } else {
                (2, "SECONDARY")
            };
            rows.push(vec![
                Value::Guid(r.replica_id),
                Value::Guid(g.group_id),
                Value::Bit(local),
                Value::Int(role),
                s(desc),
            ]);
        }
    }
    Ok(Table { cols: c, rows })
}
