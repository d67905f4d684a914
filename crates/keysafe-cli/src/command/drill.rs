use crate::prelude::*;

pub(crate) async fn cmd_drill(a: &DrillArgs) -> Result<i32, KeysafeError> {
    use keysafe_core::drill::{self, BackupResult, DrillProgress, DrillRequest};
    let targets = connect_options(&a.conn)?;
    let (scratch, source) = match targets.as_slice() {
        [s] => (s, None),
        [s, src] => (s, Some(src)),
        _ => {
            return Err(usage(
                "drill takes the scratch instance and, optionally, the source (two --server or --profile at most)",
            ))
        }
    };
    let backups_seen_as = a
        .backups_seen_as
        .iter()
        .map(|m| {
            m.split_once('=')
                .filter(|(f, t)| !f.is_empty() && !t.is_empty())
                .map(|(f, t)| (f.to_string(), t.to_string()))
                .ok_or_else(|| usage(format!("--backups-seen-as takes FROM=TO, not '{m}'")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut req = DrillRequest {
        report: a.report.clone(),
        from_server: a.from_server.clone(),
        server_dir: a.server_dir.clone(),
        server_dir_local: a.server_dir_local.clone(),
        backups_seen_as,
        sample: a.sample,
        retention_days: a.retention_days,
        confirmed_scratch: a.scratch.clone(),
        designations: keysafe_home().join("scratch-instances.json"),
    };
    // The medium first, before any password is asked for or any server reached.
    let medium = drill::check_medium(&req)?;
    eprintln!(
        "The medium holds {} of {}'s keys, every copy as the report recorded it.",
        keysafe_core::report::count(medium.keys.len() as u64, "key"),
        medium.source
    );
    let backup_pw = match &a.password_keyring {
        Some(name) => secret_from_keyring(name)?,
        None => backup_password(a.password_env.as_deref(), &a.share_env, None)?,
    };
    let mut c = keysafe_core::connection::connect(scratch).await?;
    // The engine refuses an instance never designated unless its name was typed: ask here
    // when there is someone to ask.
    if req.confirmed_scratch.is_none() && std::io::stdin().is_terminal() {
        let name = c.server_name().await?;
        if !drill::designations(&req.designations)
            .iter()
            .any(|d| d.instance.eq_ignore_ascii_case(&name))
        {
            eprintln!("{}", drill::SCRATCH_CONSEQUENCES);
            req.confirmed_scratch = Some(read_answer(&format!(
                "Type the scratch instance's name ({name}) to designate it: "
            ))?);
        }
    }
    let mut src = match source {
        Some(o) => Some(keysafe_core::connection::connect(o).await?),
        None => None,
    };
    let json = a.json;
    let mut show = |p: DrillProgress| {
        if json {
            return;
        }
        match p {
            DrillProgress::Key {
                label,
                passed,
                detail,
            } => eprintln!("{} {label}: {detail}", if passed { "PASS" } else { "FAIL" }),
            DrillProgress::Backup { device, result } => eprintln!("     {device}: {result}"),
        }
    };
    let r = drill::run(&req, medium, &mut c, src.as_mut(), &backup_pw, &mut show).await?;
    let dir = a
        .report_to
        .clone()
        .unwrap_or_else(|| keysafe_home().join("drills"));
    let files = r.write_files(&dir);
    if json {
        print_json(&r)?;
    } else {
        let proven = r
            .backups
            .iter()
            .filter(|b| matches!(b.result, BackupResult::Proven { .. }))
            .count();
        let stranded = r
            .backups
            .iter()
            .filter(|b| matches!(b.result, BackupResult::Stranded { .. }))
            .count();
        println!(
            "Drill of {} on {}: {}. {} of {} restored and proven; {}",
            r.source,
            r.scratch,
            if r.passed { "PASSED" } else { "FAILED" },
            r.keys.iter().filter(|k| k.passed).count(),
            keysafe_core::report::count(r.keys.len() as u64, "key"),
            if r.backups_checked {
                format!(
                    "{} proven restorable, {} stranded.",
                    keysafe_core::report::count(proven as u64, "kept backup"),
                    stranded
                )
            } else {
                "kept backups not checked (no source instance given).".into()
            }
        );
        if let Some(t) = r.time_to_recover_seconds {
            println!("  Time to recover: {t:.1} s");
        }
        for l in &r.left_behind {
            println!("  NOT DROPPED: {l}");
        }
    }
    match files {
        Ok(f) => eprintln!("drill report: {}", f.html.display()),
        Err(e) => {
            for l in term::error_lines("keysafe: the drill report could not be written: ", &e) {
                eprintln!("{l}");
            }
            return Ok(1);
        }
    }
    Ok(if r.passed { 0 } else { 1 })
}
