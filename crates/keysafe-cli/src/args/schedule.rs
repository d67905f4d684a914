use clap::{Subcommand, ValueEnum};

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(crate) enum Cadence {
    Daily,
    Weekly,
}

#[derive(Subcommand)]
pub(crate) enum ScheduleAction {
    /// Schedule a keysafe command (after --): a Task Scheduler task on Windows ("run whether
    /// the user is logged on or not"; schtasks asks for the account's password), a systemd
    /// user timer elsewhere, or (--sql-agent) a SQL Server Agent job script printed to run.
    /// Its secrets come from the keyring of the account it runs as, never from the command.
    Add {
        name: String,
        #[arg(long, value_enum, default_value = "daily")]
        every: Cadence,
        /// weekly: the day (mon, tue, ...).
        #[arg(long, required_if_eq("every", "weekly"))]
        day: Option<chrono::Weekday>,
        /// Local time of day, HH:MM.
        #[arg(long, default_value = "02:30")]
        at: String,
        /// Windows: the account the task runs as (DOMAIN\\user; default: you).
        #[arg(long)]
        account: Option<String>,
        /// Print a SQL Server Agent job (CmdExec step) instead of registering with the OS.
        #[arg(long)]
        sql_agent: bool,
        /// Write the task or units into Keysafe's home and say how to register them.
        #[arg(long)]
        no_register: bool,
        /// The keysafe command: backup changed, drill, coverage, status, check-medium.
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
    /// The schedules, their last run, and any run that failed or was missed.
    List {
        #[arg(long)]
        json: bool,
    },
    Remove {
        name: String,
    },
    /// What the task, timer or job runs: the scheduled command, its result recorded.
    Run {
        name: String,
    },
}

#[derive(Subcommand)]
pub(crate) enum SecretAction {
    /// Keep a secret (a backup password) in this account's OS keyring under NAME, for
    /// --password-keyring NAME: typed without echo, or from --from-env VAR.
    Set {
        name: String,
        #[arg(long, value_name = "VAR")]
        from_env: Option<String>,
    },
    Delete {
        name: String,
    },
}
