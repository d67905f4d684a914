use crate::prelude::*;

pub(crate) async fn cmd_selftest(
    conn: &ConnArgs,
    server_dir: Option<String>,
    server_dir_local: Option<PathBuf>,
    work_dir: Option<PathBuf>,
    checks: &[String],
    throwaway_instance: bool,
    json: bool,
) -> Result<i32, KeysafeError> {
    use keysafe_core::selftest::{self, Status};
    let targets = connect_options(conn)?;
    let (target, second) = match targets.as_slice() {
        [t] => (t, None),
        [t, second] => (t, Some(second.clone())),
        _ => {
            return Err(KeysafeError::new(
                ErrorCode::InvalidInput,
                "The self-test runs against one instance (and a second one for copy-certificate): give one or two --server (or --profile).",
            ))
        }
    };
    let work = match work_dir {
        Some(w) => w,
        None => keysafe_home()
            .join("selftest")
            .join(chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ").to_string()),
    };
    let st = selftest::SelfTest {
        target: target.clone(),
        server_dir,
        server_dir_local,
        work: work.clone(),
        may_change_master: throwaway_instance,
        second,
    };
    if !json {
        println!(
            "Keysafe self-test against {} (work folder {})",
            target.server,
            work.display()
        );
    }
    let outcomes = selftest::run(&st, checks, &|o| {
        if !json {
            let mut lines = o.detail.lines();
            println!(
                "{} {}: {}",
                o.status.word(),
                o.check,
                term::safe(lines.next().unwrap_or(""))
            );
            for l in lines {
                println!("    {}", term::safe(l.trim_start()));
            }
        }
    })
    .await;
    let count = |s: Status| outcomes.iter().filter(|o| o.status == s).count();
    let failed = count(Status::Failed);
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&outcomes).expect("outcomes serialize")
        );
    } else {
        println!(
            "{}: {} passed, {} failed, {} skipped",
            keysafe_core::report::count(outcomes.len() as u64, "check"),
            count(Status::Passed),
            failed,
            count(Status::Skipped)
        );
    }
    Ok(if failed > 0 { 1 } else { 0 })
}
