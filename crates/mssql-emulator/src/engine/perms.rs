//! Permissions as SQL Server documents them: fixed server roles, CONTROL SERVER implying
//! every server permission and CONTROL of every database, DENY winning over GRANT, and
//! sysadmin bypassing every check.

use super::state::{Database, InstanceState, Login};
use crate::value::ci_eq;

pub const SERVER_PERMISSIONS: &[&str] = &[
    "ADMINISTER BULK OPERATIONS",
    "ALTER ANY CONNECTION",
    "ALTER ANY CREDENTIAL",
    "ALTER ANY DATABASE",
    "ALTER ANY LINKED SERVER",
    "ALTER ANY LOGIN",
    "ALTER ANY SERVER ROLE",
    "ALTER RESOURCES",
    "ALTER SERVER STATE",
    "ALTER SETTINGS",
    "AUTHENTICATE SERVER",
    "CONNECT ANY DATABASE",
    "CONNECT SQL",
    "CONTROL SERVER",
    "CREATE ANY DATABASE",
    "IMPERSONATE ANY LOGIN",
    "SELECT ALL USER SECURABLES",
    "SHUTDOWN",
    "VIEW ANY DATABASE",
    "VIEW ANY DEFINITION",
    "VIEW SERVER STATE",
];

pub const DATABASE_PERMISSIONS: &[&str] = &[
    "ALTER",
    "ALTER ANY CERTIFICATE",
    "ALTER ANY SYMMETRIC KEY",
    "ALTER ANY USER",
    "BACKUP DATABASE",
    "CONNECT",
    "CONTROL",
    "CREATE CERTIFICATE",
    "CREATE DATABASE",
    "CREATE SYMMETRIC KEY",
    "VIEW DATABASE STATE",
    "VIEW DEFINITION",
];

pub const FIXED_SERVER_ROLES: &[&str] = &[
    "sysadmin",
    "securityadmin",
    "serveradmin",
    "setupadmin",
    "processadmin",
    "diskadmin",
    "dbcreator",
    "bulkadmin",
];

fn role_grants(role: &str) -> &'static [&'static str] {
    match role.to_ascii_lowercase().as_str() {
        "securityadmin" => &["ALTER ANY LOGIN"],
        "serveradmin" => &[
            "ALTER ANY ENDPOINT",
            "ALTER RESOURCES",
            "ALTER SERVER STATE",
            "ALTER SETTINGS",
            "SHUTDOWN",
            "VIEW SERVER STATE",
        ],
        "setupadmin" => &["ALTER ANY LINKED SERVER"],
        "processadmin" => &["ALTER ANY CONNECTION", "ALTER SERVER STATE"],
        "diskadmin" => &["ALTER RESOURCES"],
        "dbcreator" => &["CREATE ANY DATABASE"],
        "bulkadmin" => &["ADMINISTER BULK OPERATIONS"],
        "public" => &["VIEW ANY DATABASE"],
        _ => &[],
    }
}

/// Permissions that imply `perm` at server level (besides CONTROL SERVER).
fn server_implied_by(perm: &str) -> &'static [&'static str] {
    match perm {
        "VIEW SERVER STATE" => &["ALTER SERVER STATE"],
        "CREATE ANY DATABASE" => &["ALTER ANY DATABASE"],
        "VIEW ANY DATABASE" => &["VIEW ANY DEFINITION"],
        _ => &[],
    }
}

pub fn is_member(state: &InstanceState, login: &str, role: &str) -> bool {
    if ci_eq(role, "public") {
        return state.login(login).is_some();
    }
    state
        .login(login)
        .is_some_and(|l| l.roles.iter().any(|r| ci_eq(r, role)))
}

pub fn is_sysadmin(state: &InstanceState, login: &str) -> bool {
    is_member(state, login, "sysadmin")
}

fn server_granted(state: &InstanceState, l: &Login, perm: &str) -> bool {
    l.grants.iter().any(|g| ci_eq(g, perm))
        || role_grants("public").iter().any(|g| ci_eq(g, perm))
        || l.roles.iter().any(|r| {
            role_grants(r).iter().any(|g| ci_eq(g, perm))
                || state
                    .login(r)
                    .is_some_and(|rl| rl.grants.iter().any(|g| ci_eq(g, perm)))
        })
}

