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
    let Some(u) = db.user_for_login(login) else {
        return server_view
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
        "CREATE CERTIFICATE"
        | "ALTER ANY CERTIFICATE"
        | "ALTER ANY SYMMETRIC KEY"
        | "CREATE SYMMETRIC KEY"
        | "ALTER ANY USER" => granted("ALTER"),
        "CONNECT" => true,
        _ => false,
    };
    granted(&perm) || granted("CONTROL") || implied
}

/// Whether catalog rows of a database (keys, certificates) are visible to the login.
pub fn can_see_metadata(state: &InstanceState, login: &str, db: &Database) -> bool {
    has_database(state, login, db, "VIEW DEFINITION")
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
