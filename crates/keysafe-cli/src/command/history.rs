use crate::prelude::*;

pub(crate) fn cmd_history(
    verify: bool,
    medium: Option<&std::path::Path>,
    json: bool,
) -> Result<i32, KeysafeError> {
    let path = history_path();
    let h = history::History::open(&path)?;
    let loaded = h.load()?;
    if verify {
        let mut problems = loaded.audit.problems.clone();
        if let Some(m) = medium {
            problems.extend(history::check_medium(&loaded, &h.name(), m)?);
        }
        if json {
            std::println!(
                "{}",
                serde_json::json!({
                    "records": loaded.audit.records,
                    "vouched": loaded.audit.vouched,
                    "key_place": loaded.audit.key_place,
                    "problems": problems,
                })
            );
        } else if problems.is_empty() {
            println!(
                "history intact: {} record(s){}",
                loaded.audit.records,
                if loaded.audit.key_place == history::KeyPlace::LocalFile {
                    " (keyed with history.key: no OS keyring answered)"
                } else {
                    ""
                }
            );
        } else {
            println!(
                "history altered: {} of {} record(s) vouched for",
                loaded.audit.vouched, loaded.audit.records
            );
            for p in &problems {
                println!("  {}", p.explain());
            }
        }
        return Ok(i32::from(!problems.is_empty()));
    }
    for p in &loaded.audit.problems {
        eprintln!("warning: history: {}", p.explain());
    }
    let entries = loaded.vouched();
    if json {
        for e in &entries {
            std::println!("{}", serde_json::to_string(&e.record).expect("json"));
        }
        return Ok(0);
    }
    for e in &entries {
        if e.record["action"] == "restore" {
            let r = &e.record["restore"];
            let at = e.record["at"].as_str().unwrap_or("");
            println!(
                "{}  {:<7} restore of the {} on {}  {}",
                at.get(..16).unwrap_or(at).replace('T', " ") + " UTC",
                if e.record["succeeded"] == true {
                    "ok"
                } else {
                    "FAILED"
                },
                r["key"].as_str().unwrap_or("?"),
                r["target_server"].as_str().unwrap_or("?"),
                e.record["operator"].as_str().unwrap_or(""),
            );
            continue;
        }
        let Some(r) = e.run() else { continue };
        let mut servers: Vec<&str> = r.keys.iter().map(|k| k.server.as_str()).collect();
        servers.dedup();
        println!(
            "{}  {:<7} {} of {} verified  {:<12} {}\n    {}",
            r.finished.format("%Y-%m-%d %H:%M UTC"),
            if r.succeeded { "ok" } else { "FAILED" },
            r.summary.keys_verified,
            keysafe_core::report::count(r.summary.keys_requested as u64, "key"),
            r.operator,
            servers.join(", "),
            r.report.with_extension("html").display()
        );
    }
    Ok(0)
}
