// Generated from src-tauri (types.rs, commands.rs). Do not edit: run
// `cargo run --bin keysafe-app -- --write-bindings` after changing the Rust side.

import { invoke, Channel } from '@tauri-apps/api/core';

export type Secret = string;

export type AppInfo = { version: string, demo: boolean, home: string, recent_servers: Array<string>, 
/**
 * The account Windows Authentication logs in as (DOMAIN\user on Windows).
 */
windows_user: string, 
/**
 * What restoring a service master key does and what FORCE loses, in the engine's words.
 */
service_master_key_consequences: string, };

export type AuthKind = "windows" | "windows_as" | "sql_server";

export type AvailabilityGroup = { name: string, 
/**
 * The member whose catalog listed it (its address as given).
 */
seen_on: string, 
/**
 * replica_server_name of each replica.
 */
replicas: Array<string>, 
/**
 * Replicas that are not members here: their keys were not compared.
 */
not_in_group: Array<string>, };

export type BackupPlan = { instances: Array<InstancePlan>, };

export type BackupRequest = { connections: Array<number>, 
/**
 * Empty: everything on each connection (SMK, every DMK, every certificate with a key).
 */
keys: Array<KeyRef>, 
/**
 * The medium's folder on this machine.
 */
copy_to: string, 
/**
 * The server-side folder; empty for `<default backup path>\Keysafe`.
 */
server_dir: string, acl_principals: Array<string>, verify_restore: boolean, carrier: string, storage_location: string, notes: string, 
/**
 * Split custody: Keysafe generates the password and splits it among custodians (the
 * password fields are then not used).
 */
split: SplitRequest | null, };

export type BackupSecrets = { password: string, confirm: string, 
/**
 * The passwords the plan said the keys need (`PlannedKey::needs`), each with its key.
 */
key_passwords: Array<KeyPassword>, };

export type BackupState = "never" | "backed_up" | "risk";

export type CertificateCopy = { certificate: string, source_database: string, target_database: string, 
/**
 * The source's thumbprint (hex).
 */
thumbprint: string, 
/**
 * What the target holds under that name afterwards (hex).
 */
target_thumbprint: string, 
/**
 * The target already held this very certificate: nothing was created.
 */
already_present: boolean, 
/**
 * How the target protects the private key (MK: its database master key).
 */
target_protection: string, 
/**
 * The target database had no master key and Keysafe created one (back it up now).
 */
created_master_key: boolean, };

export type CertificateCoverage = { thumbprint: string, 
/**
 * Its name in master, or (gone) the name a Keysafe copy recorded.
 */
name: string | null, on_server: boolean, 
/**
 * The newest verified Keysafe copy: when and the report that lists it.
 */
keysafe_copy: string | null, copy_report: string | null, 
/**
 * How many retained backups need it, and the oldest of them.
 */
backups: number, oldest_backup: string | null, verdict: Verdict, 
/**
 * `verdict.title()`, for front ends that cannot call it.
 */
verdict_title: string, tone: Tone, };

export type CertificateParity = { 
/**
 * Its name in master on the member it was found on.
 */
name: string, thumbprint: string, purposes: Array<Purpose>, 
/**
 * Why the group needs it: "protects the encryption key of Payroll on SQL01".
 */
why: Array<string>, 
/**
 * The database on `source` that holds it: master, or a contained availability group's
 * own master (`<group>_master`).
 */
source_database: string | null, 
/**
 * A member holding it with its private key (its address), where a copy can come from.
 */
source: string | null, members: Array<MemberPresence>, 
/**
 * What to do when no copy can make parity (no member holds it with its private key).
 */
advice: string | null, };

export type ConnectArgs = { server: string, authentication: AuthKind, login: string, password: string | null, remember_password: boolean, encrypt: Encrypt, trust_server_certificate: boolean, host_name_in_certificate: string, 
/**
 * The server's certificate (or the CA that issued it), PEM or DER, to verify against;
 * empty for the platform's trust store.
 */
certificate_file: string, connect_timeout_secs: number, 
/**
 * Connect through this saved profile (its password from the keyring when none is typed).
 */
profile: string | null, };

