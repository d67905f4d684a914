//! What every command reads the same way: the Keysafe home, secrets from the environment or a
//! no-echo prompt, the connections (--server/--profile), DB=VAR pairs, DB.NAME, JSON output.

use crate::args::ConnArgs;
use keysafe_core::connection::{Authentication, ConnectOptions, ServerAddress};
use keysafe_core::profiles::{OsKeyring, Profiles};
use keysafe_core::{ErrorCode, KeysafeError, Password};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

pub(crate) fn keysafe_home() -> PathBuf {
    keysafe_core::profiles::home()
}

/// The run history in the Keysafe home.
pub(crate) fn history_path() -> PathBuf {
    keysafe_core::history::in_home(&keysafe_home())
}

pub(crate) fn usage(msg: impl Into<String>) -> KeysafeError {
    KeysafeError::new(ErrorCode::InvalidInput, msg)
}

pub(crate) fn secret_from_env(var: &str, what: &str) -> Result<Password, KeysafeError> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Ok(Password::new(v)),
        _ => Err(usage(format!(
            "The environment variable {var} ({what}) is not set or empty."
        ))),
    }
}

/// The keyring account of a secret kept with `keysafe secret set NAME`.
pub(crate) fn secret_account(name: &str) -> String {
    format!("secret:{name}")
}

/// A secret kept in this account's OS keyring: the way an unattended run gets one.
pub(crate) fn secret_from_keyring(name: &str) -> Result<Password, KeysafeError> {
    use keysafe_core::profiles::SecretStore;
    OsKeyring.get(&secret_account(name))?.ok_or_else(|| {
        KeysafeError::new(
            ErrorCode::NotFound,
            format!("This account's keyring holds no secret named {name}."),
        )
        .next(format!(
            "Keep it there first, as the account the run uses: keysafe secret set {name}"
        ))
    })
}

pub(crate) fn prompt(what: &str) -> Result<Password, KeysafeError> {
    if !std::io::stdin().is_terminal() {
        return Err(usage(format!(
            "No {what} given: use the --*-env option (no terminal to ask on)."
        )));
    }
    rpassword::prompt_password(format!("{what}: "))
        .map(Password::new)
        .map_err(|e| usage(format!("Cannot read the {what}: {e}")))
}

pub(crate) fn connect_options(c: &ConnArgs) -> Result<Vec<ConnectOptions>, KeysafeError> {
    let mut out = Vec::new();
    // A group's members, then the profiles named on their own.
    let mut names = Vec::new();
    if !c.groups.is_empty() {
        let groups = keysafe_core::profiles::Groups::load(&keysafe_home())?;
        for g in &c.groups {
            let group = groups.get(g).ok_or_else(|| {
                usage(format!(
                    "There is no group named '{g}' (keysafe group list)."
                ))
            })?;
            names.extend(group.profiles.iter().cloned());
        }
    }
    names.extend(c.profiles.iter().cloned());
    if !names.is_empty() {
        let profiles = Profiles::load(&keysafe_home())?;
        for name in &names {
            let p = profiles.get(name).ok_or_else(|| {
                usage(format!(
                    "There is no profile named '{name}' (keysafe profile list)."
                ))
            })?;
            let pw = c
                .login_password_env
                .as_deref()
                .map(|v| secret_from_env(v, "the login's password"))
                .transpose()?;
            out.push(c.over(p.connect_options(&OsKeyring, pw)?));
        }
    }
    if c.servers.is_empty() {
        return if out.is_empty() {
            Err(usage("Give --server or --profile."))
        } else {
            Ok(out)
        };
    }
    let auth = if c.integrated {
        Authentication::Windows
    } else {
        let login = c.login.clone().ok_or_else(|| {
            usage("Give --login NAME (with --login-password-env VAR) or --integrated.")
        })?;
        let password = match &c.login_password_env {
            Some(v) => secret_from_env(v, "the login's password")?,
            None => prompt(&format!("Password for {login}"))?,
        };
        Authentication::with_password(&login, password)
    };
    let direct: Vec<ConnectOptions> = c
        .servers
        .iter()
        .map(|s| {
            let server: ServerAddress = s.parse()?;
            Ok(ConnectOptions {
                server,
                authentication: auth.clone(),
                encrypt: c.encrypt(),
                trust: c.trust(),
                host_name_in_certificate: c.host_name_in_certificate.clone(),
                connect_timeout: Duration::from_secs(c.connect_timeout()),
                database: None,
            })
        })
        .collect::<Result<_, KeysafeError>>()?;
    out.extend(direct);
    Ok(out)
}

/// `DB.NAME`, read as clap parses the command line (a mistake is a usage error, exit 2).
pub(crate) fn db_name(s: &str) -> Result<(String, String), String> {
    s.split_once('.')
        .filter(|(d, n)| !d.is_empty() && !n.is_empty())
        .map(|(d, n)| (d.to_string(), n.to_string()))
        .ok_or_else(|| format!("a certificate is DB.NAME, not '{s}'"))
}

/// `DB=VAR`: a database and the environment variable holding its master key's password.
pub(crate) fn db_var(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .filter(|(d, v)| !d.is_empty() && !v.is_empty())
        .map(|(d, v)| (d.to_string(), v.to_string()))
        .ok_or_else(|| format!("expected DB=VAR, not '{s}'"))
}

/// `DB.NAME=VAR`: a certificate and the variable holding its key's password.
pub(crate) fn cert_var(s: &str) -> Result<((String, String), String), String> {
    let (cert, var) = s
        .split_once('=')
        .filter(|(_, v)| !v.is_empty())
        .ok_or_else(|| format!("expected DB.NAME=VAR, not '{s}'"))?;
    Ok((db_name(cert)?, var.to_string()))
}

pub(crate) fn print_json(v: &impl serde::Serialize) -> Result<(), KeysafeError> {
    std::println!(
        "{}",
        serde_json::to_string_pretty(v)
            .map_err(|e| KeysafeError::new(ErrorCode::Internal, e.to_string()))?
    );
    Ok(())
}

/// A backup's password: from a variable, from custodians' shares (variables, or typed one
/// after the other without echo), or a no-echo prompt.
pub(crate) fn backup_password(
    password_env: Option<&str>,
    share_env: &[String],
    shares: Option<u8>,
) -> Result<Password, KeysafeError> {
    if !share_env.is_empty() {
        let shares = share_env
            .iter()
            .map(|v| secret_from_env(v, "a custodian's share"))
            .collect::<Result<Vec<_>, _>>()?;
        return keysafe_core::custody::combine(&shares);
    }
    if let Some(n) = shares {
        let mut typed = Vec::new();
        for i in 1..=n {
            let s = prompt(&format!("share {i} of {n} (its custodian types it)"))?;
            eprintln!("  {}", keysafe_core::custody::describe(&s)?);
            typed.push(s);
        }
        return keysafe_core::custody::combine(&typed);
    }
    match password_env {
        Some(v) => secret_from_env(v, "the backup's password"),
        None => prompt("backup password"),
    }
}

/// One line typed at the terminal, trimmed: a typed confirmation.
pub(crate) fn read_answer(prompt: &str) -> Result<String, KeysafeError> {
    eprint!("{prompt}");
    let mut answer = String::new();
    std::io::stdin()
        .read_line(&mut answer)
        .map_err(|e| usage(format!("Cannot read the answer: {e}")))?;
    Ok(answer.trim().to_string())
}
