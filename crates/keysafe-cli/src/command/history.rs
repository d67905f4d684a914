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
    for r in history::rows(&entries) {
        let finished = chrono::DateTime::parse_from_rfc3339(&r.finished)
            .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or(r.finished);
        println!(
            "{finished}  {:<9} {}  {:<12} {}",
            r.verdict,
            r.what,
            r.operator,
            r.servers.join(", ")
        );
        if let Some(report) = r.report {
            println!(
                "    {}",
                std::path::Path::new(&report)
                    .with_extension("html")
                    .display()
            );
        }
    }
    Ok(0)
}
