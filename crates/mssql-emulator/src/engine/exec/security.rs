//! Databases, logins, users, permissions and role membership.

use super::Out;
use crate::engine::messages::{self, Msg};
use crate::engine::session::Session;
use crate::engine::state::{DatabaseUser, InstanceState, Login, PrincipalKind};
use crate::engine::{crypto, new_database, now, perms, Fail, Instance, Res};
use crate::sql::ast::{AlterLogin, PermissionKind, PermissionStatement, Statement};
use crate::value::ci_eq;

const DATABASE_ROLES: &[&str] = &[
    "db_owner",
    "db_securityadmin",
    "db_accessadmin",
    "db_backupoperator",
    "db_ddladmin",
    "db_datawriter",
    "db_datareader",
    "db_denydatawriter",
    "db_denydatareader",
];

pub fn run(
    inst: &Instance,
    session: &mut Session,
    stmt: &Statement,
    _out: &mut Out,
) -> Res<Option<u64>> {
    let mut st = inst.state();
    let login = session.login.clone();
    match stmt {
        Statement::CreateDatabase(name) => {
            if !perms::has_server(&st, &login, "CREATE ANY DATABASE") {
                return Err(
                    messages::permission_denied_in_database("CREATE DATABASE", "master").into(),
                );
            }
            if st.database(name).is_some() {
                return Err(messages::database_exists(name).into());
            }
            st.next_database_id += 1;
            let id = st.next_database_id;
            st.databases.push(new_database(name, id, &login));
            inst.persist(&st)?;
            Ok(None)
        }
        Statement::CreateAvailabilityGroup(ag) => {
            // Its docs: sysadmin, and CREATE AVAILABILITY GROUP, ALTER ANY AVAILABILITY GROUP
            // or CONTROL SERVER (a sysadmin has them all).
            if !perms::is_sysadmin(&st, &login) {
                return Err(messages::no_permission().into());
            }
            let option = |r: &crate::sql::ast::AgReplicaSpec, k: &str| {
                r.options
                    .iter()
                    .find(|(n, _)| n == k)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            let group = crate::engine::state::AvailabilityGroup {
                group_id: uuid::Uuid::new_v4(),
                name: ag.name.clone(),
                contained: ag.contained,
                databases: ag
                    .databases
                    .iter()
                    .map(|d| (d.clone(), uuid::Uuid::new_v4()))
                    .collect(),
                replicas: ag
                    .replicas
                    .iter()
                    .map(|r| crate::engine::state::AgReplica {
                        replica_id: uuid::Uuid::new_v4(),
                        server: r.server.clone(),
                        endpoint_url: option(r, "ENDPOINT_URL"),
                        availability_mode: option(r, "AVAILABILITY_MODE"),
                        failover_mode: option(r, "FAILOVER_MODE"),
                    })
                    .collect(),
            };
            // A contained group has its own master and msdb, named after it
            // (assumptions::CONTAINED_AG_SYSTEM_DATABASES).
            if group.contained {
                for suffix in ["master", "msdb"] {
                    let name = format!("{}_{suffix}", group.name);
                    if st.database(&name).is_none() {
                        st.next_database_id += 1;
                        let id = st.next_database_id;
                        st.databases
                            .push(crate::engine::new_database(&name, id, &login));
                    }
                }
            }
            st.availability_groups.push(group);
            inst.persist(&st)?;
            Ok(None)
        }
        Statement::DropDatabase(names) => {
            for name in names {
                let db = st
                    .database(name)
                    .filter(|d| perms::has_database(&st, &login, d, "CONTROL"));
                let Some(db) = db else {
                    return Err(Msg::new(3701, 11, 1, format!("Cannot drop the database '{name}', because it does not exist or you do not have permission.")).into());
                };
                if db.is_system() {
                    return Err(messages::cannot_drop_system_db(&db.name).into());
                }
                if ci_eq(&session.database, &db.name) {
                    return Err(messages::cannot_drop_in_use(&db.name).into());
                }
                let id = db.database_id;
                st.databases.retain(|d| d.database_id != id);
                session.open_master_keys.remove(&id);
            }
            super::certs::sync_tempdb_encryption(&mut st);
            inst.persist(&st)?;
            Ok(None)
        }
        Statement::CreateLogin {
            name,
            password,
            check_policy,
            default_database,
        } => {
            if !perms::has_server(&st, &login, "ALTER ANY LOGIN") {
                return Err(messages::no_permission().into());
            }
            if st.login(name).is_some() {
                return Err(messages::principal_exists(name).into());
            }
            let windows = name.contains('\\');
            if !windows && check_policy.unwrap_or(true) {
                inst.password_policy(password, Some(name))?;
            }
            if let Some(d) = default_database {
                if st.database(d).is_none() {
                    return Err(messages::database_missing(d).into());
                }
            }
            let (salt, hash) = if windows {
                (vec![], vec![])
            } else {
                crypto::password_verifier(password)
            };
            let id = st.next_principal_id;
            st.next_principal_id += 1;
            st.logins.push(Login {
                name: name.clone(),
                principal_id: id,
                sid: crypto::random_bytes::<16>().to_vec(),
                kind: if windows {
                    PrincipalKind::WindowsLogin
                } else {
                    PrincipalKind::SqlLogin
                },
                password_salt: salt,
                password_hash: hash,
                disabled: false,
                roles: vec![],
                grants: vec![],
                denies: vec![],
                create_date: now(),
                modify_date: now(),
                default_database: default_database.clone().unwrap_or_else(|| "master".into()),
            });
            inst.persist(&st)?;
            Ok(None)
        }
        Statement::AlterLogin { name, action } => {
            if !perms::has_server(&st, &login, "ALTER ANY LOGIN") {
                return Err(messages::no_permission().into());
            }
            if st
                .login(name)
                .is_none_or(|l| l.kind == PrincipalKind::ServerRole)
            {
                return Err(messages::cannot_find("find", "login", name).into());
            }
            if let AlterLogin::Password(p) = action {
                inst.password_policy(p, Some(name))?;
            }
            let l = st.login_mut(name).unwrap();
            match action {
                AlterLogin::Enable => l.disabled = false,
                AlterLogin::Disable => l.disabled = true,
                AlterLogin::Password(p) => {
                    let (salt, hash) = crypto::password_verifier(p);
                    l.password_salt = salt;
                    l.password_hash = hash;
                }
            }
            l.modify_date = now();
            inst.persist(&st)?;
            Ok(None)
        }
        Statement::DropLogin(name) => {
            if !perms::has_server(&st, &login, "ALTER ANY LOGIN")
                || st
                    .login(name)
                    .is_none_or(|l| l.kind == PrincipalKind::ServerRole)
            {
                return Err(Msg::new(15151, 16, 1, format!("Cannot drop the login '{name}', because it does not exist or you do not have permission.")).into());
            }
            if ci_eq(name, &login) {
                return Err(Msg::new(
                    15434,
                    16,
                    1,
                    format!("Could not drop login '{name}' as the user is currently logged in."),
                )
                .into());
            }
            st.logins.retain(|l| !ci_eq(&l.name, name));
            inst.persist(&st)?;
            Ok(None)
        }
        Statement::CreateUser {
            name,
            login: for_login,
        } => {
            let dbname = session.database.clone();
            let db = st
                .database(&dbname)
                .ok_or_else(|| Fail::from(messages::database_missing(&dbname)))?;
            if !perms::has_database(&st, &login, db, "ALTER ANY USER") {
                return Err(messages::permission_denied_in_database("CREATE USER", &dbname).into());
            }
            if db.user(name).is_some() || ci_eq(name, "dbo") {
                return Err(messages::user_exists(name).into());
            }
            if let Some(l) = for_login {
                if st
                    .login(l)
                    .is_none_or(|x| x.kind == PrincipalKind::ServerRole)
                {
                    return Err(messages::login_missing_for_user(l).into());
                }
            }
            let db = st.database_mut(&dbname).unwrap();
            let id = db.take_id();
            db.users.push(DatabaseUser {
                name: name.clone(),
                login: for_login.clone(),
                principal_id: id,
                roles: vec![],
                grants: vec![],
                denies: vec![],
                create_date: now(),
                object_permissions: vec![],
            });
            inst.persist(&st)?;
            Ok(None)
        }
        Statement::DropUser(name) => {
            let dbname = session.database.clone();
            let db = st
                .database(&dbname)
                .ok_or_else(|| Fail::from(messages::database_missing(&dbname)))?;
            if !perms::has_database(&st, &login, db, "ALTER ANY USER") || db.user(name).is_none() {
                return Err(Msg::new(15151, 16, 1, format!("Cannot drop the user '{name}', because it does not exist or you do not have permission.")).into());
            }
            st.database_mut(&dbname)
                .unwrap()
                .users
                .retain(|u| !ci_eq(&u.name, name));
            inst.persist(&st)?;
            Ok(None)
        }
        Statement::Permission(p) => {
            permission(&mut st, session, p)?;
            inst.persist(&st)?;
            Ok(None)
        }
        Statement::AlterServerRole { role, add, member } => {
            if !perms::FIXED_SERVER_ROLES.iter().any(|r| ci_eq(r, role)) {
                return Err(messages::cannot_find("find", "server role", role).into());
            }
            let allowed = perms::is_sysadmin(&st, &login)
                || perms::is_member(&st, &login, role)
                || (!ci_eq(role, "sysadmin") && perms::is_member(&st, &login, "securityadmin"));
            if !allowed {
                return Err(messages::no_permission().into());
            }
            let l = st
                .login_mut(member)
                .filter(|l| l.kind != PrincipalKind::ServerRole)
                .ok_or_else(|| Fail::from(messages::cannot_find("find", "login", member)))?;
            l.roles.retain(|r| !ci_eq(r, role));
            if *add {
                l.roles.push(role.to_ascii_lowercase());
            }
            inst.persist(&st)?;
            Ok(None)
        }
        Statement::AlterRole { role, add, member } => {
            let dbname = session.database.clone();
            let db = st
                .database(&dbname)
                .ok_or_else(|| Fail::from(messages::database_missing(&dbname)))?;
            if !DATABASE_ROLES.iter().any(|r| ci_eq(r, role)) {
                return Err(messages::cannot_find("find", "role", role).into());
            }
            if !perms::has_database(&st, &login, db, "CONTROL") {
                return Err(messages::no_permission().into());
            }
            if db.user(member).is_none() {
                return Err(messages::cannot_find("find", "user", member).into());
            }
            let db = st.database_mut(&dbname).unwrap();
            let u = db
                .users
                .iter_mut()
                .find(|u| ci_eq(&u.name, member))
                .unwrap();
            u.roles.retain(|r| !ci_eq(r, role));
            if *add {
                u.roles.push(role.to_ascii_lowercase());
            }
            inst.persist(&st)?;
            Ok(None)
        }
        _ => unreachable!("not a security statement: {stmt:?}"),
    }
}

fn apply(grants: &mut Vec<String>, denies: &mut Vec<String>, kind: &PermissionKind, perm: &str) {
    grants.retain(|g| !ci_eq(g, perm));
    denies.retain(|g| !ci_eq(g, perm));
    match kind {
        PermissionKind::Grant => grants.push(perm.to_string()),
        PermissionKind::Deny => denies.push(perm.to_string()),
        PermissionKind::Revoke => {}
    }
}

/// A database-level or securable GRANT/DENY/REVOKE: the grantor controls the database, and
/// every grantee is one of its users.
fn grantor_and_grantees(
    st: &InstanceState,
    login: &str,
    db: &crate::engine::state::Database,
    principals: &[String],
) -> Res<()> {
    if !perms::has_database(st, login, db, "CONTROL") {
        return Err(messages::grantor_lacks_permission().into());
    }
    for who in principals {
        if db.user(who).is_none() {
            return Err(messages::cannot_find("find", "user", who).into());
        }
    }
    Ok(())
}

fn permission(st: &mut InstanceState, session: &Session, p: &PermissionStatement) -> Res<()> {
    let login = session.login.clone();
    let server_scope = match &p.on {
        None => p.permissions.iter().all(|x| perms::is_server_permission(x)),
        Some((class, _)) if class == "SERVER" => true,
        Some((class, _)) if class == "DATABASE" => false,
        Some((class, name)) => return object_permission(st, session, p, class, name),
    };
    if server_scope {
        for x in &p.permissions {
            if !perms::is_server_permission(x) {
                return Err(messages::invalid_permission(x).into());
            }
        }
        if !perms::has_server(st, &login, "CONTROL SERVER") {
            return Err(messages::grantor_lacks_permission().into());
        }
        for who in &p.principals {
            let l = st
                .login(who)
                .ok_or_else(|| Fail::from(messages::cannot_find("find", "login", who)))?;
            if l.kind == PrincipalKind::ServerRole && !ci_eq(&l.name, "public") {
                return Err(Msg::new(
                    4617,
                    16,
                    1,
                    "Cannot grant, deny or revoke permissions to or from special roles.",
                )
                .into());
            }
        }
        for who in &p.principals {
            let l = st.login_mut(who).unwrap();
            for x in &p.permissions {
                apply(&mut l.grants, &mut l.denies, &p.kind, x);
            }
        }
        return Ok(());
    }
    let dbname = match &p.on {
        Some((_, n)) => n.clone(),
        None => session.database.clone(),
    };
    let db = st
        .database(&dbname)
        .ok_or_else(|| Fail::from(messages::database_missing(&dbname)))?;
    for x in &p.permissions {
        if !perms::is_database_permission(x) {
            return Err(messages::invalid_permission(x).into());
        }
    }
    grantor_and_grantees(st, &login, db, &p.principals)?;
    let db = st.database_mut(&dbname).unwrap();
    for who in &p.principals {
        let u = db.users.iter_mut().find(|u| ci_eq(&u.name, who)).unwrap();
        for x in &p.permissions {
            apply(&mut u.grants, &mut u.denies, &p.kind, x);
        }
    }
    Ok(())
}

impl Instance {
    /// KILL: ends another user session's connection.
    pub(crate) fn kill(&self, session: &Session, target: Option<i64>, allowed: bool) -> Res<()> {
        use crate::engine::assumptions::KILL_ERRORS as E;
        let m = |(n, class, state): (i32, u8, u8), text: String| {
            Fail::from(Msg::new(n, class, state, text))
        };
        if !allowed {
            return Err(m(
                E.no_permission,
                "User does not have permission to use the KILL statement.".into(),
            ));
        }
        let Some(spid) = target.and_then(|t| u16::try_from(t).ok()) else {
            return Err(m(
                E.not_active,
                format!(
                    "Process ID {} is not an active process ID.",
                    target.unwrap_or(0)
                ),
            ));
        };
        if spid == session.spid {
            return Err(m(
                E.own_process,
                "Cannot use KILL to kill your own process.".into(),
            ));
        }
        if spid <= 50 {
            return Err(m(
                E.system_process,
                "Only user processes can be killed.".into(),
            ));
        }
        if !self.live.kill(spid) {
            return Err(m(
                E.not_active,
                format!("Process ID {spid} is not an active process ID."),
            ));
        }
        Ok(())
    }
}

/// The permissions each securable class takes (the GRANT pages of each class).
fn object_permissions_of(class: &str) -> &'static [&'static str] {
    match class {
        "CERTIFICATE" | "SYMMETRIC KEY" => &[
            "CONTROL",
            "ALTER",
            "REFERENCES",
            "TAKE OWNERSHIP",
            "VIEW DEFINITION",
        ],
        _ => &[
            "SELECT",
            "INSERT",
            "UPDATE",
            "DELETE",
            "REFERENCES",
            "CONTROL",
            "ALTER",
            "TAKE OWNERSHIP",
            "VIEW DEFINITION",
        ],
    }
}

