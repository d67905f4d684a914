//! Saved connection profiles in `KEYSAFE_HOME/profiles.json`. Passwords are never in that
//! file: they live in the OS keyring (Secret Service, Windows Credential Manager, Keychain)
//! under the service "keysafe" and the account "<profile>/<login>".

use crate::connection::{Authentication, ConnectOptions, Encrypt, ServerAddress, Trust};
use crate::error::{ErrorCode, KeysafeError, Result};
use crate::secret::Password;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

const SERVICE: &str = "keysafe";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Profile {
    pub name: String,
    pub server: String,
    /// None = Windows authentication.
    pub login: Option<String>,
    #[serde(default)]
    pub encrypt: Encrypt,
    #[serde(default)]
    pub trust: Trust,
    pub host_name_in_certificate: Option<String>,
    #[serde(default = "default_timeout")]
    pub connect_timeout_secs: u64,
    /// A folder in the connection tree, e.g. "Production/EU".
    #[serde(default)]
    pub folder: String,
    /// The environment's colour, #RRGGBB, shown on tabs and the status bar.
    pub color: Option<String>,
    /// Whether a password is remembered in the keyring.
    #[serde(default)]
    pub remember_password: bool,
}

fn default_timeout() -> u64 {
    30
}

/// Where secrets are kept. The OS keyring in the app; tests may use another store.
pub trait SecretStore {
    fn set(&self, account: &str, secret: &Password) -> Result<()>;
    fn get(&self, account: &str) -> Result<Option<Password>>;
    fn delete(&self, account: &str) -> Result<()>;
}

pub struct OsKeyring;

fn keyring_error(e: keyring::Error) -> KeysafeError {
    KeysafeError::new(ErrorCode::Keyring, format!("The OS keyring is not available: {e}")).next("Unlock the keyring (or start a Secret Service such as gnome-keyring), or do not remember the password.")
}

impl SecretStore for OsKeyring {
    fn set(&self, account: &str, secret: &Password) -> Result<()> {
        keyring::Entry::new(SERVICE, account)
            .and_then(|e| e.set_password(secret.expose()))
            .map_err(keyring_error)
    }
    fn get(&self, account: &str) -> Result<Option<Password>> {
        match keyring::Entry::new(SERVICE, account).and_then(|e| e.get_password()) {
            Ok(p) => Ok(Some(Password::new(p))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(keyring_error(e)),
        }
    }
    fn delete(&self, account: &str) -> Result<()> {
        match keyring::Entry::new(SERVICE, account).and_then(|e| e.delete_credential()) {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(keyring_error(e)),
        }
    }
}

/// Keysafe's own folder (profiles, history, kept reports): `KEYSAFE_HOME`, else the
/// platform's data folder + `keysafe`.
/// Keysafe's data folder: KEYSAFE_HOME, else the platform's local data folder for it
/// (~/.local/share/keysafe, %LOCALAPPDATA%\Keysafe\data, ~/Library/Application
/// Support/Keysafe): profiles, history and logs stay on this machine, never roam.
pub fn home() -> PathBuf {
    if let Some(h) = std::env::var_os("KEYSAFE_HOME") {
        return PathBuf::from(h);
    }
    directories::ProjectDirs::from("", "", "Keysafe")
        .map(|d| d.data_local_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from("keysafe"))
}

pub struct Profiles {
    path: PathBuf,
    pub list: Vec<Profile>,
}

impl Profile {
    /// The keyring entry of this profile's password: its name, its login and the server it
    /// was saved for, each with its length before it, so that no two profiles share an entry
    /// ("a/b" + "c" and "a" + "b/c" did under the old "name/login"), and a profile pointed at
    /// another server does not send it the password saved for the first.
    pub fn account(&self) -> String {
        let login = self.login.as_deref().unwrap_or("windows");
        let server = self.server.trim().to_lowercase();
        format!(
            "keysafe2:{}:{}:{}:{}:{}:{}",
            self.name.len(),
            self.name,
            login.len(),
            login,
            server.len(),
            server
        )
    }