export type ConnectionInfo = { id: number, 
/**
 * As typed in the Connect dialog.
 */
server: string, 
/**
 * @@SERVERNAME
 */
server_name: string, version: string, edition: string, platform: string, login: string, database: string, profile: string | null, color: string | null, };

export type CopyCheck = { server: string, key: string, 
/**
 * The key itself, to restore it.
 */
key_ref: KeyRef, 
/**
 * Where the copy was found (or looked for).
 */
path: string, 
/**
 * SQL Server's SHA-256 of the file when it was backed up (hex).
 */
expected_sha256: string, 
/**
 * The copy's SHA-256 now; empty when it is missing.
 */
actual_sha256: string, state: CopyState, 
/**
 * A certificate's thumbprint as the report recorded it (reports since 2026-12).
 */
thumbprint: string | null, 
/**
 * Why the copy was not read (state `refused`): what the report pointed at is not a
 * file inside the medium.
 */
refused: string | null, };

export type CopyState = "matches" | "differs" | "missing" | "refused";

export type Coverage = { server: string, generated: string, retention_days: number, backups: Array<RetainedBackup>, 
/**
 * Worst first.
 */
certificates: Array<CertificateCoverage>, summary: Summary, };

export type DatabaseNode = { name: string, 
/**
 * sys.dm_database_encryption_keys.encryption_state, described.
 */
tde: string | null, master_key: KeyNode | null, certificates: Array<KeyNode>, not_visible: boolean, };

export type Encrypt = "mandatory" | "optional" | "strict";

export type ErrorCode = "invalid_input" | "connection_refused" | "connection_timeout" | "host_not_found" | "tls" | "encryption_not_supported" | "session_not_encrypted" | "strict_required" | "login_failed" | "permission_denied" | "file_exists" | "folder_missing" | "password_policy" | "master_key_not_open" | "not_found" | "key_file_invalid" | "sql_server" | "connection_lost" | "io" | "medium_removed" | "verification_failed" | "restore_check_failed" | "keyring" | "not_confirmed" | "unsupported" | "internal";

export type EvidenceView = { html: string, html_path: string, json_path: string, keys: number, controls_met: number, controls_missing: number, history_problems: Array<string>, };

export type FileLine = { server_path: string, copy_path: string | null, bytes: number, 
/**
 * The server's SHA-256 of the file, which the copy matched.
 */
sha256: string, verified: boolean, };

export type FolderLine = { server: string, text: string, failed: boolean, };

export type FolderPlan = { "how": "posix", owner: string, } | { "how": "windows_dacl", local_path: string, access: Array<string>, } | { "how": "commands", commands: Array<string>, access: Array<string>, note: string | null, } | { "how": "not_applied", reason: string, };

export type Group = { name: string, 
/**
 * Its members, by profile name.
 */
profiles: Array<string>, };

export type HistoryView = { runs: Array<Row>, 
/**
 * The keyed chain holds; false when a record was edited, forged, removed or cut off.
 */
chain_intact: boolean, 
/**
 * What is wrong with the history, each naming its line (only vouched records are shown).
 */
problems: Array<string>, 
/**
 * Keys of the open connections whose last verified backup is missing or stale.
 */
attention: Array<StaleKey>, };

export type InstancePlan = { 
/**
 * The address as given.
 */
server: string, 
/**
 * @@SERVERNAME, once connected.
 */
server_name: string | null, 
/**
 * The folder the BACKUP statements write to.
 */
server_folder: string | null, folder: FolderPlan | null, 
/**
 * Where the instance's copies go on the medium.
 */
medium_folder: string | null, keys: Array<PlannedKey>, 
/**
 * Why nothing will be backed up on this instance.
 */
problem: KeysafeError | null, };

