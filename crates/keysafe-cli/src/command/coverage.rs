use crate::prelude::*;

pub(crate) async fn cmd_coverage(
    conn: &ConnArgs,
    retention_days: u32,
    report: Option<&std::path::Path>,
    json: bool,
) -> Result<i32, KeysafeError> {
    let targets = connect_options(conn)?;
    let runs: Vec<_> = history::read(&history_path())?
        .iter()
        .filter_map(history::Entry::run)
        .collect();
    let mut all = Vec::new();
    let mut failed = false;
    for t in &targets {
        let r = async {
            let mut c = keysafe_core::connection::connect(t).await?;
            keysafe_core::coverage::coverage(&mut c, retention_days, &runs).await
        }
        .await;
        match r {
            Ok(cov) => all.push(cov),
            Err(e) => {
                failed = true;
                for l in term::error_lines(&format!("[{}] ", t.server), &e) {
                    eprintln!("{l}");
                }
            }
        }
    }
    for cov in &all {
        if let Some(dir) = report {
            let files = cov.write_files(dir)?;
            eprintln!("[{}] report: {}", cov.server, files.html.display());
        }
        if !json {
            println!(
                "{}: {} backup(s) in the last {} day(s) need {} certificate(s)",
                cov.server,
                cov.backups.len(),
                cov.retention_days,
                cov.certificates.len()
            );
            println!("  {}", cov.summary.text);
            for l in cov.lines() {
                println!("  {l}");
            }
            for b in cov.backups.iter().filter(|b| b.unknown.is_some()) {
                println!(
                    "  UNKNOWN: {} backup of {} at {}: {}",
                    b.finished,
                    b.database,
                    b.device,
                    b.unknown.clone().unwrap_or_default()
                );
            }
        }
    }
    // A group: every member's kept backups (a secondary's are in its own msdb only), each
    // judged on every member it may have to be restored on.
    let group = if conn.groups.is_empty() {
        None
    } else {
        Some(keysafe_core::parity::group_coverage(&targets, retention_days, &runs).await)
    };
    if let (Some(g), false) = (&group, json) {
        println!(
            "group: {} kept backup(s) of {} judged on every member",
            g.backups.len(),
            keysafe_core::report::count(g.members.len() as u64, "member")
        );
        for b in &g.backups {
            println!("  {}", term::safe(&b.sentence()));
        }
        for m in g.members.iter().filter(|m| m.error.is_some()) {
            println!(
                "  {} could not be read: {}",
                m.server,
                m.error.as_ref().map(|e| e.message.as_str()).unwrap_or("")
            );
        }
    }
    if json {
        match &group {
            None => print_json(&all)?,
            Some(g) => print_json(&serde_json::json!({ "instances": all, "group": g }))?,
        }
    }
    let uncovered = all.iter().filter(|c| !c.all_covered()).count();
    if uncovered > 0 {
        eprintln!("keysafe: {uncovered} instance(s) keep backups that are not covered");
    }
    let group_gap = group.as_ref().is_some_and(|g| !g.complete());
    if group_gap {
        eprintln!("keysafe: not every kept backup restores on every member of the group");
    }
    Ok(if failed || uncovered > 0 || group_gap {
        1
    } else {
        0
    })
}
