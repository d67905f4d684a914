//! Server paths as Windows sees them, and the icacls commands for a folder this machine
//! cannot reach (the report marks its ACL "not verified").

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WindowsPath {
    /// C:\…
    Drive { letter: char, rest: String },
    /// \\host\share\…
    Unc {
        host: String,
        share: String,
        rest: String,
    },
}

impl WindowsPath {
    pub fn parse(p: &str) -> Option<WindowsPath> {
        let p = p.replace('/', "\\");
        if let Some(unc) = p.strip_prefix("\\\\") {
            if unc.starts_with(['?', '.']) {
                return None;
            }
            let mut it = unc.splitn(3, '\\');
            let host = it.next().filter(|h| !h.is_empty())?.to_string();
            let share = it.next().filter(|s| !s.is_empty())?.to_string();
            let rest = it.next().unwrap_or("").trim_end_matches('\\').to_string();
            return Some(WindowsPath::Unc { host, share, rest });
        }
        let b = p.as_bytes();
        if b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && b[2] == b'\\' {
            return Some(WindowsPath::Drive {
                letter: (b[0] as char).to_ascii_uppercase(),
                rest: p[3..].trim_end_matches('\\').to_string(),
            });
        }
        None
    }

    /// The path as seen from another machine: a local drive path becomes the server's
    /// administrative share (\\SERVER\D$\…), which only administrators can reach.
    pub fn from_elsewhere(&self, server_host: &str) -> String {
        match self {
            WindowsPath::Drive { letter, rest } => format!("\\\\{server_host}\\{letter}$\\{rest}"),
            WindowsPath::Unc { host, share, rest } => format!("\\\\{host}\\{share}\\{rest}"),
        }
    }

    pub fn is_unc(&self) -> bool {
        matches!(self, WindowsPath::Unc { .. })
    }
}

/// A network share must also admit the SQL host's computer account: virtual accounts
/// (NT SERVICE\…) reach the network as DOMAIN\HOST$.
pub fn computer_account(domain: &str, sql_host: &str) -> String {
    format!(
        "{domain}\\{}$",
        sql_host
            .split('.')
            .next()
            .unwrap_or(sql_host)
            .to_uppercase()
    )
}

/// The commands an administrator runs on the server: remove inheritance, grant full control
/// to exactly these principals (SIDs as *S-1-…, so a localised Windows understands them;
/// domain accounts by name), then show the result.
pub fn icacls_commands(
    folder: &str,
    principals: &[String],
    readers: &[String],
) -> Result<Vec<String>, String> {
    if folder.contains('"') || folder.contains(['\r', '\n', '%', '^', '&', '|', '<', '>']) {
        return Err(format!(
            "'{folder}' contains characters that cannot be quoted safely for cmd.exe"
        ));
    }
    if principals
        .iter()
        .chain(readers)
        .any(|p| p.contains(['"', '%', '^', '&', '|', '<', '>']))
    {
        return Err(
            "a principal name contains characters that cannot be quoted safely for cmd.exe".into(),
        );
    }
    let grant = |p: &String, right: &str| {
        if super::sid::is_sid(p) {
            format!("\"*{p}:(OI)(CI){right}\"")
        } else {
            format!("\"{p}:(OI)(CI){right}\"")
        }
    };
    let grants: Vec<String> = principals
        .iter()
        .map(|p| grant(p, "F"))
        .chain(readers.iter().map(|p| grant(p, "R")))
        .collect();
    Ok(vec![
        format!("mkdir \"{folder}\" 2>nul"),
        format!(
            "icacls \"{folder}\" /inheritance:r /grant:r {}",
            grants.join(" ")
        ),
        format!("icacls \"{folder}\""),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drive_letters_and_unc_paths_are_told_apart() {
        assert_eq!(
            WindowsPath::parse(r"d:\SQLBackup\Keysafe\"),
            Some(WindowsPath::Drive {
                letter: 'D',
                rest: r"SQLBackup\Keysafe".into()
            })
        );
        assert_eq!(
            WindowsPath::parse(r"\\files01\keys$\sql01"),
            Some(WindowsPath::Unc {
                host: "files01".into(),
                share: "keys$".into(),
                rest: "sql01".into()
            })
        );
        for bad in [
            r"relative\path",
            r"C:relative",
            r"\\?\C:\x",
            r"\\server",
            r"\\server\",
            "/var/opt/mssql",
        ] {
            assert_eq!(WindowsPath::parse(bad), None, "{bad}");
        }
        assert_eq!(
            WindowsPath::parse(r"C:\Backup\Keysafe")
                .unwrap()
                .from_elsewhere("SQL01"),
            r"\\SQL01\C$\Backup\Keysafe"
        );
        assert_eq!(
            computer_account("CONTOSO", "sql01.contoso.com"),
            r"CONTOSO\SQL01$"
        );
    }

    #[test]
    fn icacls_commands_grant_by_sid_and_refuse_unquotable_paths() {
        let c = icacls_commands(
            r"D:\SQL Backup\Keysafe",
            &["S-1-5-18".into(), "S-1-5-32-544".into()],
            &["S-1-5-21-1-2-3-2001".into()],
        )
        .unwrap();
        assert_eq!(
            c[1],
            r#"icacls "D:\SQL Backup\Keysafe" /inheritance:r /grant:r "*S-1-5-18:(OI)(CI)F" "*S-1-5-32-544:(OI)(CI)F" "*S-1-5-21-1-2-3-2001:(OI)(CI)R""#
        );
        assert!(icacls_commands(r#"D:\a"&calc"#, &[], &[]).is_err());
        assert!(icacls_commands(r"D:\100%", &[], &[]).is_err());
        let c = icacls_commands(r"D:\K", &[r"CONTOSO\svc-sql".into()], &[]).unwrap();
        assert!(c[1].ends_with(r#""CONTOSO\svc-sql:(OI)(CI)F""#));
    }
}
