use crate::prelude::*;

pub(crate) fn cmd_check_medium(report: &std::path::Path, json: bool) -> Result<i32, KeysafeError> {
    use keysafe_core::recovery::{check_medium, CopyState};
    let check = check_medium(report)?;
    if json {
        print_json(&check)?;
    } else {
        println!("{} (run {})", check.report.display(), check.run_id);
        for c in &check.copies {
            let state = match c.state {
                CopyState::Matches => "matches",
                CopyState::Differs => "DIFFERS",
                CopyState::Missing => "MISSING",
                CopyState::Refused => "REFUSED",
            };
            println!(
                "  {state:<8} [{}] {}: {}",
                c.server,
                c.key,
                c.path.display()
            );
            if let Some(why) = &c.refused {
                println!("           not read: {why}");
            }
            if c.state == CopyState::Differs {
                println!(
                    "           SHA-256 {} where the server's was {}",
                    c.actual_sha256, c.expected_sha256
                );
            }
        }
    }
    let bad = check
        .copies
        .iter()
        .filter(|c| c.state != CopyState::Matches)
        .count();
    if check.copies.is_empty() {
        eprintln!("keysafe: the report lists no verified copy to check.");
    } else if bad > 0 {
        eprintln!(
            "keysafe: {bad} of {} copies do not match their report: do not restore from them; use another copy of the medium.",
            check.copies.len()
        );
    } else {
        eprintln!("{} copies match their report.", check.copies.len());
    }
    Ok(if check.all_match() { 0 } else { 1 })
}
