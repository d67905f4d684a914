use crate::prelude::*;
use keysafe_core::evidence;

pub(crate) fn cmd_evidence(
    standard: Option<evidence::Standard>,
    since: Option<chrono::NaiveDate>,
    out: Option<&std::path::Path>,
    verify: Option<&std::path::Path>,
    instance: Option<&str>,
    run: Option<&str>,
    json: bool,
) -> Result<i32, KeysafeError> {
    let history = history_path();
    if let Some(pack) = verify {
        let problems = evidence::verify(pack, &history)?;
        if problems.is_empty() {
            println!(
                "{}: every history record it cites is unchanged",
                pack.display()
            );
            return Ok(0);
        }
        for p in &problems {
            eprintln!("{}: {p}", pack.display());
        }
        return Ok(1);
    }
    let standard = standard.expect("clap requires --standard without --verify");
    let since = since
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
        .unwrap_or_else(|| match run {
            // One run: whenever it was.
            Some(_) => chrono::DateTime::UNIX_EPOCH,
            None => chrono::Utc::now() - chrono::Duration::days(365),
        });
    let pack = evidence::build(
        &history,
        standard,
        &evidence::Scope {
            since,
            instance: instance.map(str::to_string),
            run: run.map(str::to_string),
        },
    )?;
    let dir = out
        .map(PathBuf::from)
        .unwrap_or_else(|| keysafe_home().join("evidence"));
    let (json_path, html) = pack.write_files(&dir)?;
    let gaps = pack
        .keys
        .iter()
        .flat_map(|k| k.controls.iter())
        .filter(|c| !c.met)
        .count();
    if json {
        std::println!("{}", pack.to_json());
    } else {
        for p in &pack.history_problems {
            eprintln!("history: {p}");
        }
        for k in &pack.keys {
            println!("{}: {}", k.server, k.label);
            for c in &k.controls {
                if c.met {
                    println!("  {} evidence complete", c.control);
                } else {
                    println!("  {} MISSING: {}", c.control, c.gaps.join("; "));
                }
            }
        }
        if pack.keys.is_empty() {
            println!("No backup run since {}.", since.format("%Y-%m-%d"));
        }
    }
    eprintln!(
        "evidence pack: {} (and {})",
        html.display(),
        json_path.display()
    );
    Ok(if gaps > 0 || pack.keys.is_empty() {
        1
    } else {
        0
    })
}
