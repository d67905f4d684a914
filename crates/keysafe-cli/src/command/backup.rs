use crate::prelude::*;

/// Split custody: a new password (one for the run, or one per instance), split among the
/// custodians, each page written before anything is backed up (a backup whose shares could
/// not be written would be unrecoverable).
fn split_password(
    a: &BackupArgs,
    k: u8,
    request: &run::RunRequest,
) -> Result<keysafe_core::custody::RunSplit, KeysafeError> {
    let dir = a.shares_to.as_ref().expect("clap requires --shares-to");
    let what = match a.what {
        What::Smk => "the service master key".to_string(),
        What::Dmk if a.databases.is_empty() => "every database master key".into(),
        What::Dmk => format!("the master keys of {}", a.databases.join(", ")),
        What::Cert => format!(
            "certificates {}",
            a.certificates
                .iter()
                .map(|(d, n)| format!("{d}.{n}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        What::All => "every key of the hierarchy".into(),
        What::Changed => "the keys never backed up or changed since".into(),
    };
    let protects: Vec<(String, String)> = request
        .targets
        .iter()
        .map(|t| {
            let server = t.server.to_string();
            let line = format!("{server}: {what}, backed up to {}", a.copy_to.display());
            (server, line)
        })
        .collect();
    let mut media: Vec<&std::path::Path> = vec![&a.copy_to];
    media.extend(a.report.as_deref());
    let scope = if a.split_per_instance {
        keysafe_core::custody::SplitScope::PerInstance
    } else {
        keysafe_core::custody::SplitScope::Run
    };
    let split =
        keysafe_core::custody::split_for_run(k, &a.custodians, dir, &media, &protects, scope)?;
    let splits: Vec<(Option<&str>, &keysafe_core::custody::SplitCustody)> = split
        .custody
        .iter()
        .map(|c| (None, c))
        .chain(
            split
                .instances
                .iter()
                .map(|i| (Some(i.server.as_str()), &i.custody)),
        )
        .collect();
    for (server, c) in splits {
        eprintln!(
            "split {}{}: any {} of {} shares rebuild the backup password",
            c.split_id,
            server.map(|s| format!(" ({s})")).unwrap_or_default(),
            c.threshold,
            c.custodians.len()
        );
    }
    eprintln!("print each page for its custodian, then delete it:");
    for p in &split.pages {
        eprintln!("  {}", p.display());
    }
    Ok(split)
}

pub(crate) async fn cmd_backup(a: &BackupArgs) -> Result<i32, KeysafeError> {
    let targets = connect_options(&a.conn)?;
    let selection = match a.what {
        What::Smk => Selection::ServiceMasterKey,
        What::Dmk => Selection::DatabaseMasterKeys(a.databases.clone()),
        What::Cert => Selection::Certificates(a.certificates.clone()),
        What::All => Selection::All,
        What::Changed => Selection::Changed(history::read(&history_path())?),
    };
    let settings = RunSettings {
        selection,
        backup: keysafe_core::backup::BackupOptions {
            server_dir: a.server_dir.clone(),
            copy_to: a.copy_to.clone(),
            format: a.format,
        },
        verify_restore: a.verify_restore,
        server_dir_local: a.server_dir_local.clone(),
        acl_principals: a.acl_principals.clone(),
    };
    let request = run::RunRequest {
        targets,
        settings,
        concurrency: a.concurrency,
        custody: Custody {
            carrier: a.carrier.clone(),
            storage_location: a.storage_location.clone(),
            notes: None,
            password_split: None,
        },
        report_dir: a.report.clone().unwrap_or_else(|| a.copy_to.clone()),
        history: history_path(),
        instance_splits: Default::default(),
        parity_risks: Default::default(),
    };
    if a.plan {
        return print_plan(&run::plan(&request).await, a.json);
    }
    let mut request = request;
    // A group is the servers a database can end up on: the report of each member lists the
    // certificates it lacks that another holds (key parity), beside its own risks.
    if !a.conn.groups.is_empty() {
        request.parity_risks =
            keysafe_core::parity::risks_by_member(&request.targets, a.retention_days).await;
    }
    let split = a
        .split
        .map(|k| split_password(a, k, &request))
        .transpose()?;
    use keysafe_core::backup::{NeededPassword, Secrets};
    let mut secrets = match (&a.password_env, &split) {
        (_, Some(s)) => Secrets::chosen(s.password.clone(), None)?,
        (None, None) if a.password_keyring.is_some() => Secrets::chosen(
            secret_from_keyring(a.password_keyring.as_deref().unwrap_or_default())?,
            None,
        )?,
        (Some(v), None) => Secrets::chosen(secret_from_env(v, "the backup password")?, None)?,
        (None, None) => {
            let p = prompt("Backup password")?;
            Secrets::chosen(p, Some(&prompt("Confirm backup password")?))?
        }
    };
    for (db, var) in &a.master_key_password_env {
        secrets.give(
            NeededPassword::MasterKey {
                database: db.clone(),
            },
            secret_from_env(var, &format!("{db}'s master key password"))?,
        );
    }
    for ((db, name), var) in &a.certificate_password_env {
        secrets.give(
            NeededPassword::CertificateKey {
                database: db.clone(),
                name: name.clone(),
            },
            secret_from_env(var, &format!("certificate {db}.{name}'s key password"))?,
        );
    }
    if let Some(split) = &split {
        secrets = request.take_split(split, secrets);
    }
    for w in run::prepare_medium(&a.copy_to)? {
        eprintln!("warning: {w}");
    }
    // On a terminal, one line that redraws itself: [done/planned] last event. Otherwise one
    // line per event, for logs of scheduled tasks.
    // On a terminal, a progress bar whose length grows as instances are planned, and the last
    // event beside it; failures are printed above it so they stay. Otherwise one line per
    // event, for the logs of scheduled tasks.
    let tty = std::io::stderr().is_terminal();
    let bar = if tty {
        let b = indicatif::ProgressBar::new(0);
        b.set_style(
            indicatif::ProgressStyle::with_template("[{bar:24}] {pos}/{len} keys {wide_msg}")
                .expect("a valid template")
                .progress_chars("#>."),
        );
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let progress = |p: Progress| {
        let (line, failed) = match p {
            Progress::Connecting { server } => (format!("[{server}] connecting"), false),
            Progress::Planned { server, keys } => {
                bar.inc_length(keys as u64);
                (
                    format!(
                        "[{server}] {} to back up",
                        keysafe_core::report::count(keys as u64, "key")
                    ),
                    false,
                )
            }
            Progress::FolderReady { server, folder, .. } => {
                (format!("[{server}] server folder {folder}"), false)
            }
            Progress::KeyStarted { server, key } => {
                (format!("[{server}] {key}: backing up"), false)
            }
            Progress::KeyDone {
                server,
                key,
                verified,
            } => {
                bar.inc(1);
                (
                    format!(
                        "[{server}] {key}: {}",
                        if verified {
                            "backed up, copied, verified"
                        } else {
                            "FAILED"
                        }
                    ),
                    !verified,
                )
            }
            // The summary names the report when the run ends.
            Progress::ReportWritten { .. } => return,
            Progress::InstanceDone { server, verified } => (
                format!(
                    "[{server}] {}",
                    if verified {
                        "done"
                    } else {
                        "not everything was verified"
                    }
                ),
                !verified,
            ),
        };
        if !tty {
            eprintln!("{line}");
        } else if failed {
            bar.println(line);
        } else {
            bar.set_message(line);
        }
    };
    let record = run::execute(&request, &secrets, &progress).await;
    bar.finish_and_clear();
    let run::RunRecord {
        report,
        files: written,
    } = record?;
    if a.json {
        std::println!("{}", report.to_json());
    }
    eprintln!("{}; report: {}", report.headline(), written.html.display());
    for i in &report.instances {
        if let Some(e) = &i.error {
            for l in term::error_lines(&format!("[{}] ", i.server), e) {
                eprintln!("{l}");
            }
        }
        if i.folder_protection_failed {
            eprintln!(
                "[{}] FAILED: the server folder's protection did not read back as applied: {}",
                i.server, i.folder_protection
            );
        }
        for k in &i.keys {
            if let Some(e) = &k.error {
                for l in term::error_lines(&format!("[{}] {}: ", i.server, k.key.label()), e) {
                    eprintln!("{l}");
                }
            }
        }
    }
    Ok(if report.succeeded() { 0 } else { 1 })
}

/// `keysafe backup --plan`: the engine's preview, as the Back Up dialog shows it. Exit 1 when
/// something in it would fail.
fn print_plan(plan: &run::BackupPlan, json: bool) -> Result<i32, KeysafeError> {
    let blocked = plan
        .instances
        .iter()
        .any(|i| i.problem.is_some() || i.keys.iter().any(|k| k.problem.is_some()));
    if json {
        std::println!(
            "{}",
            serde_json::to_string_pretty(plan)
                .map_err(|e| KeysafeError::new(ErrorCode::Internal, e.to_string()))?
        );
        return Ok(i32::from(blocked));
    }
    for i in &plan.instances {
        let name = i.server_name.as_deref().unwrap_or(&i.server);
        println!("[{name}] ({})", i.server);
        if let Some(e) = &i.problem {
            for l in term::error_lines("  CANNOT BACK UP: ", e) {
                println!("  {}", l.trim_start());
            }
            continue;
        }
        if let Some(f) = &i.server_folder {
            println!("  Server folder: {f}");
        }
        for line in i.folder.iter().flat_map(|f| f.describe()) {
            println!("    {line}");
        }
        if let Some(m) = &i.medium_folder {
            println!("  Copies to: {m}");
        }
        for k in &i.keys {
            println!("  {}", k.label);
            for n in &k.needs {
                let flag = match n {
                    run::NeededPassword::MasterKey { database } => {
                        format!("--master-key-password-env {database}=VAR")
                    }
                    run::NeededPassword::CertificateKey { database, name } => {
                        format!("--certificate-password-env {database}.{name}=VAR")
                    }
                };
                println!("    needs a password: {flag}");
            }
            if let Some(e) = &k.problem {
                for l in term::error_lines("CANNOT BACK UP: ", e) {
                    println!("    {l}");
                }
            }
            for f in k.server_files.iter().chain(&k.exported_files) {
                println!("    file: {f}");
            }
            for line in k.script.lines() {
                println!("    | {line}");
            }
        }
    }
    Ok(i32::from(blocked))
}
