//! Saved connection profiles: folders, a colour per environment, import/export without
//! secrets; passwords only in the OS keyring.

use crate::error::{IpcResult, KeysafeError};
use crate::state::AppState;
use crate::types::{AuthKind, ProfileView, Secret};
use keysafe_core::connection::Trust;
use keysafe_core::profiles::{Profile, Profiles};
use keysafe_core::ErrorCode;
use std::path::Path;

fn view(p: &Profile, demo: bool) -> ProfileView {
    ProfileView {
        name: p.name.clone(),
        server: p.server.clone(),
        authentication: AuthKind::of_login(p.login.as_deref()),
        login: p.login.clone().unwrap_or_default(),
        encrypt: p.encrypt,
        trust_server_certificate: p.trust == Trust::ServerCertificate,
        host_name_in_certificate: p.host_name_in_certificate.clone().unwrap_or_default(),
        certificate_file: match &p.trust {
            Trust::CaFile(f) => f.to_string_lossy().into_owned(),
            _ => String::new(),
        },
        connect_timeout_secs: p.connect_timeout_secs as u32,
        folder: p.folder.clone(),
        color: p.color.clone(),
        remember_password: p.remember_password,
        demo,
    }
}

pub fn list(state: &AppState) -> IpcResult<Vec<ProfileView>> {
    let mut out: Vec<ProfileView> = state.demo.iter().map(|d| view(&d.profile, true)).collect();
    out.extend(
        Profiles::load(&state.home)?
            .list
            .iter()
            .map(|p| view(p, false)),
    );
    Ok(out)
}

fn check_color(c: &Option<String>) -> IpcResult<()> {
    match c {
        Some(c)
            if !(c.len() == 7
                && c.starts_with('#')
                && c[1..].chars().all(|h| h.is_ascii_hexdigit())) =>
        {
            Err(KeysafeError::new(
                ErrorCode::InvalidInput,
                format!("'{c}' is not a colour: use #RRGGBB."),
            ))
        }
        _ => Ok(()),
    }
}

fn profile_of(v: &ProfileView) -> IpcResult<Profile> {
    if v.name.trim().is_empty() || v.name.chars().any(char::is_control) {
        return Err(KeysafeError::new(
            ErrorCode::InvalidInput,
            "Give the profile a name.",
        ));
    }
    v.server
        .parse::<keysafe_core::connection::ServerAddress>()?;
    check_color(&v.color)?;
    let trust = super::connect::trust_of(v.trust_server_certificate, &v.certificate_file);
    Ok(Profile {
        name: v.name.trim().to_string(),
        server: v.server.trim().to_string(),
        login: (v.authentication != AuthKind::Windows).then(|| v.login.trim().to_string()),
        encrypt: v.encrypt,
        trust,
        host_name_in_certificate: Some(v.host_name_in_certificate.trim().to_string())
            .filter(|h| !h.is_empty()),
        connect_timeout_secs: u64::from(v.connect_timeout_secs.clamp(1, 600)),
        folder: v.folder.trim().to_string(),
        color: v.color.clone(),
        remember_password: v.remember_password,
    })
}

pub fn save(
    state: &AppState,
    v: ProfileView,
    password: Option<Secret>,
) -> IpcResult<Vec<ProfileView>> {
    if state
        .demo
        .as_ref()
        .is_some_and(|d| d.profile.name.eq_ignore_ascii_case(&v.name))
    {
        return Err(KeysafeError::new(
            ErrorCode::InvalidInput,
            "The Demo profile cannot be changed; save a copy under another name.",
        ));
    }
    let mut profiles = Profiles::load(&state.home)?;
    let p = profile_of(&v)?;
    profiles.upsert(p, password.as_ref().map(|s| &s.0), state.store.as_ref())?;
    list(state)
}

pub fn delete(state: &AppState, name: &str) -> IpcResult<Vec<ProfileView>> {
    let mut profiles = Profiles::load(&state.home)?;
    profiles.remove(name, state.store.as_ref())?;
    list(state)
}

/// Profiles as JSON for a colleague: never a password (a profile holds none).
pub fn export(state: &AppState, path: &Path) -> IpcResult<u32> {
    let profiles = Profiles::load(&state.home)?;
    std::fs::write(path, profiles.export())?;
    Ok(profiles.list.len() as u32)
}

/// Adds the profiles of an exported file; same-named ones are replaced, passwords are not
/// remembered until typed again here.
pub fn import(state: &AppState, path: &Path) -> IpcResult<Vec<ProfileView>> {
    let text = std::fs::read_to_string(path)?;
    let incoming: Vec<Profile> = serde_json::from_str(&text).map_err(|e| {
        KeysafeError::new(
            ErrorCode::InvalidInput,
            format!("{} is not a Keysafe profile export: {e}", path.display()),
        )
    })?;
    let mut profiles = Profiles::load(&state.home)?;
    for mut p in incoming {
        let v = view(&p, false);
        profile_of(&v)?;
        p.remember_password = false;
        profiles.upsert(p, None, state.store.as_ref())?;
    }
    list(state)
}