fn server_denied(state: &InstanceState, l: &Login, perm: &str) -> bool {
    l.denies.iter().any(|g| ci_eq(g, perm))
        || l.roles.iter().any(|r| {
            state
                .login(r)
                .is_some_and(|rl| rl.denies.iter().any(|g| ci_eq(g, perm)))
        })
}

/// Effective server-level permission.
pub fn has_server(state: &InstanceState, login: &str, perm: &str) -> bool {
    let Some(l) = state.login(login) else {
        return false;
    };
    if l.roles.iter().any(|r| ci_eq(r, "sysadmin")) {
        return true;
    }
    let perm = perm.to_ascii_uppercase();
    if server_denied(state, l, &perm) || server_denied(state, l, "CONTROL SERVER") {
        return false;
    }
    server_granted(state, l, &perm)
        || server_granted(state, l, "CONTROL SERVER")
        || server_implied_by(&perm)
            .iter()
            .any(|p| server_granted(state, l, p))
        || (perm == "CONNECT SQL" && !l.disabled)
}

/// Effective permission on a database.
pub fn has_database(state: &InstanceState, login: &str, db: &Database, perm: &str) -> bool {
    if is_sysadmin(state, login) || ci_eq(&db.owner, login) {
        return true;
    }
    let perm = perm.to_ascii_uppercase();
    if has_server(state, login, "CONTROL SERVER") {
        return true;
    }
    let server_view = perm == "VIEW DEFINITION" && has_server(state, login, "VIEW ANY DEFINITION");
    // grant-database-permissions.md: CREATE DATABASE (master only) is implied by the
    // server's CREATE ANY DATABASE.
    let server_create = perm == "CREATE DATABASE"
        && db.database_id == 1
        && has_server(state, login, "CREATE ANY DATABASE");
    let Some(u) = db.user_for_login(login) else {
        return server_view
            || server_create
            || (perm == "CONNECT" && has_server(state, login, "CONNECT ANY DATABASE"));
    };
    let denied = |p: &str| u.denies.iter().any(|d| ci_eq(d, p));
    if denied(&perm) || denied("CONTROL") {
        return false;
    }
    if u.roles.iter().any(|r| ci_eq(r, "db_owner")) {
        return true;
    }
    let granted = |p: &str| u.grants.iter().any(|g| ci_eq(g, p));
    let implied = match perm.as_str() {
        "VIEW DEFINITION" => granted("ALTER") || server_view,
        "CREATE DATABASE" => server_create,
        // grant-database-permissions.md: CREATE CERTIFICATE is implied by ALTER ANY
        // CERTIFICATE, CREATE SYMMETRIC KEY by ALTER ANY SYMMETRIC KEY.
        "CREATE CERTIFICATE" => granted("ALTER ANY CERTIFICATE") || granted("ALTER"),
        "CREATE SYMMETRIC KEY" => granted("ALTER ANY SYMMETRIC KEY") || granted("ALTER"),
        "ALTER ANY CERTIFICATE" | "ALTER ANY SYMMETRIC KEY" | "ALTER ANY USER" => granted("ALTER"),
        "CONNECT" => true,
        _ => false,
    };
    granted(&perm) || granted("CONTROL") || implied
}