    pub fn connect_options(
        &self,
        store: &dyn SecretStore,
        password: Option<Password>,
    ) -> Result<ConnectOptions> {
        let server: ServerAddress = self.server.parse()?;
        let authentication = match &self.login {
            None => Authentication::Windows,
            Some(login) => {
                let password = match password {
                    Some(p) => p,
                    None => store.get(&self.account())?.ok_or_else(|| {
                        KeysafeError::new(ErrorCode::LoginFailed, format!("No password is remembered for profile {}.", self.name)).next("Give the password, and tick 'Remember password' to keep it in the OS keyring.")
                    })?,
                };
                Authentication::with_password(login, password)
            }
        };
        Ok(ConnectOptions {
            server,
            authentication,
            encrypt: self.encrypt,
            trust: self.trust.clone(),
            host_name_in_certificate: self.host_name_in_certificate.clone(),
            connect_timeout: Duration::from_secs(self.connect_timeout_secs.max(1)),
            database: None,
        })
    }
}

impl Profiles {
    pub fn load(home: &Path) -> Result<Profiles> {
        let path = home.join("profiles.json");
        let list = match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| {
                KeysafeError::new(
                    ErrorCode::InvalidInput,
                    format!("{} is not a profile list: {e}", path.display()),
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => vec![],
            Err(e) => return Err(e.into()),
        };
        Ok(Profiles { path, list })
    }

    pub fn save(&self) -> Result<()> {
        crate::private_fs::replace(
            &self.path,
            &serde_json::to_vec_pretty(&self.list).expect("json"),
        )?;
        Ok(())
    }

    pub fn get(&self, name: &str) -> Option<&Profile> {
        self.list.iter().find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// Adds or replaces a profile; its password, when remembered, goes to the keyring only.
    pub fn upsert(
        &mut self,
        p: Profile,
        password: Option<&Password>,
        store: &dyn SecretStore,
    ) -> Result<()> {
        match (p.remember_password, password) {
            (true, Some(pw)) => store.set(&p.account(), pw)?,
            (false, _) => store.delete(&p.account())?,
            (true, None) => {}
        }
        self.list.retain(|x| !x.name.eq_ignore_ascii_case(&p.name));
        self.list.push(p);
        self.save()
    }

    pub fn remove(&mut self, name: &str, store: &dyn SecretStore) -> Result<bool> {
        let Some(p) = self.get(name).cloned() else {
            return Ok(false);
        };
        store.delete(&p.account())?;
        self.list.retain(|x| !x.name.eq_ignore_ascii_case(name));
        self.save()?;
        Ok(true)
    }

    /// Profiles as JSON to share: never a password (there is none in a profile).
    pub fn export(&self) -> String {
        serde_json::to_string_pretty(&self.list).expect("json")
    }
}

/// A saved group of profiles: the servers a database can end up on ("Payroll prod + DR"),
/// checked together for key parity.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Group {
    pub name: String,
    /// Its members, by profile name.
    pub profiles: Vec<String>,
}

/// The saved groups, in `KEYSAFE_HOME/groups.json` (names only: a member's connection and
/// password stay in its profile).
pub struct Groups {
    path: PathBuf,
    pub list: Vec<Group>,
}

impl Groups {
    pub fn load(home: &Path) -> Result<Groups> {
        let path = home.join("groups.json");
        let list = match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| {
                KeysafeError::new(
                    ErrorCode::InvalidInput,
                    format!("{} is not a group list: {e}", path.display()),
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => vec![],
            Err(e) => return Err(e.into()),
        };
        Ok(Groups { path, list })
    }

    pub fn get(&self, name: &str) -> Option<&Group> {
        self.list.iter().find(|g| g.name.eq_ignore_ascii_case(name))
    }

    /// Adds or replaces a group. Every member must be a saved profile, named once, and a
    /// group has at least two.
    pub fn upsert(&mut self, g: Group, profiles: &Profiles) -> Result<()> {
        let bad = |m: String| Err(KeysafeError::new(ErrorCode::InvalidInput, m));
        if g.name.trim().is_empty() || g.name.chars().any(char::is_control) {
            return bad(format!("'{}' cannot name a group.", g.name.escape_debug()));
        }
        if g.profiles.len() < 2 {
            return bad("A group has at least two members (--profile twice).".into());
        }
        for (i, m) in g.profiles.iter().enumerate() {
            if profiles.get(m).is_none() {
                return bad(format!(
                    "There is no profile named '{m}' (keysafe profile list)."
                ));
            }
            if g.profiles[..i].iter().any(|x| x.eq_ignore_ascii_case(m)) {
                return bad(format!("Profile '{m}' is named twice."));
            }
        }
        self.list.retain(|x| !x.name.eq_ignore_ascii_case(&g.name));
        self.list.push(g);
        crate::private_fs::replace(
            &self.path,
            &serde_json::to_vec_pretty(&self.list).expect("json"),
        )?;
        Ok(())
    }

    pub fn remove(&mut self, name: &str) -> Result<bool> {
        let before = self.list.len();
        self.list.retain(|x| !x.name.eq_ignore_ascii_case(name));
        if self.list.len() == before {
            return Ok(false);
        }
        crate::private_fs::replace(
            &self.path,
            &serde_json::to_vec_pretty(&self.list).expect("json"),
        )?;
        Ok(true)
    }
}

#[cfg(all(test, target_os = "linux"))]
mod home_tests {
    #[test]
    fn the_data_folder_is_the_xdg_one_the_scripts_use() {
        if std::env::var_os("KEYSAFE_HOME").is_some() {
            return; // the override wins, by design
        }
        let base = std::env::var_os("XDG_DATA_HOME")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::PathBuf::from(std::env::var_os("HOME").unwrap()).join(".local/share")
            });
        assert_eq!(super::home(), base.join("keysafe"));
    }
}
