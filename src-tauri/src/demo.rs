//! `--demo`: an embedded emulated SQL Server with a few databases (a password-only master
//! key, TDE) and a Demo profile, so the whole flow runs with no SQL Server anywhere.

#[cfg(feature = "demo")]
use keysafe_core::connection::{Encrypt, Trust};
use keysafe_core::profiles::Profile;
use keysafe_core::Password;
use std::path::Path;

pub struct Demo {
    pub profile: Profile,
    pub password: Password,
    #[cfg(feature = "demo")]
    _instance: mssql_emulator::Emulator,
}

pub const PROFILE_NAME: &str = "Demo";
#[cfg(feature = "demo")]
const SCENARIO: &str = mssql_emulator::scenarios::DEMO;
#[cfg(feature = "demo")]
const LOGIN: &str = "keysafe_operator";

impl Demo {
    /// Starts the instance on 127.0.0.1 (any free port) with its state under `dir`, so
    /// backups made in one session are still there in the next.
    #[cfg(feature = "demo")]
    pub async fn start(dir: &Path) -> std::io::Result<Demo> {
        let scenario = mssql_emulator::Scenario::from_toml(SCENARIO)
            .map_err(|e| std::io::Error::other(format!("demo scenario: {e}")))?;
        let password = scenario_password(&scenario)?;
        let instance = mssql_emulator::Emulator::start(
            mssql_emulator::EmulatorConfig::new(dir).scenario(scenario),
        )
        .await?;
        let ca = instance
            .cert_pem_path()
            .map(Path::to_path_buf)
            .ok_or_else(|| std::io::Error::other("the demo instance has no certificate"))?;
        Ok(Demo {
            profile: Profile {
                name: PROFILE_NAME.into(),
                server: format!("127.0.0.1,{}", instance.addr().port()),
                login: Some(LOGIN.into()),
                encrypt: Encrypt::Mandatory,
                // The instance's own certificate is the CA: verified TLS, nothing to trust blindly.
                trust: Trust::CaFile(ca),
                host_name_in_certificate: None,
                connect_timeout_secs: 15,
                folder: "Demo".into(),
                color: Some("#2e7d32".into()),
                remember_password: true,
            },
            password,
            _instance: instance,
        })
    }

    #[cfg(not(feature = "demo"))]
    pub async fn start(_dir: &Path) -> std::io::Result<Demo> {
        Err(std::io::Error::other(
            "this build has no demo instance (built without the `demo` feature)",
        ))
    }
}

#[cfg(feature = "demo")]
fn scenario_password(s: &mssql_emulator::Scenario) -> std::io::Result<Password> {
    s.logins
        .iter()
        .find(|l| l.name == LOGIN)
        .and_then(|l| l.password.clone())
        .map(Password::new)
        .ok_or_else(|| std::io::Error::other("the demo scenario has no keysafe_operator login"))
}
