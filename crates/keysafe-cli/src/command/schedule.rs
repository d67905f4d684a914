use crate::prelude::*;
use clap::Parser;
use keysafe_core::schedule::{self, Every, LastRun, Schedule, Store};

pub(crate) async fn cmd_schedule(action: &ScheduleAction) -> Result<i32, KeysafeError> {
    let home = keysafe_home();
    let store = Store::new(&home);
    match action {
        ScheduleAction::Add {
            name,
            every,
            day,
            at,
            account,
            sql_agent,
            no_register,
            command,
        } => {
            let every = match (every, day) {
                (Cadence::Weekly, Some(day)) => Every::Weekly { day: *day },
                (Cadence::Weekly, None) => return Err(usage("--every weekly needs --day")),
                (Cadence::Daily, _) => Every::Daily,
            };
            let s = Schedule::new(name, every, at, command.clone(), account.clone())?;
            // The command must parse as keysafe's: a typo is found now, not at 02:30.
            let mut argv = vec!["keysafe".to_string()];
            argv.extend(s.args.iter().cloned());
            if let Err(e) = crate::args::Cli::try_parse_from(&argv) {
                return Err(usage(format!(
                    "The scheduled command is not one keysafe runs: {}",
                    clap_error(&e)
                )));
            }
            if store.get(&s.name).is_some() {
                return Err(usage(format!(
                    "There is already a schedule named {} (keysafe schedule remove {}).",
                    s.name, s.name
                )));
            }
            let exe = std::env::current_exe().map_err(|e| {
                KeysafeError::new(
                    ErrorCode::Io,
                    format!("Cannot find keysafe's own path: {e}"),
                )
            })?;
            if *sql_agent {
                std::println!("{}", s.sql_agent_script(&exe)?);
                store.add(&s)?;
                eprintln!("Schedule {} saved; run the script above on the instance whose SQL Server Agent should run it.", s.name);
                return Ok(0);
            }
            let reg = schedule::register(&s, &exe, &home, !no_register)?;
            store.add(&s)?;
            for f in &reg.files {
                eprintln!("wrote {}", f.display());
            }
            for r in &reg.ran {
                eprintln!("ran {r}");
            }
            if let Some(n) = &reg.next {
                eprintln!("To register it: {n}");
            }
            println!(
                "Schedule {} added: keysafe {} ({}).",
                s.name,
                s.args.join(" "),
                s.when()
            );
            Ok(0)
        }
        ScheduleAction::List { json } => {
            let states = store.states(chrono::Local::now());
            if *json {
                print_json(&states)?;
            } else if states.is_empty() {
                println!("No schedules (keysafe schedule add).");
            }
            if !*json {
                for st in &states {
                    println!(
                        "{:<10} {:<20} {:<22} keysafe {}",
                        st.verdict.to_uppercase(),
                        st.schedule.name,
                        st.when,
                        st.schedule.args.join(" ")
                    );
                    if let Some(r) = &st.last_run {
                        println!(
                            "           last run {} exit {}{}",
                            r.started
                                .with_timezone(&chrono::Local)
                                .format("%Y-%m-%d %H:%M"),
                            r.exit_code,
                            r.error
                                .as_deref()
                                .map(|e| format!(": {e}"))
                                .unwrap_or_default()
                        );
                    }
                    if let Some(m) = st.missed_since {
                        println!(
                            "           no run recorded since it was due at {}",
                            m.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M")
                        );
                    }
                }
            }
            Ok(
                if states
                    .iter()
                    .any(|s| s.verdict == "failed" || s.verdict == "missed")
                {
                    1
                } else {
                    0
                },
            )
        }
        ScheduleAction::Remove { name } => {
            let s = store.remove(name)?;
            for d in schedule::unregister(&s.name, &home) {
                eprintln!("{d}");
            }
            println!("Schedule {} removed.", s.name);
            Ok(0)
        }
        ScheduleAction::Run { name } => {
            let s = store.get(name).ok_or_else(|| {
                KeysafeError::new(
                    ErrorCode::NotFound,
                    format!("There is no schedule named {name} (keysafe schedule list)."),
                )
            })?;
            let started = chrono::Utc::now();
            let mut argv = vec!["keysafe".to_string()];
            argv.extend(s.args.iter().cloned());
            let r = match crate::args::Cli::try_parse_from(&argv) {
                Ok(cli) => crate::dispatch(&cli).await,
                Err(e) => Err(usage(format!(
                    "The scheduled command no longer parses: {}",
                    clap_error(&e)
                ))),
            };
            let (code, error) = match &r {
                Ok(c) => (*c, None),
                Err(e) => (
                    crate::exit_code(e),
                    Some(term::safe(&e.message).to_string()),
                ),
            };
            store.record(
                &s.name,
                &LastRun {
                    started,
                    finished: chrono::Utc::now(),
                    exit_code: code,
                    error: error.or_else(|| (code != 0).then(|| "the command reported a failure (its report and the history say which)".into())),
                },
            )?;
            r
        }
    }
}

pub(crate) fn cmd_secret(action: &SecretAction) -> Result<i32, KeysafeError> {
    use keysafe_core::profiles::SecretStore;
    match action {
        SecretAction::Set { name, from_env } => {
            if name.is_empty() || name.chars().any(|c| c.is_control()) {
                return Err(usage(format!("'{name}' cannot name a secret.")));
            }
            let p = match from_env {
                Some(v) => secret_from_env(v, "the secret")?,
                None => {
                    let p = prompt(&format!("secret {name}"))?;
                    let again = prompt("again")?;
                    if !keysafe_core::password::confirmed(&p, &again) {
                        return Err(usage("The two do not match."));
                    }
                    p
                }
            };
            OsKeyring.set(&secret_account(name), &p)?;
            println!(
                "Kept {name} in this account's keyring (use it with --password-keyring {name})."
            );
            Ok(0)
        }
        SecretAction::Delete { name } => {
            OsKeyring.delete(&secret_account(name))?;
            println!("Removed {name} from this account's keyring.");
            Ok(0)
        }
    }
}

/// clap's error in one line, without its usage block.
fn clap_error(e: &clap::Error) -> String {
    e.render()
        .to_string()
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
        .trim_start_matches("error: ")
        .to_string()
}
