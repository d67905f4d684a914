//! Unattended runs, scheduled the way each platform does it: a Task Scheduler task (its XML,
//! "run whether the user is logged on or not", so the account's Credential Manager holds the
//! secrets), a systemd timer on Linux, or a SQL Server Agent job (a CmdExec step) for those
//! who prefer it. Every form runs `keysafe schedule run NAME`: the command itself is kept in
//! Keysafe's home (`schedules.json`, no secret in it), and the run leaves its result beside
//! it, so a failed or missed run is shown the next time anyone looks.

use crate::error::{ErrorCode, KeysafeError, Result};
use chrono::{DateTime, Datelike, Duration, NaiveTime, Utc, Weekday};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// How often.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case", tag = "every")]
pub enum Every {
    Daily,
    Weekly {
        #[cfg_attr(feature = "ts", ts(type = "string"))]
        day: Weekday,
    },
}

/// One scheduled command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Schedule {
    /// Letters, digits, '-' and '_': it names the task, the units and the job.
    pub name: String,
    #[serde(flatten)]
    pub every: Every,
    /// Local time of day, HH:MM.
    pub at: String,
    /// keysafe's arguments (`backup changed --profile prod ...`): never a secret.
    pub args: Vec<String>,
    /// The Windows account the task runs as (DOMAIN\user); its Credential Manager holds the
    /// secrets. None: the account that added it.
    pub account: Option<String>,
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub created: DateTime<Utc>,
}

/// What the last run of a schedule did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LastRun {
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub started: DateTime<Utc>,
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub finished: DateTime<Utc>,
    /// keysafe's exit code: 0 success, 1 a failure, 2 a usage error.
    pub exit_code: i32,
    /// The first line of what went wrong, when something did.
    pub error: Option<String>,
}

/// A schedule's state as every front end shows it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ScheduleState {
    pub schedule: Schedule,
    pub last_run: Option<LastRun>,
    /// The run that should have happened last, when none is recorded since: missed.
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub missed_since: Option<DateTime<Utc>>,
    /// "ok", "failed", "missed", "never run".
    pub verdict: String,
    /// When it runs, in words: "daily at 02:30", "every Sun at 03:15".
    pub when: String,
}

fn bad(m: impl Into<String>) -> KeysafeError {
    KeysafeError::new(ErrorCode::InvalidInput, m)
}

/// Flags whose secret would come from an environment variable or a terminal, which a
/// scheduled run has neither of.
const UNATTENDED_REFUSES: &[&str] = &[
    "--password-env",
    "--login-password-env",
    "--share-env",
    "--shares",
    "--split",
    "--master-key-password-env",
    "--certificate-password-env",
    "--create-master-key-password-env",
];

/// The commands that make sense unattended.
const SCHEDULABLE: &[&[&str]] = &[
    &["backup", "changed"],
    &["backup", "all"],
    &["drill"],
    &["coverage"],
    &["status"],
    &["check-medium"],
];

