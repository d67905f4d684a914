//! Keysafe's desktop shell: thin commands over keysafe-core, typed progress on channels,
//! the app's state. It never builds T-SQL; the engine does.
//!
//! Command line: `keysafe-app [--demo]`, plus `--write-bindings PATH` / `--check-bindings
//! PATH` for the generated TypeScript (used by the build and CI, no window opened).

pub mod commands;
pub mod demo;
pub mod desk;
mod dialogs;
pub mod error;
pub mod state;
pub mod types;

use state::AppState;
use tauri::Manager;

/// Keysafe: back up SQL Server's encryption hierarchy, point and click.
#[derive(clap::Parser)]
#[command(name = "keysafe-app", version)]
struct Args {
    /// Start an embedded emulated SQL Server with a Demo profile.
    #[arg(long)]
    demo: bool,
    /// Write the generated TypeScript bindings to PATH and exit (no window).
    #[arg(long, value_name = "PATH", hide = true)]
    write_bindings: Option<String>,
    /// Exit 1 if PATH differs from the generated TypeScript bindings (no window).
    #[arg(long, value_name = "PATH", hide = true)]
    check_bindings: Option<String>,
}

fn init_logging(home: &std::path::Path) {
    keysafe_core::logging::init(home, "keysafe-app");
}

/// Runs the app; returns the process exit code.
pub fn run() -> i32 {
    let args = match <Args as clap::Parser>::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    if let Some(path) = &args.write_bindings {
        return match std::fs::write(path, commands::typescript()) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("cannot write {path}: {e}");
                1
            }
        };
    }
    if let Some(path) = &args.check_bindings {
        let current = std::fs::read_to_string(path).unwrap_or_default();
        if current == commands::typescript() {
            return 0;
        }
        eprintln!(
            "{path} is out of date: run `cargo run --bin keysafe-app -- --write-bindings {path}`"
        );
        return 1;
    }
    let home = keysafe_core::profiles::home();
    init_logging(&home);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    tauri::async_runtime::set(runtime.handle().clone());
    let demo = if args.demo {
        match runtime.block_on(demo::Demo::start(&home.join("demo-instance"))) {
            Ok(d) => Some(d),
            Err(e) => {
                eprintln!("keysafe-app: the demo instance could not start: {e}");
                return 1;
            }
        }
    } else {
        None
    };
    let state = AppState::new(home, Box::new(keysafe_core::profiles::OsKeyring), demo);
    let app = tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .manage(state)
        .invoke_handler(commands::handler())
        .setup(|app| {
            let _ = app.state::<AppState>().app.set(app.handle().clone());
            if let Some(w) = app.get_webview_window("main") {
                let _ = w.set_title("Keysafe");
            }
            Ok(())
        })
        .build({
            // Recompiled whenever the built UI changes (see build.rs).
            const _UI: &str = env!("KEYSAFE_UI_STAMP");
            tauri::generate_context!()
        });
    match app {
        Ok(app) => {
            app.run(|_, _| {});
            0
        }
        Err(e) => {
            eprintln!("keysafe-app: {e}");
            1
        }
    }
}