export type KeyLine = { server: string, label: string, outcome: Outcome, 
/**
 * "Verified", "Failed", "Skipped".
 */
outcome_words: string, files: Array<FileLine>, restore_check: RestoreCheck | null, error: KeysafeError | null, };

export type KeyNode = { key: KeyRef, label: string, state: BackupState, 
/**
 * The engine's words for it, as `keysafe status` prints them.
 */
state_words: string, 
/**
 * The last verified backup Keysafe made (history), RFC 3339 in UTC.
 */
last_verified: string | null, 
/**
 * The server's own record of a backup (a certificate's pvt_key_last_backup_date, in the
 * server's clock: "YYYY-MM-DD HH:MM"), when Keysafe has none.
 */
server_record: string | null, risk: string | null, 
/**
 * Changed after its last verified backup.
 */
changed_since_backup: boolean, 
/**
 * What protects it, in a few words (Object Explorer Details' Protection column).
 */
protection: string, 
/**
 * When the key last changed (server clock, "YYYY-MM-DD HH:MM"), where the server says.
 */
modified: string | null, 
/**
 * A certificate's expiry date ("YYYY-MM-DD").
 */
expiry: string | null, 
/**
 * The engine's verdict: false for a certificate without its private key.
 */
can_back_up: boolean, properties: Array<Property>, };

export type KeyPassword = { key: NeededPassword, password: string, };

export type KeyRef = { "kind": "service_master_key" } | { "kind": "database_master_key", database: string, } | { "kind": "certificate", database: string, name: string, };

export type KeysafeError = { code: ErrorCode, 
/**
 * What happened, for an administrator.
 */
message: string, 
/**
 * What to do next.
 */
next_step: string | null, server: ServerMessage | null, };

export type LastRun = { started: string, finished: string, 
/**
 * keysafe's exit code: 0 success, 1 a failure, 2 a usage error.
 */
exit_code: number, 
/**
 * The first line of what went wrong, when something did.
 */
error: string | null, };

export type MediumCheck = { report: string, run_id: string, copies: Array<CopyCheck>, };

export type Member = { 
/**
 * The address as given.
 */
server: string, 
/**
 * @@SERVERNAME, once read.
 */
server_name: string | null, 
/**
 * Why it could not be read.
 */
error: KeysafeError | null, 
/**
 * What could not be read besides (msdb's backup history), and why.
 */
notes: Array<string>, };

export type MemberPresence = { 
/**
 * The member's address as given.
 */
server: string, presence: Presence, 
/**
 * `presence` in words.
 */
words: string, };

export type Need = { kind: NeedKind, thumbprint: string, 
/**
 * "msdb", "the database's certificate, unchanged since the backup", "the backup file".
 */
source: string, };

export type NeedKind = "backup_encryption" | "tde";

export type NeededPassword = { "for": "master_key", database: string, } | { "for": "certificate_key", database: string, name: string, };

export type Outcome = "verified" | "failed" | "skipped";

export type Parity = { members: Array<Member>, certificates: Array<CertificateParity>, 
/**
 * The availability groups the members' catalogs list, with their replicas.
 */
availability_groups: Array<AvailabilityGroup>, };

export type ParityCopy = { certificate: string, from: string, to: string, 
/**
 * The copy, proven by its thumbprint; None when it failed (`error`).
 */
copy: CertificateCopy | null, error: KeysafeError | null, };

export type ParityDone = { parity: Parity, copies: Array<ParityCopy>, };

export type ParityRequest = { connections: Array<number>, 
/**
 * A saved group's name (its profiles connect with their remembered passwords).
 */
group: string | null, 
/**
 * How far back kept backups count (their encryption certificates), in days.
 */
retention_days: number, };

export type PasswordCheck = { 
/**
 * SQL Server's verdict, predicted: None when it will accept the password.
 */
policy_error: string | null, strength: Strength, 
/**
 * The engine's words for it.
 */
strength_words: string, entropy_bits: number, };

