//! The Connect dialog: options as SSMS 21 has them, recent servers, profiles' passwords.

use crate::error::{IpcResult, KeysafeError};
use crate::state::{AppState, Connection};
use crate::types::{AppInfo, AuthKind, ConnectArgs, ConnectionInfo};
use keysafe_core::connection::{Authentication, ConnectOptions, Trust};
use keysafe_core::{ErrorCode, Password};
use std::sync::Arc;
use std::time::Duration;

pub fn app_info(state: &AppState) -> AppInfo {
    AppInfo {
        version: env!("CARGO_PKG_VERSION").into(),
        demo: state.demo.is_some(),
        home: state.home.display().to_string(),
        recent_servers: recent_servers(state),
        windows_user: keysafe_core::connection::windows_identity(),
        service_master_key_consequences: keysafe_core::restore::SERVICE_MASTER_KEY_CONSEQUENCES
            .into(),
    }
}

fn recent_servers(state: &AppState) -> Vec<String> {
    std::fs::read(state.recent_path())
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

fn remember_server(state: &AppState, server: &str) {
    let mut list = recent_servers(state);
    list.retain(|s| !s.eq_ignore_ascii_case(server));
    list.insert(0, server.to_string());
    list.truncate(10);
    let _ = std::fs::create_dir_all(&state.home);
    let _ = std::fs::write(
        state.recent_path(),
        serde_json::to_vec(&list).expect("json"),
    );
}

/// A saved profile's name and environment colour.
type ProfileTag = (String, Option<String>);

/// The options the dialog describes; a profile fills in what the dialog leaves out (its
/// CA file, its remembered password).
fn options(state: &AppState, a: &ConnectArgs) -> IpcResult<(ConnectOptions, Option<ProfileTag>)> {
    if let Some(name) = &a.profile {
        let typed = a.password.clone().map(|s| s.0);
        if let Some(demo) = state
            .demo
            .as_ref()
            .filter(|d| d.profile.name.eq_ignore_ascii_case(name))
        {
            let o = demo.profile.connect_options(
                state.store.as_ref(),
                Some(typed.unwrap_or_else(|| demo.password.clone())),
            )?;
            return Ok((
                o,
                Some((demo.profile.name.clone(), demo.profile.color.clone())),
            ));
        }
        let profiles = keysafe_core::profiles::Profiles::load(&state.home)?;
        let p = profiles.get(name).ok_or_else(|| {
            KeysafeError::new(
                ErrorCode::NotFound,
                format!("There is no profile named {name}."),
            )
        })?;
        let o = p.connect_options(state.store.as_ref(), typed)?;
        return Ok((o, Some((p.name.clone(), p.color.clone()))));
    }
    let server = a.server.parse()?;
    let authentication = match a.authentication {
        AuthKind::Windows => Authentication::Windows,
        AuthKind::WindowsAs => {
            let user = a.login.trim();
            if !user.contains('\\') {
                return Err(KeysafeError::new(
                    ErrorCode::InvalidInput,
                    "Type the Windows account as DOMAIN\\user.",
                ));
            }
            Authentication::WindowsAs {
                user: user.to_string(),
                password: a
                    .password
                    .clone()
                    .map(|s| s.0)
                    .unwrap_or_else(|| Password::new("")),
            }
        }
        AuthKind::SqlServer => {
            if a.login.trim().is_empty() {
                return Err(KeysafeError::new(
                    ErrorCode::InvalidInput,
                    "Type a login for SQL Server Authentication.",
                ));
            }
            Authentication::SqlServer {
                login: a.login.trim().to_string(),
                password: a
                    .password
                    .clone()
                    .map(|s| s.0)
                    .unwrap_or_else(|| Password::new("")),
            }
        }
    };
    Ok((
        ConnectOptions {
            server,
            authentication,
            encrypt: a.encrypt,
            trust: trust_of(a.trust_server_certificate, &a.certificate_file),
            host_name_in_certificate: Some(a.host_name_in_certificate.trim().to_string())
                .filter(|h| !h.is_empty()),
            connect_timeout: Duration::from_secs(u64::from(a.connect_timeout_secs.clamp(1, 600))),
            database: None,
        },
        None,
    ))
}

pub async fn connect(state: &AppState, a: ConnectArgs) -> IpcResult<ConnectionInfo> {
    let (options, profile) = options(state, &a)?;
    let mut session = keysafe_core::connection::connect(&options).await?;
    let facts = keysafe_core::inventory::preflight(&mut session).await?;
    let database = session.current_database().await?;
    let typed = options.server.to_string();
    if profile.is_none() {
        remember_server(state, &a.server);
        // As SSMS does, "Remember password" keeps the server, login and password for next
        // time: here as a profile in the "Recent" folder, the password in the OS keyring.
        if a.remember_password && a.authentication != AuthKind::Windows {
            let mut profiles = keysafe_core::profiles::Profiles::load(&state.home)?;
            let existing = profiles.get(&a.server).cloned();
            let p = keysafe_core::profiles::Profile {
                name: a.server.trim().to_string(),
                server: a.server.trim().to_string(),
                login: Some(a.login.trim().to_string()),
                encrypt: options.encrypt,
                trust: options.trust.clone(),
                host_name_in_certificate: options.host_name_in_certificate.clone(),
                connect_timeout_secs: options.connect_timeout.as_secs(),
                folder: existing
                    .as_ref()
                    .map(|e| e.folder.clone())
                    .unwrap_or_else(|| "Recent".into()),
                color: existing.and_then(|e| e.color),
                remember_password: true,
            };
            if let Some(pw) = &a.password {
                profiles.upsert(p, Some(&pw.0), state.store.as_ref())?;
            }
        }
    }
    // "Remember password" on a saved profile keeps the password in the OS keyring only.
    if let (Some((name, _)), Some(pw), true) = (&profile, &a.password, a.remember_password) {
        if state
            .demo
            .as_ref()
            .is_none_or(|d| !d.profile.name.eq_ignore_ascii_case(name))
        {
            let mut profiles = keysafe_core::profiles::Profiles::load(&state.home)?;
            if let Some(mut p) = profiles.get(name).cloned() {
                p.remember_password = true;
                profiles.upsert(p, Some(&pw.0), state.store.as_ref())?;
            }
        }
    }
    let id = state.next_id();
    let info = ConnectionInfo {
        id,
        server: typed,
        server_name: facts.server_name.clone(),
        version: facts.product_version.clone(),
        edition: facts.edition.clone(),
        platform: facts.host_platform.clone(),
        login: facts.login.clone(),
        database,
        profile: profile.as_ref().map(|p| p.0.clone()),
        color: profile.and_then(|p| p.1),
    };
    tracing::info!(id, server = %info.server, login = %info.login, "connected");
    state.connections.lock().expect("connections").insert(
        id,
        Arc::new(Connection {
            info: info.clone(),
            options,
            session: tokio::sync::Mutex::new(Some(session)),
            running: std::sync::Mutex::new(None),
        }),
    );
    Ok(info)
}

pub fn disconnect(state: &AppState, id: u32) -> bool {
    let c = state.connections.lock().expect("connections").remove(&id);
    if let Some(c) = &c {
        if let Some(h) = c.running.lock().expect("running").take() {
            h.abort();
        }
    }
    c.is_some()
}

/// "Trust server certificate", a certificate file, or the platform's trust store.
pub(crate) fn trust_of(trust_server_certificate: bool, certificate_file: &str) -> Trust {
    match certificate_file.trim() {
        _ if trust_server_certificate => Trust::ServerCertificate,
        "" => Trust::PlatformStore,
        f => Trust::CaFile(f.into()),
    }
}