impl Schedule {
    /// Checks a schedule before anything is written or registered.
    pub fn new(
        name: &str,
        every: Every,
        at: &str,
        args: Vec<String>,
        account: Option<String>,
    ) -> Result<Schedule> {
        if name.is_empty()
            || name.len() > 64
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(bad(format!(
                "'{name}' cannot name a schedule: use 1 to 64 letters, digits, '-' or '_'."
            )));
        }
        NaiveTime::parse_from_str(at, "%H:%M")
            .map_err(|_| bad(format!("'{at}' is not a time of day (HH:MM, 24-hour).")))?;
        if !SCHEDULABLE
            .iter()
            .any(|c| args.len() >= c.len() && args.iter().zip(c.iter()).all(|(a, b)| a == b))
        {
            return Err(bad(format!(
                "'{}' is not something Keysafe runs unattended: schedule one of {}.",
                args.join(" "),
                SCHEDULABLE
                    .iter()
                    .map(|c| c.join(" "))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        if let Some(f) = args.iter().find(|a| {
            UNATTENDED_REFUSES
                .iter()
                .any(|r| a.as_str() == *r || a.starts_with(&format!("{r}=")))
        }) {
            return Err(bad(format!("{f} cannot work unattended: a scheduled run has no terminal and no environment of yours."))
                .next("Keep the secrets in the keyring of the account the schedule runs as: a profile that remembers its password (--profile), and the backup password with keysafe secret set NAME, then --password-keyring NAME."));
        }
        if args.iter().any(|a| a == "--login") && !args.iter().any(|a| a == "--integrated") {
            return Err(bad("--login needs its password, which a scheduled run can only get from a saved profile.")
                .next("Save the connection as a profile that remembers its password (keysafe profile add NAME ... --remember), and schedule --profile NAME."));
        }
        if let Some(a) = &account {
            if a.is_empty() || a.chars().any(|c| c.is_control() || c == '"') {
                return Err(bad(format!("'{a}' is not a Windows account name.")));
            }
        }
        Ok(Schedule {
            name: name.to_string(),
            every,
            at: at.to_string(),
            args,
            account,
            created: Utc::now(),
        })
    }

    /// When it runs, in words: "daily at 02:30", "every Sun at 03:15".
    pub fn when(&self) -> String {
        match self.every {
            Every::Daily => format!("daily at {}", self.at),
            Every::Weekly { day } => format!("every {day} at {}", self.at),
        }
    }

    fn time(&self) -> NaiveTime {
        NaiveTime::parse_from_str(&self.at, "%H:%M").unwrap_or_default()
    }

    /// The arguments the platform runs: `schedule run NAME`.
    pub fn run_args(&self) -> Vec<String> {
        vec!["schedule".into(), "run".into(), self.name.clone()]
    }

    /// The Task Scheduler task (schema version 1.2), for `schtasks /Create /XML`.
    pub fn task_xml(&self, exe: &Path, author: &str) -> String {
        let start = (Utc::now().date_naive())
            .and_time(self.time())
            .format("%Y-%m-%dT%H:%M:%S")
            .to_string();
        let env = crate::report::template("task.xml", include_str!("../templates/task.xml"));
        env.get_template("task.xml")
            .expect("registered")
            .render(minijinja::context! {
                name => self.name,
                description => format!("Keysafe: keysafe {}", self.args.join(" ")),
                author => author,
                start => start,
                weekly => match self.every { Every::Weekly { day } => Some(day_name(day)), Every::Daily => None },
                user => self.account.clone().unwrap_or_else(|| author.to_string()),
                command => exe.display().to_string(),
                arguments => self.run_args().iter().map(|a| windows_quote(a)).collect::<Vec<_>>().join(" "),
            })
            .expect("the task renders")
    }

    /// The systemd service and timer (keysafe-NAME.service, keysafe-NAME.timer).
    pub fn systemd_units(&self, exe: &Path, home: &Path) -> (String, String) {
        let exec: Vec<String> = std::iter::once(exe.display().to_string())
            .chain(self.run_args())
            .map(|a| systemd_quote(&a))
            .collect();
        let service = format!(
            "[Unit]\nDescription=Keysafe scheduled run {name}: keysafe {what}\n\n[Service]\nType=oneshot\nEnvironment={home}\nExecStart={exec}\n",
            name = self.name,
            what = systemd_text(&self.args.join(" ")),
            home = systemd_quote(&format!("KEYSAFE_HOME={}", home.display())),
            exec = exec.join(" "),
        );
        let calendar = match self.every {
            Every::Daily => format!("*-*-* {}:00", self.at),
            Every::Weekly { day } => format!("{} *-*-* {}:00", &day_name(day)[..3], self.at),
        };
        let timer = format!(
            "[Unit]\nDescription=Keysafe schedule {name}\n\n[Timer]\nOnCalendar={calendar}\n# A run missed while the machine was off runs when it is back.\nPersistent=true\nUnit=keysafe-{name}.service\n\n[Install]\nWantedBy=timers.target\n",
            name = self.name
        );
        (service, timer)
    }

    /// A SQL Server Agent job with one CmdExec step, printed for the administrator to run.
    pub fn sql_agent_script(&self, exe: &Path) -> Result<String> {
        let lit = |s: &str, what: &'static str| {
            crate::tsql::literal(s, what, 4000).map_err(KeysafeError::from)
        };
        let command: Vec<String> = std::iter::once(exe.display().to_string())
            .chain(self.run_args())
            .map(|a| windows_quote(&a))
            .collect();
        let hhmmss: i32 = self.at.replace(':', "").parse::<i32>().unwrap_or(0) * 100;
        let (freq_type, freq_interval, recurrence) = match self.every {
            Every::Daily => (4, 1, 0),
            // sp_add_schedule's weekday bits: Sunday 1, Monday 2, ... Saturday 64.
            Every::Weekly { day } => (8, 1 << day.num_days_from_sunday(), 1),
        };
        let job = lit(&format!("Keysafe: {}", self.name), "the job name")?;
        Ok(format!(
            "-- Keysafe schedule {name}: keysafe {what}\n\
             -- A CmdExec step runs as the SQL Server Agent service account (or a proxy): that\n\
             -- account's keyring must hold the secrets the command reads (keysafe secret set).\n\
             USE msdb;\n\
             DECLARE @job_id uniqueidentifier;\n\
             EXEC dbo.sp_add_job @job_name = {job}, @description = {desc}, @job_id = @job_id OUTPUT;\n\
             EXEC dbo.sp_add_jobstep @job_id = @job_id, @step_name = N'keysafe', @subsystem = N'CmdExec', @command = {cmd}, @retry_attempts = 0;\n\
             EXEC dbo.sp_add_schedule @schedule_name = {job}, @freq_type = {freq_type}, @freq_interval = {freq_interval}, @freq_recurrence_factor = {recurrence}, @active_start_time = {hhmmss};\n\
             EXEC dbo.sp_attach_schedule @job_id = @job_id, @schedule_name = {job};\n\
             EXEC dbo.sp_add_jobserver @job_id = @job_id, @server_name = N'(local)';\n",
            name = self.name,
            what = self.args.join(" ").replace(['\r', '\n'], " "),
            desc = lit(&format!("keysafe {}", self.args.join(" ")), "the description")?,
            cmd = lit(&command.join(" "), "the command")?,
        ))
    }

    /// When the run before `now` was due (local time of day, read as UTC on this machine's
    /// clock offset), for telling a missed run.
    pub fn last_due(&self, now: DateTime<chrono::Local>) -> DateTime<Utc> {
        let mut d = now.date_naive();
        loop {
            let due_day = match self.every {
                Every::Daily => true,
                Every::Weekly { day } => d.weekday() == day,
            };
            if due_day {
                if let Some(t) = d
                    .and_time(self.time())
                    .and_local_timezone(chrono::Local)
                    .earliest()
                {
                    if t <= now {
                        return t.with_timezone(&Utc);
                    }
                }
            }
            d -= Duration::days(1);
        }
    }
}

fn day_name(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

/// One argument as Windows programs split their command line (CommandLineToArgvW).
pub fn windows_quote(a: &str) -> String {
    if !a.is_empty() && !a.contains([' ', '\t', '"']) {
        return a.to_string();
    }
    let mut out = String::from("\"");
    let mut backslashes = 0;
    for c in a.chars() {
        match c {
            '\\' => backslashes += 1,
            '"' => {
                out.push_str(&"\\".repeat(backslashes * 2 + 1));
                out.push('"');
                backslashes = 0;
            }
            c => {
                out.push_str(&"\\".repeat(backslashes));
                out.push(c);
                backslashes = 0;
            }
        }
    }
    out.push_str(&"\\".repeat(backslashes * 2));
    out.push('"');
    out
}

/// Text in a unit file: no specifier ('%') or line break can be slipped in.
fn systemd_text(s: &str) -> String {
    s.replace('%', "%%").replace(['\r', '\n'], " ")
}

/// One word of a unit's command line or assignment, double-quoted.
fn systemd_quote(s: &str) -> String {
    let escaped = systemd_text(s)
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('$', "$$");
    format!("\"{escaped}\"")
}

/// The schedules and their last runs, in Keysafe's home.
pub struct Store {
    dir: PathBuf,
}

impl Store {
    pub fn new(home: &Path) -> Store {
        Store {
            dir: home.join("schedules"),
        }
    }

    fn index(&self) -> PathBuf {
        self.dir.join("schedules.json")
    }

    pub fn list(&self) -> Vec<Schedule> {
        std::fs::read_to_string(self.index())
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default()
    }

    pub fn get(&self, name: &str) -> Option<Schedule> {
        self.list()
            .into_iter()
            .find(|s| s.name.eq_ignore_ascii_case(name))
    }

    fn save(&self, all: &[Schedule]) -> Result<()> {
        let body = serde_json::to_vec_pretty(all).expect("schedules serialize");
        crate::private_fs::replace(&self.index(), &body).map_err(|e| {
            KeysafeError::new(
                ErrorCode::Io,
                format!("Cannot write {}: {e}", self.index().display()),
            )
        })
    }

    pub fn add(&self, s: &Schedule) -> Result<()> {
        let mut all = self.list();
        if all.iter().any(|x| x.name.eq_ignore_ascii_case(&s.name)) {
            return Err(
                bad(format!("There is already a schedule named {}.", s.name)).next(
                    "Remove it first (keysafe schedule remove NAME), or choose another name.",
                ),
            );
        }
        all.push(s.clone());
        self.save(&all)
    }

    pub fn remove(&self, name: &str) -> Result<Schedule> {
        let mut all = self.list();
        let Some(i) = all.iter().position(|x| x.name.eq_ignore_ascii_case(name)) else {
            return Err(KeysafeError::new(
                ErrorCode::NotFound,
                format!("There is no schedule named {name} (keysafe schedule list)."),
            ));
        };
        let s = all.remove(i);
        self.save(&all)?;
        let _ = std::fs::remove_file(self.last_path(&s.name));
        Ok(s)
    }

    fn last_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.last.json"))
    }

    pub fn record(&self, name: &str, run: &LastRun) -> Result<()> {
        let body = serde_json::to_vec_pretty(run).expect("a run serializes");
        crate::private_fs::replace(&self.last_path(name), &body)
            .map_err(|e| KeysafeError::new(ErrorCode::Io, format!("Cannot record the run: {e}")))
    }

    pub fn last_run(&self, name: &str) -> Option<LastRun> {
        std::fs::read_to_string(self.last_path(name))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
    }

    /// Every schedule with its last run and verdict: a failed last run, or a due run that
    /// left no record (an hour's grace), is what every front end shows first.
    pub fn states(&self, now: DateTime<chrono::Local>) -> Vec<ScheduleState> {
        self.list()
            .into_iter()
            .map(|s| {
                let last_run = self.last_run(&s.name);
                let due = s.last_due(now);
                let overdue = now.with_timezone(&Utc) - due > Duration::hours(1);
                let missed_since = (due > s.created
                    && overdue
                    && last_run
                        .as_ref()
                        .is_none_or(|r| r.started < due - Duration::minutes(5)))
                .then_some(due);
                let verdict = match (&last_run, missed_since) {
                    (_, Some(_)) => "missed",
                    (Some(r), None) if r.exit_code != 0 => "failed",
                    (Some(_), None) => "ok",
                    (None, None) => "never run",
                };
                ScheduleState {
                    when: s.when(),
                    schedule: s,
                    last_run,
                    missed_since,
                    verdict: verdict.into(),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split(' ').map(String::from).collect()
    }

    #[test]
    fn a_schedule_refuses_secrets_it_could_not_have_and_commands_that_are_not_unattended() {
        for a in [
            "backup changed --profile prod --password-env KS",
            "backup changed --server x --login sa",
            "drill D:\\KEYS --share-env A",
        ] {
            assert_eq!(
                Schedule::new("n", Every::Daily, "02:30", args(a), None)
                    .unwrap_err()
                    .code,
                ErrorCode::InvalidInput,
                "{a}"
            );
        }
        assert!(Schedule::new("n", Every::Daily, "02:30", args("restore smk x"), None).is_err());
        assert!(Schedule::new(
            "a b",
            Every::Daily,
            "02:30",
            args("status --profile p"),
            None
        )
        .is_err());
        assert!(
            Schedule::new("n", Every::Daily, "25:00", args("status --profile p"), None).is_err()
        );
        assert!(Schedule::new(
            "nightly",
            Every::Daily,
            "02:30",
            args("backup changed --profile prod --password-keyring prod"),
            None
        )
        .is_ok());
    }

    /// Task Scheduler's schema (learn.microsoft.com, "Task Scheduler Schema Elements"): the
    /// children each element may have, and the values the ones Keysafe sets may take.
    const SCHEMA: &[(&str, &[&str])] = &[
        (
            "Task",
            &[
                "RegistrationInfo",
                "Triggers",
                "Settings",
                "Data",
                "Principals",
                "Actions",
            ],
        ),
        (
            "RegistrationInfo",
            &[
                "URI",
                "SecurityDescriptor",
                "Source",
                "Date",
                "Author",
                "Version",
                "Description",
                "Documentation",
            ],
        ),
        (
            "Triggers",
            &[
                "BootTrigger",
                "RegistrationTrigger",
                "IdleTrigger",
                "TimeTrigger",
                "EventTrigger",
                "LogonTrigger",
                "SessionStateChangeTrigger",
                "CalendarTrigger",
            ],
        ),
        (
            "CalendarTrigger",
            &[
                "StartBoundary",
                "EndBoundary",
                "Enabled",
                "ExecutionTimeLimit",
                "Repetition",
                "RandomDelay",
                "ScheduleByDay",
                "ScheduleByWeek",
                "ScheduleByMonth",
                "ScheduleByMonthDayOfWeek",
            ],
        ),
        ("ScheduleByDay", &["DaysInterval"]),
        ("ScheduleByWeek", &["WeeksInterval", "DaysOfWeek"]),
        (
            "DaysOfWeek",
            &[
                "Monday",
                "Tuesday",
                "Wednesday",
                "Thursday",
                "Friday",
                "Saturday",
                "Sunday",
            ],
        ),
        ("Principals", &["Principal"]),
        (
            "Principal",
            &[
                "UserId",
                "LogonType",
                "GroupId",
                "DisplayName",
                "RunLevel",
                "ProcessTokenSidType",
                "RequiredPrivileges",
            ],
        ),
        (
            "Settings",
            &[
                "AllowStartOnDemand",
                "RestartOnFailure",
                "MultipleInstancesPolicy",
                "DisallowStartIfOnBatteries",
                "StopIfGoingOnBatteries",
                "AllowHardTerminate",
                "StartWhenAvailable",
                "NetworkProfileName",
                "RunOnlyIfNetworkAvailable",
                "WakeToRun",
                "Enabled",
                "Hidden",
                "DeleteExpiredTaskAfter",
                "IdleSettings",
                "NetworkSettings",
                "ExecutionTimeLimit",
                "Priority",
                "RunOnlyIfIdle",
                "UseUnifiedSchedulingEngine",
                "DisallowStartOnRemoteAppSession",
            ],
        ),
        (
            "Actions",
            &["Exec", "ComHandler", "SendEmail", "ShowMessage"],
        ),
        ("Exec", &["Command", "Arguments", "WorkingDirectory"]),
    ];

    /// Checks a task against SCHEMA; returns the Exec's command and arguments.
    pub(crate) fn check_task(xml: &str) -> (String, String) {
        let doc = roxmltree::Document::parse(xml).expect("the task is well-formed XML");
        let ns = "http://schemas.microsoft.com/windows/2004/02/mit/task";
        let root = doc.root_element();
        assert_eq!(
            (root.tag_name().name(), root.tag_name().namespace()),
            ("Task", Some(ns))
        );
        assert_eq!(root.attribute("version"), Some("1.2"));
        for n in root.descendants().filter(|n| n.is_element()) {
            assert_eq!(
                n.tag_name().namespace(),
                Some(ns),
                "{}",
                n.tag_name().name()
            );
            let kids: Vec<&str> = n
                .children()
                .filter(|c| c.is_element())
                .map(|c| c.tag_name().name())
                .collect();
            if kids.is_empty() {
                continue;
            }
            let allowed = SCHEMA
                .iter()
                .find(|(p, _)| *p == n.tag_name().name())
                .unwrap_or_else(|| panic!("{} may not have children", n.tag_name().name()))
                .1;
            for k in &kids {
                assert!(
                    allowed.contains(k),
                    "{k} is not a child of {}",
                    n.tag_name().name()
                );
                assert_eq!(kids.iter().filter(|x| *x == k).count(), 1, "{k} twice");
            }
        }
        let text = |name: &str| {
            root.descendants()
                .find(|n| n.tag_name().name() == name)
                .and_then(|n| n.text())
                .unwrap_or_else(|| panic!("{name} is there"))
                .to_string()
        };
        // Password: "run whether the user is logged on or not", with the account's own
        // Credential Manager (S4U would have none).
        assert_eq!(text("LogonType"), "Password");
        assert!(["LeastPrivilege", "HighestAvailable"].contains(&text("RunLevel").as_str()));
        assert!(["IgnoreNew", "Parallel", "Queue", "StopExisting"]
            .contains(&text("MultipleInstancesPolicy").as_str()));
        chrono::NaiveDateTime::parse_from_str(&text("StartBoundary"), "%Y-%m-%dT%H:%M:%S")
            .expect("StartBoundary is a local date and time");
        assert!(text("ExecutionTimeLimit").starts_with("PT"));
        (text("Command"), text("Arguments"))
    }

    #[test]
    fn the_task_follows_task_schedulers_schema_and_escapes_what_it_quotes() {
        let s = Schedule::new(
            "weekly-drill",
            Every::Weekly { day: Weekday::Sun },
            "03:15",
            args("drill D:\\KEYS --profile <scratch>&co --password-keyring k"),
            Some("CONTOSO\\svc_keysafe".into()),
        )
        .unwrap();
        let xml = s.task_xml(
            Path::new(r"C:\Program Files\Keysafe\keysafe.exe"),
            "CONTOSO\\dba",
        );
        let (command, arguments) = check_task(&xml);
        assert_eq!(command, r"C:\Program Files\Keysafe\keysafe.exe");
        assert_eq!(arguments, "schedule run weekly-drill");
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let find = |n: &str| {
            doc.descendants()
                .find(|x| x.tag_name().name() == n)
                .unwrap()
        };
        assert!(find("Description").text().unwrap().contains("<scratch>&co"));
        assert_eq!(find("UserId").text(), Some("CONTOSO\\svc_keysafe"));
        assert!(find("DaysOfWeek")
            .children()
            .any(|c| c.tag_name().name() == "Sunday"));
        assert!(find("StartBoundary").text().unwrap().ends_with("T03:15:00"));
        let bytes = utf16_file(&xml);
        assert_eq!(&bytes[..2], &[0xFF, 0xFE]);
    }

    #[test]
    fn windows_arguments_round_trip_through_the_documented_rules() {
        assert_eq!(windows_quote("plain"), "plain");
        assert_eq!(windows_quote("two words"), "\"two words\"");
        assert_eq!(
            windows_quote(r"C:\Program Files\x\"),
            r#""C:\Program Files\x\\""#
        );
        assert_eq!(windows_quote(r#"say "hi""#), r#""say \"hi\"""#);
        assert_eq!(windows_quote(""), "\"\"");
    }

    #[test]
    fn unit_words_cannot_carry_specifiers_variables_or_new_lines() {
        assert_eq!(systemd_quote("a%b$c\"d\ne"), "\"a%%b$$c\\\"d e\"");
    }

    #[test]
    fn a_run_that_did_not_happen_when_due_is_missed_and_a_failed_one_is_failed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        // Due three hours ago, whatever the time now.
        let at = (chrono::Local::now() - Duration::hours(3))
            .format("%H:%M")
            .to_string();
        let mut s = Schedule::new(
            "nightly",
            Every::Daily,
            &at,
            args("status --profile p"),
            None,
        )
        .unwrap();
        s.created = Utc::now() - Duration::days(3);
        store.add(&s).unwrap();
        let now = chrono::Local::now();
        assert_eq!(store.states(now)[0].verdict, "missed");
        let due = s.last_due(now);
        store
            .record(
                "nightly",
                &LastRun {
                    started: due,
                    finished: due,
                    exit_code: 1,
                    error: Some("x".into()),
                },
            )
            .unwrap();
        assert_eq!(store.states(now)[0].verdict, "failed");
        store
            .record(
                "nightly",
                &LastRun {
                    started: due,
                    finished: due,
                    exit_code: 0,
                    error: None,
                },
            )
            .unwrap();
        assert_eq!(store.states(now)[0].verdict, "ok");
        assert!(store.add(&s).is_err(), "a second schedule of the same name");
        store.remove("NIGHTLY").unwrap();
        assert!(store.list().is_empty());
    }
}

/// How a schedule was put in place.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Registration {
    /// The files written (the task's XML; the service and timer units).
    #[cfg_attr(feature = "ts", ts(type = "string[]"))]
    pub files: Vec<PathBuf>,
    /// The commands run to register it (none with `register: false`).
    pub ran: Vec<String>,
    /// What remains to do by hand, if anything.
    pub next: Option<String>,
}

/// How long a platform tool (schtasks, systemctl, systemd-analyze) may take: schtasks asks
/// for the account's password on the console, so this is long enough to type it.
const TOOL_LIMIT: std::time::Duration = std::time::Duration::from_secs(120);

fn run_tool(program: &str, args: &[&str]) -> Result<String> {
    let shown = format!("{program} {}", args.join(" "));
    let out = crate::host::output_within(
        std::process::Command::new(program)
            .args(args)
            .stdin(std::process::Stdio::inherit()),
        TOOL_LIMIT,
    )
    .map_err(|e| KeysafeError::new(ErrorCode::Unsupported, format!("Cannot run {program}: {e}")))?;
    let Some(status) = out.status else {
        return Err(KeysafeError::new(
            ErrorCode::Unsupported,
            format!(
                "{shown} did not finish within {} s and was stopped.",
                TOOL_LIMIT.as_secs()
            ),
        )
        .next("Run it yourself to see what it waits for, then try again."));
    };
    if !status.success() {
        let said = String::from_utf8_lossy(&out.stderr).trim().to_string();
        let said = if said.is_empty() {
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        } else {
            said
        };
        return Err(KeysafeError::new(
            ErrorCode::Unsupported,
            format!("{shown} failed ({status}): {said}"),
        ));
    }
    Ok(shown)
}

/// The task's name in Task Scheduler.
pub fn task_name(name: &str) -> String {
    format!("\\Keysafe\\{name}")
}

/// The folder systemd reads the user's units from.
pub fn systemd_user_dir() -> PathBuf {
    std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| directories::BaseDirs::new().map(|d| d.config_dir().to_path_buf()))
        .unwrap_or_else(|| PathBuf::from(".config"))
        .join("systemd")
        .join("user")
}

fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf> {
    crate::private_fs::create_dir_all(dir).map_err(|e| {
        KeysafeError::new(
            ErrorCode::Io,
            format!("Cannot create {}: {e}", dir.display()),
        )
    })?;
    let p = dir.join(name);
    std::fs::write(&p, bytes).map_err(|e| {
        KeysafeError::new(ErrorCode::Io, format!("Cannot write {}: {e}", p.display()))
    })?;
    Ok(p)
}

/// The task XML as Task Scheduler reads it: UTF-16 (little-endian, with its mark), as its
/// declaration says.
pub fn utf16_file(xml: &str) -> Vec<u8> {
    let mut v = vec![0xFF, 0xFE];
    for u in xml.encode_utf16() {
        v.extend_from_slice(&u.to_le_bytes());
    }
    v
}

/// Writes the platform's form of `s` and, with `register`, registers it: on Windows a Task
/// Scheduler task (schtasks asks for the account's password: "run whether the user is logged
/// on or not"); elsewhere a systemd user timer, checked with `systemd-analyze verify` first.
pub fn register(s: &Schedule, exe: &Path, home: &Path, register: bool) -> Result<Registration> {
    let store = Store::new(home);
    if cfg!(windows) {
        let author = crate::connection::windows_identity();
        let xml = s.task_xml(exe, &author);
        let file = write_file(&store.dir, &format!("{}.xml", s.name), &utf16_file(&xml))?;
        let tn = task_name(&s.name);
        let user = s.account.clone().unwrap_or(author);
        let f = file.display().to_string();
        let args = ["/Create", "/TN", &tn, "/XML", &f, "/RU", &user, "/RP", "/F"];
        if !register {
            return Ok(Registration {
                files: vec![file],
                ran: vec![],
                next: Some(format!("schtasks {}", args.join(" "))),
            });
        }
        let ran = run_tool("schtasks", &args)?;
        return Ok(Registration {
            files: vec![file],
            ran: vec![ran],
            next: None,
        });
    }
    let (service, timer) = s.systemd_units(exe, home);
    let dir = if register {
        systemd_user_dir()
    } else {
        store.dir.clone()
    };
    let svc = write_file(
        &dir,
        &format!("keysafe-{}.service", s.name),
        service.as_bytes(),
    )?;
    let tmr = write_file(&dir, &format!("keysafe-{}.timer", s.name), timer.as_bytes())?;
    let files = vec![svc.clone(), tmr.clone()];
    let unit = format!("keysafe-{}.timer", s.name);
    if !register {
        return Ok(Registration {
            files,
            ran: vec![],
            next: Some(format!(
                "copy both files to {} and run: systemctl --user daemon-reload && systemctl --user enable --now {unit}",
                systemd_user_dir().display()
            )),
        });
    }
    let mut ran = vec![run_tool(
        "systemd-analyze",
        &[
            "verify",
            &svc.display().to_string(),
            &tmr.display().to_string(),
        ],
    )
    .inspect_err(|_| {
        let _ = std::fs::remove_file(&svc);
        let _ = std::fs::remove_file(&tmr);
    })?];
    ran.push(run_tool("systemctl", &["--user", "daemon-reload"])?);
    ran.push(run_tool(
        "systemctl",
        &["--user", "enable", "--now", &unit],
    )?);
    Ok(Registration {
        files,
        ran,
        next: None,
    })
}

/// Undoes `register` (what of it exists).
pub fn unregister(name: &str, home: &Path) -> Vec<String> {
    let mut done = Vec::new();
    let store = Store::new(home);
    if cfg!(windows) {
        if let Ok(r) = run_tool("schtasks", &["/Delete", "/TN", &task_name(name), "/F"]) {
            done.push(r);
        }
        let _ = std::fs::remove_file(store.dir.join(format!("{name}.xml")));
        return done;
    }
    let unit = format!("keysafe-{name}.timer");
    if let Ok(r) = run_tool("systemctl", &["--user", "disable", "--now", &unit]) {
        done.push(r);
    }
    for dir in [systemd_user_dir(), store.dir.clone()] {
        for ext in ["service", "timer"] {
            let p = dir.join(format!("keysafe-{name}.{ext}"));
            if std::fs::remove_file(&p).is_ok() {
                done.push(format!("removed {}", p.display()));
            }
        }
    }
    done
}
