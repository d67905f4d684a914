//! Restrictive permissions on the server's backup folder (step 4 of the procedure). The
//! engine defines the trait; the Windows NTFS layer implements it elsewhere. Here: POSIX
//! 0700 owned by the service account when the server runs on this machine. Which one a run
//! uses, or why none, is decided by `run::FolderPlan`.

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

/// SQL Server on Linux, on this machine: chmod 0700, chown to the service account.
#[cfg(unix)]
pub struct PosixLocal;

#[cfg(unix)]
impl FolderProtection for PosixLocal {
    fn protect(&self, dir: &Path, service_account: Option<&str>) -> ProtectionOutcome {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let mut notes = Vec::new();
        // SQL Server on Linux runs as mssql, whatever sys.dm_server_services says (a
        // placeholder such as LocalSystem, or NULL): the owner must be a local user, or 0700
        // would lock SQL Server out of its own folder.
        let owner = posix_owner(service_account).and_then(|a| user_ids(&a).map(|ids| (a, ids)));
        let Some((acct, (uid, gid))) = owner else {
            return ProtectionOutcome {
                applied: false,
                read_back: None,
                note: format!(
                    "permissions left unchanged: neither the reported service account ({}) nor mssql is a local user here, and mode 0700 would lock SQL Server out",
                    service_account.unwrap_or("unknown")
                ),
            };
        };
        // The folder itself, never through a link: no component may be a link (the path is
        // its own canonical form), and the last one is opened without following one; owner and
        // mode are then changed on what was opened.
        let unchanged = |why: String| ProtectionOutcome {
            applied: false,
            read_back: None,
            note: format!("permissions left unchanged: {why}"),
        };
        match dir.canonicalize() {
            Ok(c) if c == dir => {}
            _ => return unchanged(format!("{} leads through a link", dir.display())),
        }
        let folder = {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW)
                .open(dir)
        };
        let folder = match folder {
            Ok(f) => f,
            Err(e) => {
                return unchanged(format!(
                    "{} cannot be opened as a folder: {e}",
                    dir.display()
                ))
            }
        };
        use std::os::fd::AsRawFd;
        if unsafe { libc::fchown(folder.as_raw_fd(), uid, gid) } != 0 {
            return ProtectionOutcome {
                applied: false,
                read_back: None,
                note: format!(
                    "chown to {acct} failed: {}; permissions left unchanged",
                    std::io::Error::last_os_error()
                ),
            };
        }
        if service_account != Some(acct.as_str()) {
            notes.push(format!(
                "owned by {acct} (the reported service account, {}, is not a local user)",
                service_account.unwrap_or("unknown")
            ));
        }
        if let Err(e) = folder.set_permissions(std::fs::Permissions::from_mode(0o700)) {
            return ProtectionOutcome {
                applied: false,
                read_back: None,
                note: format!("chmod 0700 failed: {e}"),
            };
        }
        let md = folder.metadata();
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
                format!("0700, {}", notes.join("; "))
            },
        }
    }
}

/// The local user that will own a Linux server folder: the reported service account when it
/// is a local user, else mssql (SQL Server on Linux runs as mssql whatever
/// sys.dm_server_services says); None when neither is.
#[cfg(unix)]
pub fn posix_owner(service_account: Option<&str>) -> Option<String> {
    service_account
        .filter(|a| user_ids(a).is_some())
        .or_else(|| user_ids("mssql").map(|_| "mssql"))
        .map(str::to_string)
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
        // A placeholder account and no mssql user: nothing is changed.
        let g = d.path().join("Other");
        std::fs::create_dir(&g).unwrap();
        if user_ids("mssql").is_none() {
            let out = PosixLocal.protect(&g, Some("LocalSystem"));
            assert!(
                !out.applied && out.note.contains("left unchanged"),
                "{out:?}"
            );
            use std::os::unix::fs::PermissionsExt;
            assert_ne!(
                std::fs::metadata(&g).unwrap().permissions().mode() & 0o777,
                0o700
            );
        }
    }

    /// Issue 27 (6): the folder is changed only itself, never through a link, whether the link
    /// is the folder's last component or one above it; what the link points at keeps its
    /// owner and mode (run as root, it would have become nobody's, 0700).
    #[test]
    fn a_folder_reached_through_a_link_is_left_unchanged() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let d = tempfile::tempdir().unwrap();
        let victim = d.path().join("victim");
        std::fs::create_dir_all(victim.join("inner")).unwrap();
        for f in [&victim, &victim.join("inner")] {
            std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let link = d.path().join("link");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        let before = |p: &Path| {
            let m = std::fs::metadata(p).unwrap();
            (m.mode() & 0o7777, m.uid(), m.gid())
        };
        let (outer, inner) = (before(&victim), before(&victim.join("inner")));
        for through in [link.clone(), link.join("inner")] {
            let out = PosixLocal.protect(&through, Some("nobody"));
            if posix_owner(Some("nobody"))
                .and_then(|a| user_ids(&a))
                .is_none()
            {
                // No such local user here: refused before any link is looked at.
                assert!(!out.applied);
                continue;
            }
            assert!(!out.applied, "{out:?}");
            assert!(out.note.contains("leads through a link"), "{}", out.note);
        }
        assert_eq!(before(&victim), outer);
        assert_eq!(before(&victim.join("inner")), inner);
    }
}