export type PlacedFile = { medium_path: string, 
/**
 * Empty when nothing had to be placed (FROM BINARY).
 */
server_path: string, sha256: string, 
/**
 * "keysafe", "administrator", or "not needed".
 */
placed_by: string, };

export type PlannedKey = { key: KeyRef, label: string, 
/**
 * Files the BACKUP statement writes on the server (names carry the run's time).
 */
server_files: Array<string>, 
/**
 * Files read over the connection instead (a Windows login's certificates): their names
 * on the medium (.cer, then .pvk).
 */
exported_files: Array<string>, 
/**
 * The T-SQL, every password shown as ****.
 */
script: string, needs: Array<NeededPassword>, 
/**
 * Why this key cannot be backed up as asked.
 */
problem: KeysafeError | null, };

export type Presence = { "state": "present" } | { "state": "no_private_key" } | { "state": "different", thumbprint: string, } | { "state": "missing" } | { "state": "unknown", reason: string, };

export type ProfileView = { name: string, server: string, authentication: AuthKind, login: string, encrypt: Encrypt, trust_server_certificate: boolean, host_name_in_certificate: string, 
/**
 * As ConnectArgs::certificate_file.
 */
certificate_file: string, connect_timeout_secs: number, folder: string, color: string | null, remember_password: boolean, 
/**
 * The Demo profile of `--demo`: not saved, cannot be edited.
 */
demo: boolean, };

export type Progress = { "event": "connecting", server: string, } | { "event": "planned", server: string, keys: number, } | { "event": "folder_ready", server: string, folder: string, protection: string, } | { "event": "key_started", server: string, key: string, } | { "event": "key_done", server: string, key: string, verified: boolean, } | { "event": "instance_done", server: string, verified: boolean, } | { "event": "report_written", paths: Array<string>, };

export type Property = { name: string, value: string, };

export type Purpose = "tde" | "backup_encryption";

export type QueryOutcome = { result_sets: Array<ResultSetView>, messages: Array<string>, errors: number, database: string, cancelled: boolean, elapsed_ms: number, };

export type ReportFormat = "html" | "json" | "csv";

export type RestoreArgs = { 
/**
 * The report (keysafe-report-*.json) or the medium folder holding it.
 */
report: string, 
/**
 * Which instance's key, when the report holds several.
 */
from_server: string | null, key: KeyRef, 
/**
 * Where a certificate or database master key goes (empty: the same name).
 */
target_database: string, 
/**
 * The server's folder it reads files from (empty: its backup folder's Keysafe subfolder).
 */
server_dir: string, 
/**
 * That folder as this machine sees it; empty: the administrator copies the file.
 */
server_dir_local: string, wait_seconds: number, force: boolean, add_service_master_key: boolean, 
/**
 * A backup file on the target to RESTORE VERIFYONLY afterwards (the rehearsal).
 */
verify_backup: string, 
/**
 * The service master key: the instance's name as typed.
 */
confirmed_instance: string, };

export type RestoreCheck = { "result": "proven", method: string, } | { "result": "failed", method: string, reason: string, } | { "result": "not_applicable", reason: string, };

export type RestoreDone = { result: RestoreResult, 
/**
 * None when the report could not be written (the log says why).
 */
report: string | null, };

export type RestoreProgress = { "step": "medium_checked", copies: number, } | { "step": "placed", server_path: string, } | { "step": "copy_needed", medium_path: string, server_path: string, waiting_seconds: number, } | { "step": "restoring", statement: string, };

export type RestoreResult = { key: string, from_server: string, target_server: string, target_database: string | null, files: Array<PlacedFile>, 
/**
 * The statement sent, passwords masked.
 */
statement: string, 
/**
 * What shows the key is in place: a thumbprint compared, a key that opens, a message.
 */
proof: string, expected_thumbprint: string | null, actual_thumbprint: string | null, 
/**
 * The restored database master key is also encrypted by the target's service master key.
 */
opens_by_itself: boolean | null, 
/**
 * The target database had no master key and Keysafe created one (back it up now).
 */
created_master_key: boolean, 
/**
 * The rehearsal's RESTORE VERIFYONLY, when asked: what SQL Server said.
 */
backup_verified: string | null, };

