//! The IPC surface: one declared list. Each entry becomes a `#[tauri::command]`, is
//! registered in the handler, and gets a typed TypeScript function in the generated
//! bindings, so a command the UI calls cannot be missing and its types cannot drift.

use crate::desk;
use crate::error::{IpcResult, KeysafeError};
use crate::state::AppState;
use crate::types::*;
use keysafe_core::rotation::Rotation;
use ts_rs::TypeVisitor;

macro_rules! ipc {
    ($(
        $(#[doc = $doc:literal])*
        fn $name:ident($state:ident $(, $arg:ident: $ty:ty)* $(; channel $ch:ident: $cty:ty)?) -> $ret:ty { $($body:tt)* }
    )*) => {
        $(
            $(#[doc = $doc])*
            #[tauri::command]
            pub async fn $name(
                $state: tauri::State<'_, AppState>,
                $($arg: $ty,)*
                $($ch: tauri::ipc::Channel<$cty>,)?
            ) -> IpcResult<$ret> {
                let $state: &AppState = &$state;
                $($body)*
            }
        )*

        pub fn handler() -> impl Fn(tauri::ipc::Invoke) -> bool + Send + Sync + 'static {
            tauri::generate_handler![$($name),*]
        }

        /// Every type a command takes, returns or streams, and every type those use, declared
        /// for TypeScript: found by walking the commands' signatures, so no list can drift.
        pub fn typescript_types() -> String {
            let mut c = Collect::default();
            $(
                $(c.visit::<$ty>();)*
                c.visit::<$ret>();
                c.visit::<KeysafeError>();
                $(c.visit::<$cty>();)?
            )*
            c.decls.sort();
            c.decls.iter().map(|d| format!("export {d}\n\n")).collect()
        }

        /// `commands.ts`: one typed function per command.
        #[allow(unused_mut)]
        pub fn typescript_commands() -> String {
            let mut out = String::new();
            $(
                let mut params: Vec<String> = vec![$(format!("{}: {}", camel(stringify!($arg)), <$ty as ts_rs::TS>::name())),*];
                let mut names: Vec<String> = vec![$(camel(stringify!($arg))),*];
                $(
                    params.push(format!("{}: Channel<{}>", camel(stringify!($ch)), <$cty as ts_rs::TS>::name()));
                    names.push(camel(stringify!($ch)));
                )?
                let docs: Vec<&str> = vec![$($doc.trim()),*];
                if !docs.is_empty() {
                    out.push_str(&format!("/** {} */\n", docs.join(" ")));
                }
                out.push_str(&format!(
                    "export function {}({}): Promise<{}> {{\n  return invoke('{}', {{ {} }});\n}}\n\n",
                    camel(stringify!($name)),
                    params.join(", "),
                    <$ret as ts_rs::TS>::name(),
                    stringify!($name),
                    names.join(", "),
                ));
            )*
            out
        }
    };
}

/// Tauri maps snake_case argument names to camelCase on the JavaScript side.
fn camel(s: &str) -> String {
    let mut out = String::new();
    let mut up = false;
    for c in s.chars() {
        if c == '_' {
            up = true;
        } else if up {
            out.extend(c.to_uppercase());
            up = false;
        } else {
            out.push(c);
        }
    }
    out
}

ipc! {
    /// Version, demo mode, recent servers.
    fn app_info(state) -> AppInfo {
        // The UI asks right after Object Explorer is first drawn: the start-up benchmark's
        // finish line (scripts/bench-app.sh).
        if std::env::var_os("KEYSAFE_BENCH_READY").is_some() {
            println!("ready");
        }
        Ok(desk::connect::app_info(state))
    }

    /// Connect dialog: opens a connection and adds it to Object Explorer.
    fn connect(state, args: ConnectArgs) -> ConnectionInfo { desk::connect::connect(state, args).await }

    fn disconnect(state, id: u32) -> bool { Ok(desk::connect::disconnect(state, id)) }

    /// Object Explorer's tree for a connection (F5/Refresh runs it again).
    fn explorer(state, id: u32) -> ServerTree { desk::explorer::explorer(state, id).await }

    /// The key's backup statement, passwords masked.
    fn script_key(state, id: u32, key: KeyRef) -> String { desk::explorer::script(state, id, key).await }

    fn check_password(state, password: Secret) -> PasswordCheck {
        let _ = state;
        Ok(desk::backup::check_password(&password))
    }

    fn generate_password(state) -> String {
        let _ = state;
        Ok(desk::backup::generate_password())
    }

    /// This machine's volumes, removable ones first.
    fn volumes(state) -> Vec<Volume> {
        let _ = state;
        let mut v = desk::backup::volumes();
        v.sort_by_key(|v| !v.removable);
        Ok(v)
    }

    /// The native folder chooser; null when cancelled.
    fn choose_folder(state, title: String) -> Option<String> {
        let _ = state;
        Ok(crate::dialogs::pick_folder(state, &title).await.map(|p| p.display().to_string()))
    }

    fn plan_backup(state, request: BackupRequest) -> BackupPlan { desk::backup::plan(state, &request).await }

    /// The first custodian's page of the split the request asks for, a placeholder where the
    /// share will be (nothing secret exists yet).
    fn split_preview(state, request: BackupRequest) -> String { desk::backup::split_preview(state, &request) }

    /// One of this session's custodian pages in a window of its own, with the print dialog.
    fn print_share_page(state, path: String) -> () { desk::backup::print_share_page(state, &path) }

    /// Runs the backup; progress arrives on the channel as it happens.
    fn run_backup(state, request: BackupRequest, secrets: BackupSecrets; channel events: Progress) -> RunSummary {
        let emit = move |e: Progress| {
            let _ = events.send(e);
        };
        desk::backup::run(state, request, secrets, &emit).await
    }

    /// Saves the run's report with the native save dialog; null when cancelled.
    fn export_report(state, run_id: String, format: ReportFormat) -> Option<String> {
        let (ext, filter) = match format {
            ReportFormat::Html => ("html", ("HTML report", &["html"][..])),
            ReportFormat::Json => ("json", ("JSON report", &["json"][..])),
            ReportFormat::Csv => ("csv", ("CSV report", &["csv"][..])),
        };
        let name = format!("keysafe-report-{}.{ext}", run_id.get(..8).unwrap_or(&run_id));
        match crate::dialogs::save_file(state, "Export report", &name, filter).await {
            None => Ok(None),
            Some(p) => desk::backup::export_report(state, &run_id, format, &p).map(Some),
        }
    }

    fn report_html(state, run_id: String) -> String { desk::history::report_html(state, &run_id) }

    /// F5 in the query pane: runs the script (GO separates batches).
    fn run_query(state, id: u32, sql: String) -> QueryOutcome { desk::query::run_query(state, id, sql).await }

    /// Alt+Break.
    fn cancel_query(state, id: u32) -> bool { desk::query::cancel_query(state, id) }

    fn list_profiles(state) -> Vec<ProfileView> { desk::profiles::list(state) }

    fn save_profile(state, profile: ProfileView, password: Option<Secret>) -> Vec<ProfileView> { desk::profiles::save(state, profile, password) }

    fn delete_profile(state, name: String) -> Vec<ProfileView> { desk::profiles::delete(state, &name) }

    /// Exports profiles (no passwords) with the native save dialog; the count, or null.
    fn export_profiles(state) -> Option<u32> {
        match crate::dialogs::save_file(state, "Export profiles", "keysafe-profiles.json", ("Keysafe profiles", &["json"])).await {
            None => Ok(None),
            Some(p) => desk::profiles::export(state, &p).map(Some),
        }
    }

    fn import_profiles(state) -> Vec<ProfileView> {
        match crate::dialogs::open_file(state, "Import profiles", ("Keysafe profiles", &["json"])).await {
            None => desk::profiles::list(state),
            Some(p) => desk::profiles::import(state, &p),
        }
    }

    fn history(state) -> HistoryView { desk::history::history(state).await }

    /// Key parity across the request's members: each TDE or backup-encryption certificate
    /// and what each member holds.
    fn check_parity(state, request: ParityRequest) -> ParityDone { desk::parity::check(state, &request).await }

    /// Copies each missing certificate where it is missing (proven by thumbprint), then
    /// checks again.
    fn copy_missing_certificates(state, request: ParityRequest, new_master_key: Option<Secret>) -> ParityDone {
        desk::parity::copy_missing(state, &request, new_master_key).await
    }

    /// The saved groups of profiles.
    fn list_groups(state) -> Vec<Group> { desk::parity::groups(state) }

    /// The steps of a certificate rotation, in order, as the engine runs them.
    fn rotation_steps(state) -> Vec<String> {
        let _ = state;
        Ok(keysafe_core::rotation::STEPS.iter().map(|s| s.to_string()).collect())
    }

    /// Rotates a TDE certificate across the members: the new one on the medium and every
    /// member before any database uses it. Each step's name arrives on the channel as it
    /// starts.
    fn rotate_certificate(state, request: RotateRequest, secrets: RotateSecrets; channel events: String) -> Rotation {
        let emit = move |s: &str| {
            let _ = events.send(s.to_string());
        };
        desk::rotation::rotate(state, request, secrets, &emit).await
    }

    /// The evidence pack (STIG, PCI DSS or CIS) from the vouched history since a date, of
    /// every instance or one, kept in KEYSAFE_HOME/evidence and shown.
    fn evidence_pack(state, standard: Standard, since: String, instance: Option<String>) -> EvidenceView {
        desk::history::evidence(state, standard, &since, instance.as_deref())
    }

    /// The unattended runs (keysafe schedule add), each with its last run and verdict:
    /// a failed or missed one is what the app shows when it opens.
    fn schedules(state) -> Vec<ScheduleState> {
        Ok(keysafe_core::schedule::Store::new(&state.home).states(chrono::Local::now()))
    }

    /// The native file chooser for a Keysafe report; null when cancelled.
    fn choose_report(state) -> Option<String> {
        Ok(crate::dialogs::open_file(state, "Restore from a Keysafe report", ("Keysafe report", &["json"])).await.map(|p| p.display().to_string()))
    }

    /// Every verified copy a report lists, hashed on the medium against the report.
    fn check_medium(state, path: String) -> MediumCheck {
        let _ = state;
        desk::recovery::check_medium(&path)
    }

    /// Restores a key from the medium on connection `id`; progress arrives on the channel.
    fn run_restore(state, id: u32, args: RestoreArgs, secrets: RestoreSecretsView; channel events: RestoreProgress) -> RestoreDone {
        let emit = move |e: RestoreProgress| {
            let _ = events.send(e);
        };
        desk::recovery::run(state, id, args, secrets, &emit).await
    }

    /// Recoverability: can every backup this instance keeps be restored?
    fn coverage(state, id: u32, retention_days: u32) -> Coverage { desk::recovery::coverage(state, id, retention_days).await }

    /// Writes the coverage report (HTML, JSON, CSV) to a chosen folder; the HTML's path, or null.
    fn export_coverage(state, id: u32, retention_days: u32) -> Option<String> {
        match crate::dialogs::pick_folder(state, "Export coverage report to").await {
            None => Ok(None),
            Some(dir) => desk::recovery::export_coverage(state, id, retention_days, &dir).await.map(Some),
        }
    }
}

/// Collects the declarations of the types it visits and of everything they depend on.
#[derive(Default)]
struct Collect {
    seen: std::collections::HashSet<std::any::TypeId>,
    decls: Vec<String>,
}

impl ts_rs::TypeVisitor for Collect {
    fn visit<T: ts_rs::TS + 'static + ?Sized>(&mut self) {
        if !self.seen.insert(std::any::TypeId::of::<T>()) {
            return;
        }
        // Declared types (derived) have an output path; containers (Vec, Option, maps) and
        // primitives do not: their parameters are what to declare.
        if T::output_path().is_some() {
            self.decls.push(T::decl());
        }
        T::visit_generics(self);
        T::visit_dependencies(self);
    }
}

/// The whole generated file, `ui/src/lib/bindings.ts`.
pub fn typescript() -> String {
    format!(
        "// Generated from src-tauri (types.rs, commands.rs). Do not edit: run\n// `cargo run --bin keysafe-app -- --write-bindings` after changing the Rust side.\n\nimport {{ invoke, Channel }} from '@tauri-apps/api/core';\n\nexport type Secret = string;\n\n{}{}",
        typescript_types(),
        typescript_commands()
    )
}

impl ts_rs::TS for Secret {
    type WithoutGenerics = Secret;
    type OptionInnerType = Secret;
    fn name() -> String {
        "Secret".into()
    }
    fn inline() -> String {
        "string".into()
    }
    fn decl() -> String {
        "type Secret = string;".into()
    }
    fn decl_concrete() -> String {
        Self::decl()
    }
    fn inline_flattened() -> String {
        "string".into()
    }
}
