//! One way to log for every Keysafe program: a daily file in the given folder, kept for two
//! weeks, the level from KEYSAFE_LOG (default info). Never a secret: passwords live in types
//! that print `<redacted>`, and no command logs its arguments.

/// How many daily log files are kept.
pub const KEEP_DAYS: usize = 14;

/// Starts logging to `<dir>/<name>.YYYY-MM-DD.log`; does nothing if the folder cannot be
/// used (a program must not fail for its log) or logging is already set up.
pub fn init(dir: &std::path::Path, name: &str) {
    let filter = std::env::var("KEYSAFE_LOG").unwrap_or_else(|_| "info".into());
    // The appender lists the folder to prune old files: on a fresh KEYSAFE_HOME it must
    // exist first, or it prints an error to the terminal. Private to this account on Unix.
    if crate::private_fs::create_dir_all(dir).is_err() {
        return;
    }
    let Ok(appender) = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix(name)
        .filename_suffix("log")
        .max_log_files(KEEP_DAYS)
        .build(dir)
    else {
        return;
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&filter).unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::sync::Mutex::new(appender))
        .with_ansi(false)
        .try_init();
}

/// Today's log file for `name` in `dir`, as `init` names it.
pub fn today(dir: &std::path::Path, name: &str) -> std::path::PathBuf {
    dir.join(format!(
        "{name}.{}.log",
        chrono::Utc::now().format("%Y-%m-%d")
    ))
}
