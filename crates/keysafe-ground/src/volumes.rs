//! Where the copy goes: the volumes of this machine (label, file system, free space,
//! removable or not) and the warnings an administrator should see before trusting one.

use serde::Serialize;
use std::path::{Path, PathBuf};

/// A volume as the Back Up dialog lists it and the engine judges it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Volume {
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub mount_point: PathBuf,
    pub device: String,
    pub label: Option<String>,
    pub file_system: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub total_bytes: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub free_bytes: u64,
    pub removable: bool,
    /// False for FAT and exFAT, which keep no permissions: anyone who holds the medium
    /// reads the files.
    pub keeps_acls: bool,
    /// What kind of drive holds it, in Windows' terms (GetDriveTypeW): removable, fixed,
    /// remote, cdrom, ramdisk or unknown. Elsewhere: removable, remote or fixed.
    pub drive_type: String,
    /// The volume serial number (Windows).
    pub serial: Option<u32>,
}

/// FAT and exFAT keep no permissions: anyone who holds the medium reads the files.
pub fn keeps_acls(file_system: &str) -> bool {
    !matches!(
        file_system.to_ascii_lowercase().as_str(),
        "vfat" | "fat" | "fat32" | "msdos" | "exfat"
    )
}

#[derive(Debug, Clone, Serialize)]
pub struct Destination {
    pub path: PathBuf,
    pub volume: Option<Volume>,
    pub warnings: Vec<String>,
}

/// Unescapes /proc/mounts' octal escapes (\040 for a space).
#[cfg(not(windows))]
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push(((b[i + 1] - b'0') << 6) | ((b[i + 2] - b'0') << 3) | (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(all(unix, not(windows)))]
fn space(p: &Path) -> Option<(u64, u64)> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(p.as_os_str().as_bytes()).ok()?;
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut s) } != 0 {
        return None;
    }
    Some((
        s.f_blocks as u64 * s.f_frsize as u64,
        s.f_bavail as u64 * s.f_frsize as u64,
    ))
}

#[cfg(not(any(unix, windows)))]
fn space(_: &Path) -> Option<(u64, u64)> {
    None
}

#[cfg(not(windows))]
fn removable(device: &str) -> bool {
    // /dev/sdb1 -> /sys/class/block/sdb1 -> its disk's "removable" flag.
    let Some(name) = device.strip_prefix("/dev/") else {
        return false;
    };
    let sys = PathBuf::from("/sys/class/block").join(name);
    let disk = std::fs::canonicalize(&sys).ok().and_then(|p| {
        if p.join("partition").exists() {
            p.parent().map(Path::to_path_buf)
        } else {
            Some(p)
        }
    });
    disk.and_then(|d| std::fs::read_to_string(d.join("removable")).ok())
        .is_some_and(|s| s.trim() == "1")
}

#[cfg(not(windows))]
fn label(device: &str) -> Option<String> {
    let dev = std::fs::canonicalize(device).ok()?;
    std::fs::read_dir("/dev/disk/by-label")
        .ok()?
        .flatten()
        .find(|e| std::fs::canonicalize(e.path()).ok().as_ref() == Some(&dev))
        .map(|e| unescape(&e.file_name().to_string_lossy()))
}

/// The mounted volumes: drive letters on Windows, /proc/self/mounts elsewhere.
#[cfg(windows)]
pub fn list() -> Vec<Volume> {
    use windows_sys::Win32::Storage::FileSystem::{
        GetDiskFreeSpaceExW, GetDriveTypeW, GetLogicalDriveStringsW, GetVolumeInformationW,
    };
    const DRIVE_REMOVABLE: u32 = 2;
    let drive_type = |t: u32| match t {
        2 => "removable",
        3 => "fixed",
        4 => "remote",
        5 => "cdrom",
        6 => "ramdisk",
        _ => "unknown",
    };
    let mut buf = vec![0u16; 512];
    let n = unsafe { GetLogicalDriveStringsW(buf.len() as u32, buf.as_mut_ptr()) } as usize;
    buf.truncate(n.min(buf.len()));
    buf.split(|c| *c == 0)
        .filter(|r| !r.is_empty())
        .map(|root| {
            let mut z: Vec<u16> = root.to_vec();
            z.push(0);
            let mut label = vec![0u16; 261];
            let mut fs = vec![0u16; 261];
            let (mut serial, mut maxlen, mut flags) = (0u32, 0u32, 0u32);
            let have = unsafe {
                GetVolumeInformationW(
                    z.as_ptr(),
                    label.as_mut_ptr(),
                    261,
                    &mut serial,
                    &mut maxlen,
                    &mut flags,
                    fs.as_mut_ptr(),
                    261,
                )
            } != 0;
            let (mut free, mut total, mut total_free) = (0u64, 0u64, 0u64);
            unsafe { GetDiskFreeSpaceExW(z.as_ptr(), &mut free, &mut total, &mut total_free) };
            let text = |v: &[u16]| {
                String::from_utf16_lossy(&v[..v.iter().position(|c| *c == 0).unwrap_or(v.len())])
            };
            let root_s = String::from_utf16_lossy(root);
            let kind = unsafe { GetDriveTypeW(z.as_ptr()) };
            Volume {
                mount_point: PathBuf::from(&root_s),
                device: root_s.clone(),
                label: Some(text(&label)).filter(|l| have && !l.is_empty()),
                keeps_acls: keeps_acls(&if have { text(&fs) } else { String::new() }),
                file_system: if have { text(&fs) } else { String::new() },
                total_bytes: total,
                free_bytes: free,
                removable: kind == DRIVE_REMOVABLE,
                drive_type: drive_type(kind).into(),
                serial: have.then_some(serial),
            }
        })
        .collect()
}

