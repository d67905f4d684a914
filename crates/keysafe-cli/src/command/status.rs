use crate::prelude::*;

pub(crate) async fn cmd_status(conn: &ConnArgs, json: bool) -> Result<i32, KeysafeError> {
    use keysafe_core::status::BackupState;
    let targets = connect_options(conn)?;
    let entries = history::read(&history_path())?;
    let mut all = Vec::new();
    let mut failed = false;
    for t in &targets {
        let r: Result<_, KeysafeError> = async {
            let mut c = keysafe_core::connection::connect(t).await?;
            let inv = inventory::inventory(&mut c).await?;
            Ok((
                inv.server.server_name.clone(),
                keysafe_core::status::status(&inv, &entries),
            ))
        }
        .await;
        match r {
            Ok(v) => all.push(v),
            Err(e) => {
                failed = true;
                for l in term::error_lines(&format!("[{}] ", t.server), &e) {
                    eprintln!("{l}");
                }
            }
        }
    }
    let attention = all
        .iter()
        .flat_map(|(_, keys)| keys)
        .filter(|k| k.state != BackupState::BackedUp)
        .count();
    // A group is the servers a database can end up on: each must hold the certificates its
    // TDE databases and kept encrypted backups need (key parity).
    let parity_risks = if conn.groups.is_empty() {
        vec![]
    } else {
        keysafe_core::parity::check(&targets, 35).await.risks()
    };
    if json {
        let v: Vec<_> = all
            .iter()
            .map(|(server, keys)| serde_json::json!({ "server": server, "keys": keys }))
            .collect();
        std::println!("{}", serde_json::to_string_pretty(&v).expect("json"));
    } else {
        for (server, keys) in &all {
            println!("{server}");
            for k in keys {
                println!(
                    "  {:<15} {:<40} {}",
                    k.state.words(),
                    k.label,
                    k.last_backup.as_deref().unwrap_or("no verified backup")
                );
                // Its own line: println! escapes a line feed inside what it prints.
                if let Some(r) = k.reason.as_deref().filter(|_| k.state == BackupState::Risk) {
                    println!("                  {r}");
                }
            }
        }
        eprintln!(
            "{} {} attention",
            keysafe_core::report::count(attention as u64, "key"),
            if attention == 1 { "needs" } else { "need" }
        );
    }
    for r in &parity_risks {
        eprintln!("PARITY: {}", term::safe(r));
    }
    // An unattended run that failed or did not happen is as much a status as a key.
    let schedules: Vec<_> = keysafe_core::schedule::Store::new(&keysafe_home())
        .states(chrono::Local::now())
        .into_iter()
        .filter(|s| s.verdict == "failed" || s.verdict == "missed")
        .collect();
    for s in &schedules {
        eprintln!(
            "schedule {} {}: {}",
            s.schedule.name,
            s.verdict.to_uppercase(),
            match (&s.last_run, s.missed_since) {
                (_, Some(m)) => format!(
                    "no run recorded since it was due at {}",
                    m.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M")
                ),
                (Some(r), None) => r
                    .error
                    .clone()
                    .unwrap_or_else(|| format!("exit {}", r.exit_code)),
                (None, None) => String::new(),
            }
        );
    }
    Ok(
        if failed || attention > 0 || !schedules.is_empty() || !parity_risks.is_empty() {
            1
        } else {
            0
        },
    )
}
