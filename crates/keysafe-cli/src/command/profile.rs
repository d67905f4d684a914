use crate::prelude::*;

pub(crate) fn cmd_profile(action: &ProfileAction) -> Result<i32, KeysafeError> {
    let mut profiles = Profiles::load(&keysafe_home())?;
    match action {
        ProfileAction::Add {
            name,
            conn,
            remember,
            folder,
            color,
        } => {
            let server = conn
                .servers
                .first()
                .ok_or_else(|| usage("A profile needs --server."))?;
            server.parse::<ServerAddress>()?;
            let password = match (&conn.login, &conn.login_password_env, remember) {
                (Some(_), Some(v), true) => Some(secret_from_env(v, "the login's password")?),
                (Some(l), None, true) => Some(prompt(&format!("Password for {l}"))?),
                _ => None,
            };
            let p = Profile {
                name: name.clone(),
                server: server.clone(),
                login: if conn.integrated {
                    None
                } else {
                    conn.login.clone()
                },
                encrypt: conn.encrypt(),
                trust: conn.trust(),
                host_name_in_certificate: conn.host_name_in_certificate.clone(),
                connect_timeout_secs: conn.connect_timeout(),
                folder: folder.clone(),
                color: color.clone(),
                remember_password: *remember,
            };
            profiles.upsert(p, password.as_ref(), &OsKeyring)?;
            eprintln!(
                "saved profile {name}{}",
                if *remember {
                    " (password in the OS keyring)"
                } else {
                    ""
                }
            );
        }
        ProfileAction::List => {
            for p in &profiles.list {
                println!(
                    "{}\t{}\t{}\t{}",
                    p.name,
                    p.server,
                    p.login.as_deref().unwrap_or("(Windows)"),
                    p.folder
                );
            }
        }
        ProfileAction::Remove { name } => {
            if !profiles.remove(name, &OsKeyring)? {
                return Err(usage(format!("There is no profile named '{name}'.")));
            }
        }
        ProfileAction::Export => std::println!("{}", profiles.export()),
    }
    Ok(0)
}
