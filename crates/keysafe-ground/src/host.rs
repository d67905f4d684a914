//! Facts of the machine Keysafe runs on: who runs it and where.

/// The account running Keysafe, as reports and the history name the operator.
pub fn current_operator() -> String {
    Some(whoami::username())
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// This machine's name, as reports name the workstation.
pub fn hostname() -> String {
    whoami::fallible::hostname()
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// What a child printed, and how it ended: `status` is None when it was still running at its
/// deadline and was killed.
#[derive(Debug)]
pub struct Ran {
    pub status: Option<std::process::ExitStatus>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// Runs `cmd` to its end and returns what it printed, as `Command::output` does, but a child
/// still running after `limit` is killed. A system tool that never answers (Wine's schtasks
/// has been seen to wait forever on its Task Scheduler service) then costs `limit`, not the
/// whole run. Its stdin is the caller's to set; stdout and stderr are read.
pub fn output_within(
    cmd: &mut std::process::Command,
    limit: std::time::Duration,
) -> std::io::Result<Ran> {
    use std::io::Read;
    use std::process::Stdio;
    use std::sync::{Arc, Mutex};
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    // Each pipe is read as it fills, so what a killed child had printed is kept.
    let drain = |r: Option<Box<dyn Read + Send>>| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let into = buf.clone();
        let reader = std::thread::spawn(move || {
            let Some(mut r) = r else { return };
            let mut chunk = [0u8; 8192];
            while let Ok(n @ 1..) = r.read(&mut chunk) {
                into.lock()
                    .expect("not poisoned")
                    .extend_from_slice(&chunk[..n]);
            }
        });
        (buf, reader)
    };
    let out = drain(
        child
            .stdout
            .take()
            .map(|r| Box::new(r) as Box<dyn Read + Send>),
    );
    let err = drain(
        child
            .stderr
            .take()
            .map(|r| Box::new(r) as Box<dyn Read + Send>),
    );
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    // A child that ended has closed its pipes, unless it left a process of its own holding
    // them (a killed shell's sleep): the pipes are read until the deadline, or a second after
    // a kill, then not waited for.
    let grace = std::time::Instant::now() + std::time::Duration::from_secs(1);
    let until = if status.is_some() {
        grace.max(started + limit)
    } else {
        grace
    };
    for (_, reader) in [&out, &err] {
        while !reader.is_finished() && std::time::Instant::now() < until {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
    let take = |b: &Arc<Mutex<Vec<u8>>>| std::mem::take(&mut *b.lock().expect("not poisoned"));
    let (stdout, stderr) = (take(&out.0), take(&err.0));
    Ok(Ran {
        status,
        stdout,
        stderr,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn shell(script: &str) -> std::process::Command {
        let mut c = if cfg!(windows) {
            let mut c = std::process::Command::new("cmd");
            c.args(["/C", script]);
            c
        } else {
            let mut c = std::process::Command::new("sh");
            c.args(["-c", script]);
            c
        };
        c.stdin(std::process::Stdio::null());
        c
    }

    #[test]
    fn a_tool_that_answers_is_read_and_one_that_does_not_is_stopped() {
        let out = output_within(&mut shell("echo said"), Duration::from_secs(60)).unwrap();
        assert!(out.status.expect("it ends").success());
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "said");

        // A child that waits: this test binary running only the sleeper below (no system
        // tool needed, on Windows and under Wine alike); on Unix also a shell whose own
        // child keeps the pipes open after the kill.
        let mut sleeper = std::process::Command::new(std::env::current_exe().unwrap());
        sleeper
            .args([
                "host::tests::a_child_that_only_sleeps",
                "--exact",
                "--ignored",
            ])
            .stdin(std::process::Stdio::null());
        let mut waits = vec![sleeper];
        if cfg!(unix) {
            waits.push(shell("sleep 30"));
        }
        for mut w in waits {
            let started = Instant::now();
            let out = output_within(&mut w, Duration::from_millis(500)).unwrap();
            assert!(out.status.is_none(), "killed at its deadline");
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "{:?}",
                started.elapsed()
            );
        }
    }

    #[test]
    #[ignore = "not a test: the child the deadline test starts and kills"]
    fn a_child_that_only_sleeps() {
        std::thread::sleep(Duration::from_secs(30));
    }
}
