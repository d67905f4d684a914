use crate::prelude::*;
use keysafe_core::backup::Secrets;
use keysafe_core::rotation::{self, RotationRequest};

pub(crate) struct RotateArgs<'a> {
    pub(crate) conn: &'a ConnArgs,
    pub(crate) certificate: &'a str,
    pub(crate) new_name: &'a str,
    pub(crate) subject: Option<&'a str>,
    pub(crate) expiry: Option<chrono::NaiveDate>,
    pub(crate) password_env: Option<&'a str>,
    pub(crate) password_keyring: Option<&'a str>,
    pub(crate) copy_to: &'a std::path::Path,
    pub(crate) new_master_key_env: Option<&'a str>,
    pub(crate) log_backup: bool,
    pub(crate) log_backup_dir: Option<&'a str>,
    pub(crate) yes: bool,
    pub(crate) json: bool,
}

pub(crate) async fn cmd_rotate(a: RotateArgs<'_>) -> Result<i32, KeysafeError> {
    let members = connect_options(a.conn)?;
    if members.is_empty() {
        return Err(usage(
            "Give the primary first, then every other member (--profile, --server or --group).",
        ));
    }
    let secrets = match (a.password_env, a.password_keyring) {
        (Some(v), _) => Secrets::chosen(secret_from_env(v, "the backup password")?, None)?,
        (None, Some(k)) => Secrets::chosen(secret_from_keyring(k)?, None)?,
        (None, None) => {
            let p = prompt("Backup password for the new certificate")?;
            Secrets::chosen(p, Some(&prompt("Confirm backup password")?))?
        }
    };
    let new_master_key = a
        .new_master_key_env
        .map(|v| secret_from_env(v, "the new master key's password"))
        .transpose()?;
    if !a.yes {
        if !std::io::stdin().is_terminal() {
            return Err(usage(
                "rotate-certificate changes the servers: confirm with --yes (no terminal to ask on).",
            ));
        }
        eprintln!(
            "The plan, on {} (primary) and {} other member(s):",
            members[0].server,
            members.len() - 1
        );
        for (i, s) in rotation::STEPS.iter().enumerate() {
            eprintln!("  {}. {s}", i + 1);
        }
        eprint!("Type the new certificate's name to go on: ");
        let mut answer = String::new();
        std::io::stdin()
            .read_line(&mut answer)
            .map_err(|e| usage(format!("Cannot read the answer: {e}")))?;
        if answer.trim() != a.new_name {
            eprintln!("Not confirmed: nothing was changed.");
            return Ok(1);
        }
    }
    for w in run::prepare_medium(a.copy_to)? {
        eprintln!("warning: {w}");
    }
    let req = RotationRequest {
        members,
        certificate: a.certificate.to_string(),
        new_name: a.new_name.to_string(),
        subject: a.subject.map(str::to_string),
        expiry: a.expiry,
        take_log_backups: a.log_backup,
        log_backup_dir: a.log_backup_dir.map(str::to_string),
        backup: run::RunRequest {
            targets: vec![],
            settings: RunSettings::new(Selection::All, a.copy_to),
            concurrency: 1,
            custody: Custody::default(),
            report_dir: a.copy_to.to_path_buf(),
            history: history_path(),
            instance_splits: Default::default(),
            parity_risks: Default::default(),
        },
    };
    let progress = |s: &str| eprintln!("... {s}");
    let done = rotation::rotate(&req, &secrets, new_master_key.as_ref(), &progress).await;
    if a.json {
        print_json(&done)?;
    } else {
        for (i, s) in done.steps.iter().enumerate() {
            println!(
                "{}. {:<6} {}{}",
                i + 1,
                if s.done { "done" } else { "NOT" },
                s.what,
                if s.detail.is_empty() {
                    String::new()
                } else {
                    format!(": {}", term::safe(&s.detail))
                }
            );
        }
    }
    if let Some(e) = &done.error {
        for l in term::error_lines("", e) {
            eprintln!("{l}");
        }
    }
    Ok(if done.succeeded() { 0 } else { 1 })
}

pub(crate) async fn cmd_drop_certificate(
    conn: &ConnArgs,
    certificate: &str,
    retention_days: u32,
    yes: bool,
) -> Result<i32, KeysafeError> {
    let targets = connect_options(conn)?;
    let entries = history::read(&history_path())?;
    // Every server checked before any is changed.
    let mut checked = Vec::new();
    for t in &targets {
        let mut c = keysafe_core::connection::connect(t).await?;
        let check = rotation::retire_check(
            &mut c,
            &t.server.to_string(),
            certificate,
            retention_days,
            &entries,
        )
        .await?;
        checked.push((c, check));
    }
    let blocked: Vec<_> = checked
        .iter()
        .filter(|(_, k)| k.thumbprint.is_some() && !k.may_drop())
        .collect();
    if !blocked.is_empty() {
        for (_, k) in &blocked {
            println!("[{}] {certificate} is still needed:", k.server);
            for d in &k.protects {
                println!("  protects the encryption key of {}", term::safe(d));
            }
            for b in &k.needed_by {
                println!("  {}", term::safe(b));
            }
            if let Some(u) = &k.unknown {
                println!("  not checked: {}", term::safe(u));
            }
        }
        eprintln!("Nothing was dropped: keep {certificate} until no kept backup needs it (Msg 33111 on every restore of them otherwise).");
        return Ok(1);
    }
    if checked.iter().all(|(_, k)| k.thumbprint.is_none()) {
        return Err(KeysafeError::new(
            ErrorCode::NotFound,
            format!("No server given has a certificate {certificate} in master."),
        ));
    }
    if !yes {
        if !std::io::stdin().is_terminal() {
            return Err(usage(
                "drop-certificate changes the servers: confirm with --yes (no terminal to ask on).",
            ));
        }
        eprint!("Nothing needs {certificate} any more. Type its name to drop it: ");
        let mut answer = String::new();
        std::io::stdin()
            .read_line(&mut answer)
            .map_err(|e| usage(format!("Cannot read the answer: {e}")))?;
        if answer.trim() != certificate {
            eprintln!("Not confirmed: nothing was changed.");
            return Ok(1);
        }
    }
    for (mut c, k) in checked.into_iter().filter(|(_, k)| k.thumbprint.is_some()) {
        rotation::drop_retired(&mut c, &k, &history_path()).await?;
        println!(
            "[{}] {certificate} dropped (recorded in the history).",
            k.server
        );
    }
    Ok(0)
}
