//! The server's file system: paths as SQL Server sees them (C:\..., \\host\share\..., or
//! /var/opt/mssql/... on Linux), mapped into `<data dir>/fs`. Windows paths resolve
//! case-insensitively, as NTFS does.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Windows,
    Linux,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathError {
    /// Not a path this platform accepts (bad characters, no root, unknown drive form).
    Invalid,
}

#[derive(Debug, Clone)]
pub struct ServerFs {
    root: PathBuf,
    platform: Platform,
    /// Relative paths (a bare file name) resolve here: the instance's default data folder.
    default_dir: String,
}

const WINDOWS_RESERVED: &[&str] = &[
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

impl ServerFs {
    pub fn new(root: PathBuf, platform: Platform, default_dir: String) -> Self {
        ServerFs {
            root,
            platform,
            default_dir,
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Splits a server path into its components below the emulated root.
    pub fn components(&self, path: &str) -> Result<Vec<String>, PathError> {
        if path.is_empty() || path.contains('\0') || path.chars().count() > 260 * 4 {
            return Err(PathError::Invalid);
        }
        let mut comps: Vec<String> = Vec::new();
        let rest: String;
        match self.platform {
            Platform::Windows => {
                let p = path.replace('/', "\\");
                if let Some(unc) = p.strip_prefix("\\\\") {
                    if unc.starts_with('?') || unc.starts_with('.') {
                        return Err(PathError::Invalid);
                    }
                    comps.push("UNC".into());
                    rest = unc.to_string();
                } else if p.len() >= 2
                    && p.as_bytes()[1] == b':'
                    && p.as_bytes()[0].is_ascii_alphabetic()
                {
                    comps.push(p[..1].to_uppercase());
                    let r = &p[2..];
                    if !r.starts_with('\\') {
                        return Err(PathError::Invalid); // drive-relative paths
                    }
                    rest = r.to_string();
                } else if p.starts_with('\\') {
                    return Err(PathError::Invalid);
                } else {
                    let d = self.default_dir.replace('/', "\\");
                    return self.components(&format!("{}\\{}", d.trim_end_matches('\\'), p));
                }
            }
            Platform::Linux => {
                // SQL Server on Linux still accepts C:\-prefixed paths (2017 release notes).
                let p = if path.len() >= 3
                    && path.as_bytes()[1] == b':'
                    && path.as_bytes()[0].eq_ignore_ascii_case(&b'c')
                {
                    path[2..].replace('\\', "/")
                } else {
                    path.to_string()
                };
                if !p.starts_with('/') {
                    let d = self.default_dir.clone();
                    return self.components(&format!("{}/{}", d.trim_end_matches('/'), p));
                }
                rest = p;
            }
        }
        let sep = if self.platform == Platform::Windows {
            '\\'
        } else {
            '/'
        };
        for part in rest.split(sep) {
            match part {
                "" | "." => {}
                ".." => {
                    // Never above the drive, share or root.
                    let floor = match (self.platform, comps.first().map(String::as_str)) {
                        (Platform::Windows, Some("UNC")) => 3,
                        (Platform::Windows, _) => 1,
                        _ => 0,
                    };
                    if comps.len() > floor {
                        comps.pop();
                    }
                }
                _ => {
                    if self.platform == Platform::Windows {
                        if part
                            .chars()
                            .any(|c| "<>:\"|?*".contains(c) || (c as u32) < 32)
                        {
                            return Err(PathError::Invalid);
                        }
                        let stem = part.split('.').next().unwrap_or("").trim_end();
                        if WINDOWS_RESERVED
                            .iter()
                            .any(|r| r.eq_ignore_ascii_case(stem))
                        {
                            return Err(PathError::Invalid);
                        }
                        // Windows ignores trailing dots and spaces in names.
                        let trimmed = part.trim_end_matches(['.', ' ']);
                        if trimmed.is_empty() {
                            return Err(PathError::Invalid);
                        }
                        comps.push(trimmed.to_string());
                    } else {
                        comps.push(part.to_string());
                    }
                }
            }
        }
        if self.platform == Platform::Windows
            && comps.first().map(String::as_str) == Some("UNC")
            && comps.len() < 3
        {
            return Err(PathError::Invalid);
        }
        Ok(comps)
    }

    /// The host path for a server path. Components that already exist are matched
    /// case-insensitively on Windows, so `C:\BACKUP` finds `C:\Backup`.
    pub fn resolve(&self, path: &str) -> Result<PathBuf, PathError> {
        let comps = self.components(path)?;
        let mut cur = self.root.clone();
        for c in comps {
            let mut next = cur.join(&c);
            if self.platform == Platform::Windows && !next.exists() {
                if let Ok(rd) = std::fs::read_dir(&cur) {
                    for e in rd.flatten() {
                        if e.file_name().to_string_lossy().eq_ignore_ascii_case(&c) {
                            next = e.path();
                            break;
                        }
                    }
                }
            }
            cur = next;
        }
        Ok(cur)
    }

    /// The server path for a host path under the root (for messages and tests).
    pub fn server_path(&self, host: &Path) -> Option<String> {
        let rel = host.strip_prefix(&self.root).ok()?;
        let parts: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        match self.platform {
            Platform::Linux => Some(format!("/{}", parts.join("/"))),
            Platform::Windows => match parts.first().map(String::as_str) {
                Some("UNC") => Some(format!("\\\\{}", parts[1..].join("\\"))),
                Some(d) => Some(format!("{d}:\\{}", parts[1..].join("\\"))),
                None => None,
            },
        }
    }

    /// Creates a folder (and its parents) as xp_create_subdir does. The drive or share
    /// itself must exist.
    pub fn create_dir_all(&self, path: &str) -> Result<(), PathError> {
        let comps = self.components(path)?;
        let anchor = match (self.platform, comps.first().map(String::as_str)) {
            (Platform::Windows, Some("UNC")) => 3,
            (Platform::Windows, _) => 1,
            _ => 0,
        };
        let anchor_path = self
            .root
            .join(comps[..anchor.min(comps.len())].iter().collect::<PathBuf>());
        if !anchor_path.is_dir() {
            return Err(PathError::Invalid);
        }
        let host = self.resolve(path)?;
        std::fs::create_dir_all(host).map_err(|_| PathError::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn win() -> (tempfile::TempDir, ServerFs) {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("C/Backup")).unwrap();
        let fs = ServerFs::new(d.path().to_path_buf(), Platform::Windows, "C:\\Data".into());
        (d, fs)
    }

    #[test]
    fn windows_paths_map_under_their_drive_or_share() {
        let (_d, fs) = win();
        assert_eq!(
            fs.components("C:\\Backup\\keys\\smk.key").unwrap(),
            vec!["C", "Backup", "keys", "smk.key"]
        );
        assert_eq!(fs.components("c:/a/../b").unwrap(), vec!["C", "b"]);
        assert_eq!(
            fs.components("\\\\files\\keys\\a.key").unwrap(),
            vec!["UNC", "files", "keys", "a.key"]
        );
        assert_eq!(fs.components("C:\\..\\..\\etc").unwrap(), vec!["C", "etc"]);
        assert_eq!(
            fs.components("smk.key").unwrap(),
            vec!["C", "Data", "smk.key"]
        );
    }

    #[test]
    fn hostile_windows_paths_are_invalid() {
        let (_d, fs) = win();
        for p in [
            "",
            "C:relative",
            "\\rooted",
            "C:\\a|b",
            "C:\\CON",
            "C:\\x\\nul.txt",
            "\\\\?\\C:\\x",
            "\\\\server",
            "C:\\a\0b",
        ] {
            assert_eq!(fs.components(p), Err(PathError::Invalid), "{p:?}");
        }
    }

    #[test]
    fn resolution_is_case_insensitive_on_windows() {
        let (d, fs) = win();
        assert_eq!(
            fs.resolve("C:\\BACKUP\\x").unwrap(),
            d.path().join("C/Backup/x")
        );
        assert_eq!(
            fs.server_path(&d.path().join("C/Backup/x")).unwrap(),
            "C:\\Backup\\x"
        );
    }

    #[test]
    fn linux_paths_stay_inside_the_root() {
        let d = tempfile::tempdir().unwrap();
        let fs = ServerFs::new(
            d.path().to_path_buf(),
            Platform::Linux,
            "/var/opt/mssql/data".into(),
        );
        assert_eq!(
            fs.components("/var/opt/mssql/../../../etc/passwd").unwrap(),
            vec!["etc", "passwd"]
        );
        assert_eq!(fs.components("C:\\tmp\\k").unwrap(), vec!["tmp", "k"]);
        assert_eq!(
            fs.components("k").unwrap(),
            vec!["var", "opt", "mssql", "data", "k"]
        );
    }

    #[test]
    fn a_folder_needs_an_existing_drive() {
        let (_d, fs) = win();
        assert!(fs.create_dir_all("C:\\Backup\\Keysafe\\2026").is_ok());
        assert_eq!(fs.create_dir_all("Q:\\x"), Err(PathError::Invalid));
        assert_eq!(
            fs.create_dir_all("\\\\nosuch\\share\\x"),
            Err(PathError::Invalid)
        );
    }
}
