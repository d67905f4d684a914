//! Facts of the machine Keysafe runs on: who runs it and where.

/// The account running Keysafe, as reports and the history name the operator.
pub fn current_operator() -> String {
    Some(whoami::username())
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// This machine's name, as reports name the workstation.
pub fn hostname() -> String {
    whoami::fallible::hostname()
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".into())
}