/// A permission on one securable of `db` (class CERTIFICATE, SYMMETRIC KEY or OBJECT, as
/// sys.database_permissions lists them): a GRANT on the securable itself (or CONTROL of it),
/// or what covers it at the database (CONTROL, db_owner, the class's ALTER ANY, SELECT on the
/// database); a DENY of it or of CONTROL on it wins over every grant but sysadmin's.
pub fn has_object(
    state: &InstanceState,
    login: &str,
    db: &Database,
    class: &str,
    name: &str,
    perm: &str,
) -> bool {
    if is_sysadmin(state, login) || ci_eq(&db.owner, login) {
        return true;
    }
    let perm = perm.to_ascii_uppercase();
    let on_object = |p: &str, deny: bool| {
        db.user_for_login(login).is_some_and(|u| {
            u.object_permissions.iter().any(|o| {
                o.deny == deny
                    && o.class == class
                    && ci_eq(&o.name, name)
                    && ci_eq(&o.permission, p)
            })
        })
    };
    if !has_server(state, login, "CONTROL SERVER")
        && (on_object(&perm, true) || on_object("CONTROL", true))
    {
        return false;
    }
    let implied_on_object = match perm.as_str() {
        "VIEW DEFINITION" => on_object("ALTER", false) || on_object("REFERENCES", false),
        _ => false,
    };
    if on_object(&perm, false) || on_object("CONTROL", false) || implied_on_object {
        return true;
    }
    let at_database = match (class, perm.as_str()) {
        (_, "CONTROL") => has_database(state, login, db, "CONTROL"),
        (_, "VIEW DEFINITION") => has_database(state, login, db, "VIEW DEFINITION"),
        ("CERTIFICATE", _) => has_database(state, login, db, "ALTER ANY CERTIFICATE"),
        ("SYMMETRIC KEY", _) => has_database(state, login, db, "ALTER ANY SYMMETRIC KEY"),
        (_, p) => has_database(state, login, db, p),
    };
    at_database
}

/// `perm` (SELECT) on one of msdb's history tables (assumptions::MSDB_HISTORY_READERS):
/// CONTROL SERVER, msdb's db_owner or db_datareader unless denied on the table, or a grant
/// on the table itself.
pub fn may_select_msdb_table(
    state: &InstanceState,
    login: &str,
    msdb: &Database,
    table: &str,
    perm: &str,
) -> bool {
    let object = format!("dbo.{}", table.to_ascii_lowercase());
    has_server(state, login, "CONTROL SERVER")
        || msdb.user_for_login(login).is_some_and(|u| {
            u.roles
                .iter()
                .any(|r| ci_eq(r, "db_owner") || ci_eq(r, "db_datareader"))
        }) && !denied_object(state, login, msdb, "OBJECT", &object, perm)
        || has_object(state, login, msdb, "OBJECT", &object, perm)
}

/// A DENY of `perm` (or of CONTROL) on one securable to the login's user.
pub fn denied_object(
    state: &InstanceState,
    login: &str,
    db: &Database,
    class: &str,
    name: &str,
    perm: &str,
) -> bool {
    !is_sysadmin(state, login)
        && db.user_for_login(login).is_some_and(|u| {
            u.object_permissions.iter().any(|o| {
                o.deny
                    && o.class == class
                    && ci_eq(&o.name, name)
                    && (ci_eq(&o.permission, perm) || o.permission == "CONTROL")
            })
        })
}

/// Whether catalog rows of a database (keys, certificates) are visible to the login.
pub fn can_see_metadata(state: &InstanceState, login: &str, db: &Database) -> bool {
    has_database(state, login, db, "VIEW DEFINITION")
}

/// Whether one certificate is visible: the database's metadata, or any permission on the
/// certificate itself (metadata visibility follows the securable).
pub fn can_see_certificate(state: &InstanceState, login: &str, db: &Database, name: &str) -> bool {
    can_see_metadata(state, login, db)
        || has_object(state, login, db, "CERTIFICATE", name, "VIEW DEFINITION")
}

/// Effective server permissions, for fn_my_permissions(NULL, 'SERVER').
pub fn server_list(state: &InstanceState, login: &str) -> Vec<&'static str> {
    SERVER_PERMISSIONS
        .iter()
        .copied()
        .filter(|p| has_server(state, login, p))
        .collect()
}

pub fn database_list(state: &InstanceState, login: &str, db: &Database) -> Vec<&'static str> {
    DATABASE_PERMISSIONS
        .iter()
        .copied()
        .filter(|p| has_database(state, login, db, p))
        .collect()
}

pub fn is_server_permission(p: &str) -> bool {
    SERVER_PERMISSIONS.iter().any(|s| ci_eq(s, p))
}

pub fn is_database_permission(p: &str) -> bool {
    DATABASE_PERMISSIONS.iter().any(|s| ci_eq(s, p))
}
