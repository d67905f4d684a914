//! Key parity across a group of servers: the Key Parity dialog's check and its copies.

use crate::error::{IpcResult, KeysafeError};
use crate::state::AppState;
use crate::types::{ParityDone, ParityRequest, Secret};
use keysafe_core::connection::ConnectOptions;
use keysafe_core::profiles::{Groups, Profiles};
use keysafe_core::{parity, ErrorCode};

/// The members a request names: its open connections, then a saved group's profiles (their
/// remembered passwords), each once.
pub fn members(
    state: &AppState,
    connections: &[u32],
    group: Option<&str>,
) -> IpcResult<Vec<ConnectOptions>> {
    let mut out: Vec<ConnectOptions> = connections
        .iter()
        .map(|&id| state.connection(id).map(|c| c.options.clone()))
        .collect::<IpcResult<_>>()?;
    if let Some(name) = group.filter(|g| !g.is_empty()) {
        let groups = Groups::load(&state.home)?;
        let group = groups.get(name).ok_or_else(|| {
            KeysafeError::new(
                ErrorCode::NotFound,
                format!("There is no group named {name}."),
            )
        })?;
        let profiles = Profiles::load(&state.home)?;
        for m in &group.profiles {
            let p = profiles.get(m).ok_or_else(|| {
                KeysafeError::new(
                    ErrorCode::NotFound,
                    format!("Group {name} names profile {m}, which is no longer saved."),
                )
            })?;
            let o = p.connect_options(state.store.as_ref(), None)?;
            if !out.iter().any(|x| x.server == o.server) {
                out.push(o);
            }
        }
    }
    Ok(out)
}

/// Parity's members: at least two.
fn compared(state: &AppState, req: &ParityRequest) -> IpcResult<Vec<ConnectOptions>> {
    let out = members(state, &req.connections, req.group.as_deref())?;
    if out.len() < 2 {
        return Err(KeysafeError::new(
            ErrorCode::InvalidInput,
            "Parity compares at least two servers: tick another connection, or choose a saved group.",
        ));
    }
    Ok(out)
}

/// Keeps what was found, for Object Explorer Details.
fn remember(state: &AppState, found: &parity::Parity) {
    *state.parity.lock().expect("parity") = Some(found.clone());
}

pub async fn check(state: &AppState, req: &ParityRequest) -> IpcResult<ParityDone> {
    let members = compared(state, req)?;
    let found = parity::check(&members, req.retention_days).await;
    remember(state, &found);
    Ok(ParityDone {
        parity: found,
        copies: vec![],
    })
}

/// Copies what is missing, then checks again.
pub async fn copy_missing(
    state: &AppState,
    req: &ParityRequest,
    new_master_key: Option<Secret>,
) -> IpcResult<ParityDone> {
    let members = compared(state, req)?;
    let found = parity::check(&members, req.retention_days).await;
    let copies =
        parity::copy_missing(&members, &found, new_master_key.as_ref().map(|s| &s.0)).await;
    let after = parity::check(&members, req.retention_days).await;
    remember(state, &after);
    Ok(ParityDone {
        parity: after,
        copies,
    })
}

/// The saved groups (keysafe group add).
pub fn groups(state: &AppState) -> IpcResult<Vec<keysafe_core::profiles::Group>> {
    Ok(Groups::load(&state.home)?.list)
}
