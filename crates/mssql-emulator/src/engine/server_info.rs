//! The fixed facts of an instance, derived once from its scenario: names, version strings,
//! paths, service account.

use super::fs::Platform;
use super::scenario::Scenario;

#[derive(Debug, Clone)]
pub struct ServerInfo {
    pub machine_name: String,
    /// The host's Windows domain (NTLM's target name).
    pub domain: String,
    pub instance_name: Option<String>,
    pub year: u16,
    pub major: u8,
    pub product_version: String,
    pub product_level: String,
    pub update_level: Option<String>,
    /// The cumulative update's number (0: none).
    pub cumulative_update: u16,
    /// Linux: mssql-conf's bulkadmin.allowedpathslist.
    pub bulk_allowed_paths: Vec<String>,
    /// Windows: Kerberos delegation reaches file shares as the Windows login.
    pub kerberos_delegation: bool,
    pub build: u16,
    pub edition: String,
    pub engine_edition: i32,
    pub edition_id: i64,
    pub platform: Platform,
    pub host_distribution: String,
    pub host_release: String,
    pub service_account: String,
    pub default_backup_path: String,
    pub default_data_path: String,
    pub default_log_path: String,
    pub version_string: String,
    pub process_id: i32,
    /// The host's offset from UTC: GETDATE() and msdb's dates are local time in it.
    pub utc_offset: chrono::FixedOffset,
}

impl ServerInfo {
    pub fn from_scenario(s: &Scenario) -> Self {
        let sv = &s.server;
        let major = s.major_version();
        let (build, rev, level, cu, kb, date) = match major {
            13 => (
                6300u16,
                2,
                "SP3",
                None,
                Some("KB5003279"),
                "Aug  9 2021 13:47:23",
            ),
            14 => (
                3456,
                2,
                "RTM",
                Some("CU31"),
                Some("KB5016884"),
                "Sep  2 2022 11:01:50",
            ),
            15 => (
                4355,
                3,
                "RTM",
                Some("CU25"),
                Some("KB5033688"),
                "Jan 10 2024 21:35:13",
            ),
            16 => (
                4135,
                4,
                "RTM",
                Some("CU14"),
                Some("KB5038325"),
                "Jul 10 2024 14:09:09",
            ),
            // SQL Server 2025's release build (assumptions::SQL2025_BUILD).
            _ => (1000, 7, "RTM", None, None, "Oct 21 2025 12:05:57"),
        };
        let cu_tag = sv.cumulative_update.map(|n| format!("CU{n}"));
        let cu = cu_tag.as_deref().or(cu);
        let cumulative_update = cu
            .and_then(|c| c.strip_prefix("CU"))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let product_version = format!("{major}.0.{build}.{rev}");
        let instance_id = sv.instance.clone().unwrap_or_else(|| "MSSQLSERVER".into());
        let (dist, release) = match (sv.platform, &sv.host_distribution) {
            (_, Some(d)) => (
                d.clone(),
                if sv.platform == Platform::Windows {
                    "10.0".into()
                } else {
                    String::new()
                },
            ),
            (Platform::Windows, None) => (
                "Windows Server 2022 Datacenter".to_string(),
                "10.0".to_string(),
            ),
            (Platform::Linux, None) => ("Ubuntu".to_string(), String::new()),
        };
        let (backup, data, log, account) = match sv.platform {
            Platform::Windows => {
                let base = format!(
                    "C:\\Program Files\\Microsoft SQL Server\\MSSQL{major}.{instance_id}\\MSSQL"
                );
                let account = if sv.instance.is_some() {
                    format!("NT Service\\MSSQL${instance_id}")
                } else {
                    "NT Service\\MSSQLSERVER".into()
                };
                (
                    format!("{base}\\Backup"),
                    format!("{base}\\DATA"),
                    format!("{base}\\DATA"),
                    account,
                )
            }
            Platform::Linux => (
                "/var/opt/mssql/data".into(),
                "/var/opt/mssql/data/".into(),
                "/var/opt/mssql/data/".into(),
                "mssql".into(),
            ),
        };
        let (engine_edition, edition_id) = if sv.edition.starts_with("Enterprise") {
            (3, 1804890536)
        } else if sv.edition.starts_with("Standard") {
            (2, -1534726760)
        } else if sv.edition.starts_with("Express") {
            (4, -1592396055)
        } else {
            (3, -2117995310)
        };
        let level_tag = match cu {
            Some(cu) => format!("{level}-{cu}"),
            None => level.to_string(),
        };
        let os = match sv.platform {
            Platform::Windows => {
                "Windows Server 2022 Datacenter 10.0 <X64> (Build 20348: ) (Hypervisor)".to_string()
            }
            Platform::Linux => format!("Linux ({dist} 22.04.4 LTS) <X64>"),
        };
        let version_string = format!(
            "Microsoft SQL Server {} ({level_tag}){} - {product_version} (X64) \n\t{date} \n\tCopyright (C) {} Microsoft Corporation\n\t{} on {os}\n",
            sv.version,
            kb.map(|k| format!(" ({k})")).unwrap_or_default(),
            sv.version,
            sv.edition
        );
        ServerInfo {
            machine_name: sv.machine_name.clone(),
            domain: sv.domain.clone(),
            instance_name: sv.instance.clone(),
            year: sv.version,
            major,
            product_version,
            product_level: level.into(),
            update_level: cu.map(str::to_string),
            cumulative_update,
            bulk_allowed_paths: sv.bulk_allowed_paths.clone(),
            kerberos_delegation: sv.kerberos_delegation,
            build,
            edition: sv.edition.clone(),
            engine_edition,
            edition_id,
            platform: sv.platform,
            host_distribution: dist,
            host_release: release,
            service_account: sv.service_account.clone().unwrap_or(account),
            default_backup_path: sv.default_backup_path.clone().unwrap_or(backup),
            default_data_path: sv.default_data_path.clone().unwrap_or(data),
            default_log_path: log,
            version_string,
            process_id: 4000 + (rand::random::<u16>() % 5000) as i32,
            utc_offset: match (&sv.time_zone, sv.platform) {
                (Some(tz), _) => super::scenario::parse_utc_offset(tz)
                    .unwrap_or_else(|| chrono::FixedOffset::east_opt(0).expect("UTC")),
                // SQL Server on Linux: TZ first (chrono's Local reads it).
                (None, Platform::Linux) => *chrono::Local::now().offset(),
                (None, Platform::Windows) => chrono::FixedOffset::east_opt(0).expect("UTC"),
            },
        }
    }