#[cfg(not(windows))]
pub fn list() -> Vec<Volume> {
    let Ok(text) = std::fs::read_to_string("/proc/self/mounts") else {
        return vec![];
    };
    text.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (device, mount, fs) = (f.next()?, unescape(f.next()?), f.next()?.to_string());
            if !device.starts_with('/') && fs != "tmpfs" && fs != "overlay" {
                return None;
            }
            let (total, free) = space(Path::new(&mount)).unwrap_or((0, 0));
            let removable = removable(device);
            let remote =
                ["nfs", "nfs4", "cifs", "smb3", "sshfs", "fuse.sshfs"].contains(&fs.as_str());
            Some(Volume {
                mount_point: PathBuf::from(mount),
                device: device.to_string(),
                label: label(device),
                keeps_acls: keeps_acls(&fs),
                file_system: fs,
                total_bytes: total,
                free_bytes: free,
                removable,
                drive_type: if removable {
                    "removable"
                } else if remote {
                    "remote"
                } else {
                    "fixed"
                }
                .into(),
                serial: None,
            })
        })
        .collect()
}

/// The path with links resolved, in the form the volume list uses: on Windows without the
/// `\\?\` prefix that canonicalize adds (`\\?\C:\x` is `C:\x`, `\\?\UNC\s\x` is `\\s\x`)
/// and with the drive letter in capitals, as GetLogicalDriveStringsW gives it.
fn canonical(path: &Path) -> PathBuf {
    let p = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    canonical_root(&p)
}

#[cfg(not(windows))]
fn canonical_root(p: &Path) -> PathBuf {
    p.to_path_buf()
}

#[cfg(windows)]
fn canonical_root(p: &Path) -> PathBuf {
    let s = p.to_string_lossy();
    let s = if let Some(rest) = s.strip_prefix(r"\\?\UNC\") {
        format!(r"\\{rest}")
    } else {
        s.strip_prefix(r"\\?\").unwrap_or(&s).to_string()
    };
    let mut c: Vec<char> = s.chars().collect();
    if c.len() >= 2 && c[1] == ':' {
        c[0] = c[0].to_ascii_uppercase();
    }
    PathBuf::from(c.into_iter().collect::<String>())
}

/// The volume holding `path`: the longest mount point that is a prefix of it.
pub fn volume_of(path: &Path, volumes: &[Volume]) -> Option<Volume> {
    let p = canonical(path);
    volumes
        .iter()
        .filter(|v| p.starts_with(canonical_root(&v.mount_point)))
        .max_by_key(|v| v.mount_point.as_os_str().len())
        .cloned()
}

pub fn check_destination(path: &Path, needed_bytes: u64) -> Destination {
    let volume = volume_of(path, &list());
    let mut warnings = Vec::new();
    match &volume {
        None => warnings.push("The destination's volume could not be identified.".into()),
        Some(v) => {
            if !v.removable {
                warnings.push(format!(
                    "{} is not a removable medium: the backup must still be carried off-site.",
                    v.mount_point.display()
                ));
            }
            if !v.keeps_acls {
                warnings.push(format!("{} is {}: it keeps no permissions, so anyone holding the medium can read the files.", v.mount_point.display(), v.file_system));
            }
            if v.total_bytes > 0 && v.free_bytes < needed_bytes {
                warnings.push(format!(
                    "Only {} are free on {}.",
                    humansize::format_size(v.free_bytes, humansize::BINARY),
                    v.mount_point.display()
                ));
            }
        }
    }
    Destination {
        path: path.to_path_buf(),
        volume,
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(not(windows))]
    fn mount_escapes_are_decoded() {
        assert_eq!(unescape(r"/media/USB\040KEY"), "/media/USB KEY");
    }

    #[test]
    fn a_temp_folder_is_found_on_a_volume_that_is_not_removable() {
        let d = tempfile::tempdir().unwrap();
        let dest = check_destination(d.path(), 1);
        let v = dest.volume.expect("the temp dir is on a mounted volume");
        assert!(canonical(d.path()).starts_with(canonical_root(&v.mount_point)));
        assert!(!v.removable);
        assert!(dest
            .warnings
            .iter()
            .any(|w| w.contains("not a removable medium")));
    }

    #[test]
    fn fat_keeps_no_acls() {
        let v = Volume {
            mount_point: "/m".into(),
            device: "/dev/sdz1".into(),
            label: None,
            file_system: "vfat".into(),
            keeps_acls: keeps_acls("vfat"),
            total_bytes: 0,
            free_bytes: 0,
            removable: true,
            drive_type: "removable".into(),
            serial: None,
        };
        assert!(!v.keeps_acls);
    }
}