export type RestoreSecretsView = { backup: string, 
/**
 * A database master key's new password, or a new master key's for a certificate.
 */
master_key: string | null, 
/**
 * A backup made with split custody: the custodians' shares as typed, instead of
 * `backup` (which is then empty).
 */
shares: string[], };

export type ResultSetView = { columns: Array<string>, rows: Array<Array<string | null>>, };

export type RetainedBackup = { database: string, 
/**
 * D (full), I (differential), L (log).
 */
kind: string, finished: string, device: string, 
/**
 * Which backup set in the media file (BACKUP appends; msdb's backupset.position).
 */
position: number | null, needs: Array<Need>, 
/**
 * Why what it needs could not be read (the file is gone, no permission), if so.
 */
unknown: string | null, };

export type RiskView = { severity: string, object: string, text: string, };

export type RotateRequest = { connections: Array<number>, group: string | null, 
/**
 * The certificate in master that protects the databases' encryption keys now.
 */
certificate: string, new_name: string, subject: string, 
/**
 * "YYYY-MM-DD", or empty for SQL Server's default (a year).
 */
expiry: string, 
/**
 * The medium's folder the new certificate's backup is copied to and verified on.
 */
copy_to: string, 
/**
 * Take the log backup SQL Server requires between key changes where one is pending.
 */
take_log_backups: boolean, };

export type RotateSecrets = { password: string, confirm: string, new_master_key: string | null, };

export type Rotation = { certificate: string, new_name: string, old_thumbprint: string, new_thumbprint: string | null, 
/**
 * The databases whose encryption key the new certificate protects now.
 */
databases: Array<string>, 
/**
 * A backup-encryption certificate: no database's key changes; the backup jobs are
 * pointed at the new one (Microsoft: create a new certificate rather than renew one),
 * and the old one stays for the backups encrypted with it.
 */
backup_encryption: boolean, steps: Array<RotationStep>, 
/**
 * Why it stopped, when it did.
 */
error: KeysafeError | null, };

export type RotationStep = { what: string, done: boolean, detail: string, };

export type Row = { 
/**
 * A backup run's id; None for a restore.
 */
run_id: string | null, 
/**
 * When it ended, RFC 3339 in UTC.
 */
finished: string, operator: string, succeeded: boolean, 
/**
 * "Succeeded" or "FAILED".
 */
verdict: string, 
/**
 * What it was: "3 of 3 keys verified", "restore of the Sales database master key on SQL02".
 */
what: string, 
/**
 * The instances it touched.
 */
servers: Array<string>, 
/**
 * A run's JSON report (the HTML and CSV beside it share its name).
 */
report: string | null, };

export type RunSummary = { 
/**
 * The JSON, HTML and CSV reports Keysafe kept (KEYSAFE_HOME/reports).
 */
report_files: Array<string>, 
/**
 * Split custody: each custodian's page (to print, hand over, then delete). The shares
 * themselves never cross to the UI.
 */
share_pages: Array<string>, run_id: string, succeeded: boolean, keys_requested: number, keys_verified: number, 
/**
 * "7 of 7 keys verified on 1 instance".
 */
headline: string, keys: Array<KeyLine>, 
/**
 * Instances where nothing was backed up, and why.
 */
instance_errors: Array<KeysafeError>, folder_protection: Array<FolderLine>, destination_warnings: Array<string>, };

export type Schedule = { 
/**
 * Letters, digits, '-' and '_': it names the task, the units and the job.
 */
name: string, 
/**
 * Local time of day, HH:MM.
 */
at: string, 
/**
 * keysafe's arguments (`backup changed --profile prod ...`): never a secret.
 */
args: Array<string>, 
/**
 * The Windows account the task runs as (DOMAIN\user); its Credential Manager holds the
 * secrets. None: the account that added it.
 */
account: string | null, created: string, } & ({ "every": "daily" } | { "every": "weekly", day: string, });