    /// @@SERVERNAME / SERVERPROPERTY('ServerName'): MACHINE or MACHINE\INSTANCE.
    pub fn server_name(&self) -> String {
        match &self.instance_name {
            Some(i) => format!("{}\\{}", self.machine_name, i),
            None => self.machine_name.clone(),
        }
    }

    /// @@SERVICENAME and the service in sys.dm_server_services.
    pub fn service_name(&self) -> String {
        self.instance_name
            .clone()
            .unwrap_or_else(|| "MSSQLSERVER".into())
    }

    /// The program version in LOGINACK: major, minor, build.
    pub fn tds_version(&self) -> (u8, u8, u16) {
        (self.major, 0, self.build)
    }

    /// Now, in the host's local time (GETDATE()).
    pub fn local_now(&self) -> chrono::NaiveDateTime {
        self.to_local(super::now())
    }

    /// A UTC time in the host's local time.
    pub fn to_local(&self, utc: chrono::NaiveDateTime) -> chrono::NaiveDateTime {
        utc + chrono::Duration::seconds(self.utc_offset.local_minus_utc() as i64)
    }

    /// msdb's time_zone: the offset in 15-minute intervals.
    pub fn time_zone_quarters(&self) -> i64 {
        (self.utc_offset.local_minus_utc() / 900) as i64
    }

    /// Every database's compatibility level: the version's default (major × 10).
    pub fn compatibility_level(&self) -> i64 {
        self.major as i64 * 10
    }
    /// (major, minor, build) as backup headers record the server that wrote them.
    pub fn software_version(&self) -> (i64, i64, i64) {
        (self.major as i64, 0, self.build as i64)
    }
    pub fn is_linux(&self) -> bool {
        self.platform == Platform::Linux
    }

    pub fn path_separator(&self) -> &'static str {
        if self.is_linux() {
            "/"
        } else {
            "\\"
        }
    }
}

/// Every database's collation: the setup default for US English.
pub const DATABASE_COLLATION: &str = "SQL_Latin1_General_CP1_CI_AS";
/// DATABASE_COLLATION's properties, as backup headers record them: sort order 52, code page
/// 1252, locale 1033 (en-US), comparison style 196609 (ignore case, kana type and width).
pub const COLLATION_SORT_ORDER: i64 = 52;
pub const COLLATION_CODE_PAGE: i64 = 1252;
pub const COLLATION_LOCALE: i64 = 1033;
pub const COLLATION_COMPARISON_STYLE: i64 = 196_609;