/// GRANT / DENY / REVOKE on one securable of the current database: a certificate, a
/// symmetric key, or a table or view (msdb's history tables are the ones the emulator has).
fn object_permission(
    st: &mut InstanceState,
    session: &Session,
    p: &PermissionStatement,
    class: &str,
    name: &str,
) -> Res<()> {
    let login = session.login.clone();
    let dbname = session.database.clone();
    let db = st
        .database(&dbname)
        .ok_or_else(|| Fail::from(messages::database_missing(&dbname)))?;
    let securable = match class {
        "CERTIFICATE" => db.certificate(name).map(|c| c.name.clone()),
        "SYMMETRIC KEY" => db
            .symmetric_keys
            .iter()
            .find(|k| ci_eq(&k.name, name))
            .map(|k| k.name.clone()),
        "OBJECT" => {
            let parts: Vec<&str> = name.split('.').collect();
            let (d, schema, object) = match parts.as_slice() {
                [o] => (dbname.as_str(), "dbo", *o),
                [s, o] => (dbname.as_str(), *s, *o),
                [d, s, o] => (*d, if s.is_empty() { "dbo" } else { *s }, *o),
                _ => return Err(messages::cannot_find("find", "object", name).into()),
            };
            // Permissions are granted in the object's own database (assumptions).
            let known = ci_eq(d, &dbname)
                && ci_eq(&dbname, "msdb")
                && ci_eq(schema, "dbo")
                && ["backupset", "backupmediafamily"]
                    .iter()
                    .any(|t| ci_eq(t, object));
            known.then(|| format!("dbo.{}", object.to_ascii_lowercase()))
        }
        other => {
            return Err(Msg::new(102, 15, 1, format!("Incorrect syntax near '{other}'.")).into())
        }
    };
    let Some(securable) = securable else {
        let what = match class {
            "OBJECT" => "object",
            "SYMMETRIC KEY" => "symmetric key",
            _ => "certificate",
        };
        return Err(messages::cannot_find("find", what, name).into());
    };
    let allowed = object_permissions_of(class);
    for x in &p.permissions {
        if !allowed.iter().any(|a| ci_eq(a, x)) {
            return Err(messages::invalid_permission(x).into());
        }
    }
    grantor_and_grantees(st, &login, db, &p.principals)?;
    let db = st.database_mut(&dbname).unwrap();
    for who in &p.principals {
        let u = db.users.iter_mut().find(|u| ci_eq(&u.name, who)).unwrap();
        for x in &p.permissions {
            let x = x.to_ascii_uppercase();
            u.object_permissions
                .retain(|o| !(o.class == class && ci_eq(&o.name, &securable) && o.permission == x));
            if p.kind != PermissionKind::Revoke {
                u.object_permissions
                    .push(crate::engine::state::ObjectPermission {
                        class: class.to_string(),
                        name: securable.clone(),
                        permission: x.clone(),
                        deny: p.kind == PermissionKind::Deny,
                    });
            }
        }
    }
    Ok(())
}
