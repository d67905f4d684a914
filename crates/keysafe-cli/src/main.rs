//! `keysafe`: the engine from a terminal or a scheduled task. No secret is ever accepted on
//! the command line: passwords come from environment variables or a no-echo prompt.

// Every line printed goes through term::safe: server-chosen names cannot drive the terminal
// or forge lines (term.rs). JSON output keeps its own escaping (std::println!).
macro_rules! println {
    ($($t:tt)*) => { std::println!("{}", $crate::term::safe(&format!($($t)*))) };
}
macro_rules! eprintln {
    ($($t:tt)*) => { std::eprintln!("{}", $crate::term::safe(&format!($($t)*))) };
}
macro_rules! eprint {
    ($($t:tt)*) => { std::eprint!("{}", $crate::term::safe(&format!($($t)*))) };
}

mod term;

mod args;
mod command;
mod input;
mod prelude;

use args::{Cli, Command};
use clap::Parser;
use command::backup::cmd_backup;
use command::check_medium::cmd_check_medium;
use command::copy_certificate::{cmd_copy_certificate, cmd_make_tde_restorable};
use command::coverage::cmd_coverage;
use command::drill::cmd_drill;
use command::evidence::cmd_evidence;
use command::group::cmd_group;
use command::history::cmd_history;
use command::inventory::cmd_inventory;
use command::parity::cmd_parity;
use command::profile::cmd_profile;
use command::repair_master_key::cmd_repair_master_key;
use command::restore::cmd_restore;
use command::rotate::{cmd_drop_certificate, cmd_rotate, RotateArgs};
use command::schedule::{cmd_schedule, cmd_secret};
use command::selftest::cmd_selftest;
use command::status::cmd_status;
use input::{keysafe_home, usage};
use keysafe_core::ErrorCode;

fn init_logging() {
    keysafe_core::logging::init(&keysafe_home().join("logs"), "keysafe");
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    init_logging();
    match dispatch(&cli).await {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            for l in term::error_lines("keysafe: ", &e) {
                eprintln!("{l}");
            }
            std::process::exit(exit_code(&e));
        }
    }
}

/// A usage error is 2, anything else that stopped the command is 1.
pub(crate) fn exit_code(e: &keysafe_core::KeysafeError) -> i32 {
    if e.code == ErrorCode::InvalidInput {
        2
    } else {
        1
    }
}

/// Runs one command line: the terminal's, or a schedule's (`schedule run`).
pub(crate) async fn dispatch(cli: &Cli) -> Result<i32, keysafe_core::KeysafeError> {
    match &cli.command {
        Command::Schedule { action } => Box::pin(cmd_schedule(action)).await,
        Command::Secret { action } => cmd_secret(action),
        Command::Inventory { conn, json } => cmd_inventory(conn, *json).await,
        Command::Status { conn, json } => cmd_status(conn, *json).await,
        Command::Backup(a) => cmd_backup(a).await,
        Command::Profile { action } => cmd_profile(action),
        Command::Group { action } => cmd_group(action),
        Command::DropCertificate {
            conn,
            certificate,
            retention_days,
            yes,
        } => cmd_drop_certificate(conn, certificate, *retention_days, *yes).await,
        Command::RotateCertificate {
            conn,
            certificate,
            new_name,
            subject,
            expiry,
            password_env,
            password_keyring,
            copy_to,
            create_master_key_password_env,
            log_backup,
            log_backup_dir,
            yes,
            json,
        } => {
            cmd_rotate(RotateArgs {
                conn,
                certificate,
                new_name,
                subject: subject.as_deref(),
                expiry: *expiry,
                password_env: password_env.as_deref(),
                password_keyring: password_keyring.as_deref(),
                copy_to,
                new_master_key_env: create_master_key_password_env.as_deref(),
                log_backup: *log_backup,
                log_backup_dir: log_backup_dir.as_deref(),
                yes: *yes,
                json: *json,
            })
            .await
        }
        Command::Parity {
            conn,
            retention_days,
            copy_missing,
            create_master_key_password_env,
            json,
        } => {
            cmd_parity(
                conn,
                *retention_days,
                *copy_missing,
                create_master_key_password_env.as_deref(),
                *json,
            )
            .await
        }
        Command::History {
            verify,
            medium,
            json,
        } => cmd_history(*verify, medium.as_deref(), *json),
        Command::RepairMasterKey {
            conn,
            database,
            master_key_password_env,
            yes,
        } => cmd_repair_master_key(conn, database, master_key_password_env.as_deref(), *yes).await,
        Command::CheckMedium { report, json } => cmd_check_medium(report, *json),
        Command::Evidence {
            standard,
            since,
            out,
            verify,
            instance,
            run,
            json,
        } => cmd_evidence(
            *standard,
            *since,
            out.as_deref(),
            verify.as_deref(),
            instance.as_deref(),
            run.as_deref(),
            *json,
        ),
        Command::Restore(a) => cmd_restore(a).await,
        Command::Drill(a) => cmd_drill(a).await,
        Command::Coverage {
            conn,
            retention_days,
            report,
            json,
        } => cmd_coverage(conn, *retention_days, report.as_deref(), *json).await,
        Command::Selftest {
            conn,
            server_dir,
            server_dir_local,
            work_dir,
            checks,
            throwaway_instance,
            json,
        } => {
            cmd_selftest(
                conn,
                server_dir.clone(),
                server_dir_local.clone(),
                work_dir.clone(),
                checks,
                *throwaway_instance,
                *json,
            )
            .await
        }
        Command::CopyCertificate {
            conn,
            database,
            certificate,
            for_tde_database,
            verify_backup,
            to_database,
            create_master_key_password_env,
            json,
        } => match (for_tde_database, database, certificate) {
            (Some(db), _, _) => {
                cmd_make_tde_restorable(
                    conn,
                    db,
                    verify_backup.as_deref(),
                    create_master_key_password_env.as_deref(),
                    *json,
                )
                .await
            }
            (None, Some(database), Some(certificate)) => {
                cmd_copy_certificate(
                    conn,
                    database,
                    certificate,
                    to_database.as_deref().unwrap_or(database),
                    create_master_key_password_env.as_deref(),
                    *json,
                )
                .await
            }
            _ => Err(usage(
                "copy-certificate needs --database and --certificate, or --for-tde-database",
            )),
        },
    }
}