export type ScheduleState = { schedule: Schedule, last_run: LastRun | null, 
/**
 * The run that should have happened last, when none is recorded since: missed.
 */
missed_since: string | null, 
/**
 * "ok", "failed", "missed", "never run".
 */
verdict: string, 
/**
 * When it runs, in words: "daily at 02:30", "every Sun at 03:15".
 */
when: string, };

export type ServerMessage = { number: number, level: number, state: number, line: number, text: string, };

export type ServerTree = { id: number, server_name: string, service_master_key: KeyNode | null, databases: Array<DatabaseNode>, risks: Array<RiskView>, properties: Array<Property>, };

export type SplitRequest = { threshold: number, custodians: Array<string>, shares_to: string, 
/**
 * One split for the run, or one per instance (each its own password and pages).
 */
scope: SplitScope, };

export type SplitScope = "run" | "per_instance";

export type StaleKey = { server: string, label: string, reason: string, };

export type Standard = "stig" | "pci" | "cis";

export type Strength = "weak" | "fair" | "strong" | "very_strong";

export type Summary = { tone: Tone, text: string, };

export type Tone = "bad" | "warn" | "ok";

export type Verdict = "lost" | "server_only" | "copy_only" | "covered";

export type Volume = { mount_point: string, device: string, label: string | null, file_system: string, total_bytes: number, free_bytes: number, removable: boolean, 
/**
 * False for FAT and exFAT, which keep no permissions: anyone who holds the medium
 * reads the files.
 */
keeps_acls: boolean, 
/**
 * What kind of drive holds it, in Windows' terms (GetDriveTypeW): removable, fixed,
 * remote, cdrom, ramdisk or unknown. Elsewhere: removable, remote or fixed.
 */
drive_type: string, 
/**
 * The volume serial number (Windows).
 */
serial: number | null, };

/** Version, demo mode, recent servers. */
export function appInfo(): Promise<AppInfo> {
  return invoke('app_info', {  });
}

/** Connect dialog: opens a connection and adds it to Object Explorer. */
export function connect(args: ConnectArgs): Promise<ConnectionInfo> {
  return invoke('connect', { args });
}

export function disconnect(id: number): Promise<boolean> {
  return invoke('disconnect', { id });
}

/** Object Explorer's tree for a connection (F5/Refresh runs it again). */
export function explorer(id: number): Promise<ServerTree> {
  return invoke('explorer', { id });
}

/** The key's backup statement, passwords masked. */
export function scriptKey(id: number, key: KeyRef): Promise<string> {
  return invoke('script_key', { id, key });
}

export function checkPassword(password: Secret): Promise<PasswordCheck> {
  return invoke('check_password', { password });
}

export function generatePassword(): Promise<string> {
  return invoke('generate_password', {  });
}

/** This machine's volumes, removable ones first. */
export function volumes(): Promise<Array<Volume>> {
  return invoke('volumes', {  });
}

/** The native folder chooser; null when cancelled. */
export function chooseFolder(title: string): Promise<string | null> {
  return invoke('choose_folder', { title });
}

export function planBackup(request: BackupRequest): Promise<BackupPlan> {
  return invoke('plan_backup', { request });
}

/** The first custodian's page of the split the request asks for, a placeholder where the share will be (nothing secret exists yet). */
export function splitPreview(request: BackupRequest): Promise<string> {
  return invoke('split_preview', { request });
}

/** One of this session's custodian pages in a window of its own, with the print dialog. */
export function printSharePage(path: string): Promise<null> {
  return invoke('print_share_page', { path });
}

/** Runs the backup; progress arrives on the channel as it happens. */
export function runBackup(request: BackupRequest, secrets: BackupSecrets, events: Channel<Progress>): Promise<RunSummary> {
  return invoke('run_backup', { request, secrets, events });
}

