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
        subject: a
            .subject
            .map(str::to_string)
            .unwrap_or_else(|| format!("TDE certificate {}", a.new_name)),
        expiry: a.expiry,
        backup: run::RunRequest {
            targets: vec![],
            settings: RunSettings::new(Selection::All, a.copy_to),
            concurrency: 1,
            custody: Custody::default(),
            report_dir: a.copy_to.to_path_buf(),
            history: history_path(),
            instance_splits: Default::default(),
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
