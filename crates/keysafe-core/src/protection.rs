//! Restrictive permissions on the server's backup folder (step 4 of the procedure). The
//! engine defines the trait; the Windows NTFS layer implements it elsewhere. Here: POSIX
//! 0700 owned by the service account when the server runs on this machine, and an honest
//! "not applied" when it does not.

use serde::Serialize;
use std::path::Path;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ProtectionOutcome {
    pub applied: bool,
    /// What was read back after applying (mode, owner, or an SDDL string).
    pub read_back: Option<String>,
    pub note: String,
}

pub trait FolderProtection: Send + Sync {
    fn protect(&self, local_folder: &Path, service_account: Option<&str>) -> ProtectionOutcome;
}

/// The server is elsewhere: nothing can be applied from here.
pub struct RemoteServer;

impl FolderProtection for RemoteServer {
    fn protect(&self, _: &Path, _: Option<&str>) -> ProtectionOutcome {
        ProtectionOutcome {
            applied: false,
            read_back: None,
            note: "Not applied: the server's folder is not reachable from this machine. Restrict it on the server (owner: the service account only).".into(),
        }
    }
}

/// SQL Server on Linux, on this machine: chmod 0700, chown to the service account.
#[cfg(unix)]
pub struct PosixLocal;

#[cfg(unix)]
impl FolderProtection for PosixLocal {
    fn protect(&self, dir: &Path, service_account: Option<&str>) -> ProtectionOutcome {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let mut notes = Vec::new();
        if let Err(e) = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)) {
            return ProtectionOutcome {
                applied: false,
                read_back: None,
                note: format!("chmod 0700 failed: {e}"),
            };
        }
        if let Some(acct) = service_account {
            match user_ids(acct) {
                Some((uid, gid)) => {
                    let c = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes())
                        .unwrap_or_default();
                    if unsafe { libc::chown(c.as_ptr(), uid, gid) } != 0 {
                        notes.push(format!(
                            "chown to {acct} failed: {}",
                            std::io::Error::last_os_error()
                        ));
                    }
                }
                None => notes.push(format!("no local user {acct}: owner left unchanged")),
            }
        }
        let md = std::fs::metadata(dir);
        let read_back = md.as_ref().ok().map(|m| {
            format!(
                "mode {:o}, uid {}, gid {}",
                m.mode() & 0o7777,
                m.uid(),
                m.gid()
            )
        });
        let ok = md.map(|m| m.mode() & 0o777 == 0o700).unwrap_or(false);
        ProtectionOutcome {
            applied: ok,
            read_back,
            note: if notes.is_empty() {
                "0700, owned by the service account".into()
            } else {
                notes.join("; ")
            },
        }
    }
}

#[cfg(unix)]
fn user_ids(name: &str) -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.first() == Some(&name) && f.len() > 3)
            .then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))
            .flatten()
    })
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_local_folder_ends_up_0700_and_is_read_back() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("Keysafe");
        std::fs::create_dir(&f).unwrap();
        let me = std::env::var("USER").unwrap_or_else(|_| "root".into());
        let out = PosixLocal.protect(&f, Some(&me));
        assert!(out.applied, "{out:?}");
        assert!(out.read_back.unwrap().starts_with("mode 700"));
        assert!(!RemoteServer.protect(&f, None).applied);
    }
}