/** Saves the run's report with the native save dialog; null when cancelled. */
export function exportReport(runId: string, format: ReportFormat): Promise<string | null> {
  return invoke('export_report', { runId, format });
}

export function reportHtml(runId: string): Promise<string> {
  return invoke('report_html', { runId });
}

/** F5 in the query pane: runs the script (GO separates batches). */
export function runQuery(id: number, sql: string): Promise<QueryOutcome> {
  return invoke('run_query', { id, sql });
}

/** Alt+Break. */
export function cancelQuery(id: number): Promise<boolean> {
  return invoke('cancel_query', { id });
}

export function listProfiles(): Promise<Array<ProfileView>> {
  return invoke('list_profiles', {  });
}

export function saveProfile(profile: ProfileView, password: Secret | null): Promise<Array<ProfileView>> {
  return invoke('save_profile', { profile, password });
}

export function deleteProfile(name: string): Promise<Array<ProfileView>> {
  return invoke('delete_profile', { name });
}

/** Exports profiles (no passwords) with the native save dialog; the count, or null. */
export function exportProfiles(): Promise<number | null> {
  return invoke('export_profiles', {  });
}

export function importProfiles(): Promise<Array<ProfileView>> {
  return invoke('import_profiles', {  });
}

export function history(): Promise<HistoryView> {
  return invoke('history', {  });
}

/** Key parity across the request's members: each TDE or backup-encryption certificate and what each member holds. */
export function checkParity(request: ParityRequest): Promise<ParityDone> {
  return invoke('check_parity', { request });
}

/** Copies each missing certificate where it is missing (proven by thumbprint), then checks again. */
export function copyMissingCertificates(request: ParityRequest, newMasterKey: Secret | null): Promise<ParityDone> {
  return invoke('copy_missing_certificates', { request, newMasterKey });
}

/** The saved groups of profiles. */
export function listGroups(): Promise<Array<Group>> {
  return invoke('list_groups', {  });
}

/** The steps of a certificate rotation, in order, as the engine runs them. */
export function rotationSteps(): Promise<Array<string>> {
  return invoke('rotation_steps', {  });
}

/** Rotates a TDE certificate across the members: the new one on the medium and every member before any database uses it. Each step's name arrives on the channel as it starts. */
export function rotateCertificate(request: RotateRequest, secrets: RotateSecrets, events: Channel<string>): Promise<Rotation> {
  return invoke('rotate_certificate', { request, secrets, events });
}

/** The evidence pack (STIG, PCI DSS or CIS) from the vouched history since a date, of every instance or one, kept in KEYSAFE_HOME/evidence and shown. */
export function evidencePack(standard: Standard, since: string, instance: string | null): Promise<EvidenceView> {
  return invoke('evidence_pack', { standard, since, instance });
}

/** The unattended runs (keysafe schedule add), each with its last run and verdict: a failed or missed one is what the app shows when it opens. */
export function schedules(): Promise<Array<ScheduleState>> {
  return invoke('schedules', {  });
}

/** The native file chooser for a Keysafe report; null when cancelled. */
export function chooseReport(): Promise<string | null> {
  return invoke('choose_report', {  });
}

/** Every verified copy a report lists, hashed on the medium against the report. */
export function checkMedium(path: string): Promise<MediumCheck> {
  return invoke('check_medium', { path });
}

/** Restores a key from the medium on connection `id`; progress arrives on the channel. */
export function runRestore(id: number, args: RestoreArgs, secrets: RestoreSecretsView, events: Channel<RestoreProgress>): Promise<RestoreDone> {
  return invoke('run_restore', { id, args, secrets, events });
}

/** Recoverability: can every backup this instance keeps be restored? */
export function coverage(id: number, retentionDays: number): Promise<Coverage> {
  return invoke('coverage', { id, retentionDays });
}

/** Writes the coverage report (HTML, JSON, CSV) to a chosen folder; the HTML's path, or null. */
export function exportCoverage(id: number, retentionDays: number): Promise<string | null> {
  return invoke('export_coverage', { id, retentionDays });
}

