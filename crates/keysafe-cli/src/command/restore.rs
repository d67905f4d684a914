use super::copy_certificate::back_it_up_now;
use crate::prelude::*;

pub(crate) async fn cmd_restore(a: &RestoreArgs) -> Result<i32, KeysafeError> {
    use keysafe_core::backup::KeyRef;
    use keysafe_core::restore::{self, Placement, RestoreProgress, RestoreRequest};
    let targets = connect_options(&a.conn)?;
    let [target] = targets.as_slice() else {
        return Err(usage(
            "restore takes one instance to restore on (--server or --profile)",
        ));
    };
    let need = |v: &Option<String>, flag: &str| {
        v.clone().ok_or_else(|| {
            usage(format!(
                "restore {} needs {flag}",
                match a.what {
                    RestoreWhat::Smk => "smk",
                    RestoreWhat::Dmk => "dmk",
                    RestoreWhat::Cert => "cert",
                }
            ))
        })
    };
    let key = match a.what {
        RestoreWhat::Smk => KeyRef::ServiceMasterKey,
        RestoreWhat::Dmk => KeyRef::DatabaseMasterKey {
            database: need(&a.database, "--database")?,
        },
        RestoreWhat::Cert => KeyRef::Certificate {
            database: need(&a.database, "--database")?,
            name: need(&a.certificate, "--certificate")?,
        },
    };
    let mut req = RestoreRequest {
        report: a.report.clone(),
        from_server: a.from_server.clone(),
        key: key.clone(),
        target_database: a.to_database.clone(),
        server_dir: a.server_dir.clone(),
        placement: match &a.server_dir_local {
            Some(p) => Placement::Local(p.clone()),
            None => Placement::Manual {
                wait: std::time::Duration::from_secs(a.wait),
            },
        },
        force: a.force,
        add_service_master_key: a.add_service_master_key,
        verify_backup: a.verify_backup.clone(),
        confirmed_instance: None,
    };
    // The medium first, before any password is asked for or any server reached: a copy that
    // is not what was backed up stops everything here.
    let prepared = restore::prepare(&req)?;
    req.report = prepared.report.clone();
    let backup_pw = backup_password(a.password_env.as_deref(), &a.share_env, a.shares)?;
    let master_key = a
        .master_key_password_env
        .as_deref()
        .map(|v| secret_from_env(v, "the master key's password"))
        .transpose()?;
    let mut c = keysafe_core::connection::connect(target).await?;
    if key == KeyRef::ServiceMasterKey {
        let name = c.server_name().await?;
        eprintln!("{}", restore::SERVICE_MASTER_KEY_CONSEQUENCES);
        if a.force {
            eprintln!(
                "FORCE is on: what the current key protects and cannot be decrypted will be lost."
            );
        }
        let typed = match &a.confirm {
            Some(t) => t.clone(),
            None if std::io::stdin().is_terminal() => read_answer(&format!(
                "Type the instance's name ({name}) to restore its service master key: "
            ))?,
            None => {
                return Err(usage(format!(
                    "Restoring a service master key needs the instance's name typed as confirmation: --confirm {name} (no terminal to ask on)."
                )))
            }
        };
        req.confirmed_instance = Some(typed);
    }
    let secrets = restore::RestoreSecrets {
        backup: &backup_pw,
        master_key: master_key.as_ref(),
    };
    let server = target.server.to_string();
    let mut show = |p: RestoreProgress| {
        match p {
        RestoreProgress::MediumChecked { copies } => {
            eprintln!("[{server}] {copies} file(s) of the key match the report")
        }
        RestoreProgress::CopyNeeded {
            medium_path,
            server_path,
            waiting_seconds,
        } => eprintln!(
            "[{server}] Copy {medium_path}\n    to {server_path} on the server (its service account must be able to read it).\n    Waiting up to {waiting_seconds} s for the server to read the same bytes..."
        ),
        RestoreProgress::Placed { server_path } => {
            eprintln!("[{server}] the server reads {server_path} with the medium's SHA-256")
        }
        RestoreProgress::Restoring { statement } => eprintln!("[{server}] {statement}"),
    }
    };
    let outcome = restore::restore_prepared(&mut c, &req, prepared, &secrets, &mut show).await;
    let report_dir = a
        .report_to
        .clone()
        .unwrap_or_else(|| keysafe_home().join("reports"));
    match restore::record(&outcome, &req, &server, &history_path(), &report_dir) {
        Ok(files) => eprintln!("[{server}] restore report: {}", files.html.display()),
        Err(e) => {
            for l in term::error_lines("keysafe: the restore report could not be written: ", &e) {
                eprintln!("{l}");
            }
        }
    }
    let r = outcome?;
    if a.json {
        print_json(&r)?;
    } else {
        println!(
            "[{}] {} restored from {}'s backup{}.",
            r.target_server,
            r.key,
            r.from_server,
            r.target_database
                .as_ref()
                .map(|d| format!(" into {d}"))
                .unwrap_or_default()
        );
        println!("  Proof: {}", r.proof);
        if let Some(v) = &r.backup_verified {
            println!("  Rehearsal: {v}");
        }
        if r.opens_by_itself == Some(false) {
            println!("  The restored master key opens only with its password on {}: add --add-service-master-key (or keysafe repair-master-key) where it must open by itself (TDE).", r.target_server);
        }
    }
    if r.created_master_key {
        back_it_up_now(r.target_database.as_deref().unwrap_or_default(), &server);
    }
    Ok(0)
}
