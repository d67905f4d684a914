//! Who may read and write the server's files on a Windows host: an owner and a DACL per
//! folder and file, inherited as NTFS inherits (object-inherit to files, container-inherit to
//! folders, inherit-only, protected descriptors that stop inheritance), and the security
//! context of each access: the service account for SQL Server itself and SQL logins, the
//! Windows account for Windows logins (see `Instance::reader_token`). Descriptors are kept
//! in `<data dir>/acls.json`, keyed by the path's components as NTFS compares them.
//!
//! Rights are reduced to what SQL Server's file access needs: read, write (add a file) and
//! add a folder (xp_create_subdir).
//! Allow ACEs only: a deny ACE in SDDL is refused rather than half-modelled.

use serde::{Deserialize, Serialize};
use sha1::Digest;
use std::collections::BTreeMap;

pub const READ: u8 = 1;
pub const WRITE: u8 = 2;
/// FILE_ADD_SUBDIRECTORY: create a folder in this one (xp_create_subdir).
pub const ADD_FOLDER: u8 = 4;
pub const FULL: u8 = READ | WRITE | ADD_FOLDER;

pub const EVERYONE: &str = "S-1-1-0";
pub const CREATOR_OWNER: &str = "S-1-3-0";
pub const SERVICE: &str = "S-1-5-6";
pub const AUTHENTICATED_USERS: &str = "S-1-5-11";
pub const SYSTEM: &str = "S-1-5-18";
pub const ADMINISTRATORS: &str = "S-1-5-32-544";
pub const USERS: &str = "S-1-5-32-545";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ace {
    pub sid: String,
    pub mask: u8,
    /// OI: inherited by files.
    pub object_inherit: bool,
    /// CI: inherited by folders (and through them).
    pub container_inherit: bool,
    /// IO: not for the object itself, only for what inherits it.
    pub inherit_only: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Descriptor {
    pub owner: Option<String>,
    /// SE_DACL_PROTECTED: nothing inherited from above.
    pub protected: bool,
    pub aces: Vec<Ace>,
}

/// A security context: the account's SID first, then its groups'.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub sids: Vec<String>,
}

impl Token {
    pub fn user(&self) -> &str {
        &self.sids[0]
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct AclStore {
    entries: BTreeMap<String, Descriptor>,
}

fn key(comps: &[String]) -> String {
    comps.join("\\").to_uppercase()
}

impl AclStore {
    pub fn load(path: &std::path::Path) -> std::io::Result<Option<AclStore>> {
        match std::fs::read(path) {
            Ok(b) => serde_json::from_slice(&b)
                .map(Some)
                .map_err(|e| std::io::Error::other(format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub fn save(&self, path: &std::path::Path) -> std::io::Result<()> {
        let tmp = path.with_extension("tmp");
        std::fs::write(
            &tmp,
            serde_json::to_vec_pretty(self).expect("acls serialize"),
        )?;
        std::fs::rename(tmp, path)
    }

    pub fn set(&mut self, comps: &[String], d: Descriptor) {
        self.entries.insert(key(comps), d);
    }

    pub fn get(&self, comps: &[String]) -> Option<&Descriptor> {
        self.entries.get(&key(comps))
    }

    /// The ACEs that apply to the object at `comps` (a folder when `is_dir`), its own and
    /// those inherited down to it, with CREATOR OWNER replaced by its owner. None when no
    /// descriptor governs it at all (a null DACL: everyone may).
    pub fn effective(&self, comps: &[String], is_dir: bool) -> Option<Vec<(String, u8)>> {
        let own = self.get(comps);
        let owner = own.and_then(|d| d.owner.clone());
        let mut out = Vec::new();
        let mut governed = false;
        if let Some(d) = own {
            // An owner alone (a file created where nothing is inherited) sets no DACL.
            governed = d.protected || !d.aces.is_empty();
            out.extend(
                d.aces
                    .iter()
                    .filter(|a| !a.inherit_only)
                    .map(|a| (a.sid.clone(), a.mask)),
            );
            if d.protected {
                return Some(out);
            }
        }
        for depth in (1..comps.len()).rev() {
            let Some(d) = self.get(&comps[..depth]) else {
                continue;
            };
            governed = true;
            let direct = depth == comps.len() - 1;
            for a in &d.aces {
                let reaches = if direct {
                    if is_dir {
                        a.container_inherit
                    } else {
                        a.object_inherit
                    }
                } else {
                    a.container_inherit && (is_dir || a.object_inherit)
                };
                if !reaches {
                    continue;
                }
                if a.sid == CREATOR_OWNER {
                    if let Some(o) = &owner {
                        out.push((o.clone(), a.mask));
                    }
                } else {
                    out.push((a.sid.clone(), a.mask));
                }
            }
            if d.protected {
                break;
            }
        }
        governed.then_some(out)
    }

    /// Whether `token` holds every right of `mask` on the object.
    pub fn allows(&self, comps: &[String], is_dir: bool, token: &Token, mask: u8) -> bool {
        let Some(aces) = self.effective(comps, is_dir) else {
            return true;
        };
        let granted = aces
            .iter()
            .filter(|(sid, _)| token.sids.iter().any(|s| s.eq_ignore_ascii_case(sid)))
            .fold(0u8, |m, (_, r)| m | r);
        granted & mask == mask
    }

    /// Who may read the object, for messages and tests: the SIDs of its read ACEs.
    pub fn readers(&self, comps: &[String], is_dir: bool) -> Vec<String> {
        self.effective(comps, is_dir)
            .unwrap_or_default()
            .into_iter()
            .filter(|(_, m)| m & READ != 0)
            .map(|(s, _)| s)
            .collect()
    }
}

/// The SID of a Windows service (NT SERVICE\name): S-1-5-80 and the SHA-1 of the upper-cased
/// name in UTF-16LE as five little-endian numbers (how Windows derives per-service SIDs).
pub fn service_sid(service: &str) -> String {
    let utf16: Vec<u8> = service
        .to_uppercase()
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let h = sha1::Sha1::digest(&utf16);
    let parts: Vec<String> = h
        .chunks(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]).to_string())
        .collect();
    format!("S-1-5-80-{}", parts.join("-"))
}

/// A domain account's SID, made up but stable: the domain's from its name, the RID from the
/// user's (S-1-5-21-a-b-c-rid).
pub fn domain_account_sid(domain: &str, user: &str) -> String {
    let d = sha2::Sha256::digest(domain.to_uppercase().as_bytes());
    let n = |i: usize| u32::from_le_bytes([d[i], d[i + 1], d[i + 2], d[i + 3]]);
    let u = sha2::Sha256::digest(user.to_uppercase().as_bytes());
    let rid = 1100 + u32::from_le_bytes([u[0], u[1], u[2], u[3]]) % 100_000;
    format!("S-1-5-21-{}-{}-{}-{rid}", n(0), n(4), n(8))
}

/// A string SID in its binary form (what SUSER_SID returns).
pub fn sid_to_bytes(sid: &str) -> Option<Vec<u8>> {
    let mut parts = sid.strip_prefix("S-1-")?.split('-');
    let authority: u64 = parts.next()?.parse().ok()?;
    let subs: Vec<u32> = parts.map(|p| p.parse().ok()).collect::<Option<_>>()?;
    if subs.len() > 15 {
        return None;
    }
    let mut b = vec![1u8, subs.len() as u8];
    b.extend_from_slice(&authority.to_be_bytes()[2..]);
    for s in subs {
        b.extend_from_slice(&s.to_le_bytes());
    }
    Some(b)
}

/// A well-known account name as Windows spells it, or its SID when given as one.
pub fn sid_of_name(name: &str) -> Option<String> {
    if name.to_ascii_uppercase().starts_with("S-1-") {
        return Some(name.to_string());
    }
    let n = name.to_ascii_uppercase();
    Some(
        match n.as_str() {
            "EVERYONE" => EVERYONE,
            "CREATOR OWNER" => CREATOR_OWNER,
            "NT AUTHORITY\\SERVICE" => SERVICE,
            "NT AUTHORITY\\AUTHENTICATED USERS" => AUTHENTICATED_USERS,
            "NT AUTHORITY\\SYSTEM" => SYSTEM,
            "BUILTIN\\ADMINISTRATORS" => ADMINISTRATORS,
            "BUILTIN\\USERS" => USERS,
            _ => return None,
        }
        .to_string(),
    )
}

/// Any account by name: well-known ones, NT SERVICE\name (the per-service SID), else a
/// domain account DOMAIN\user; or a SID as it is.
pub fn sid_of_account(name: &str) -> Option<String> {
    if let Some(s) = sid_of_name(name) {
        return Some(s);
    }
    let (domain, user) = name.split_once('\\')?;
    Some(if domain.eq_ignore_ascii_case("NT SERVICE") {
        service_sid(user)
    } else {
        domain_account_sid(domain, user)
    })
}

fn alias(a: &str) -> Option<&'static str> {
    Some(match a {
        "WD" => EVERYONE,
        "CO" => CREATOR_OWNER,
        "SU" => SERVICE,
        "AU" => AUTHENTICATED_USERS,
        "SY" => SYSTEM,
        "BA" => ADMINISTRATORS,
        "BU" => USERS,
        _ => return None,
    })
}

/// The rights of an SDDL ACE, reduced to read and write.
fn rights(r: &str) -> Result<u8, String> {
    let mask = if let Some(hex) = r.strip_prefix("0x").or_else(|| r.strip_prefix("0X")) {
        u32::from_str_radix(hex, 16).map_err(|_| format!("bad access mask {r}"))?
    } else {
        let mut m = 0u32;
        for pair in r.as_bytes().chunks(2) {
            m |= match std::str::from_utf8(pair).unwrap_or("") {
                "FA" | "GA" => 0x1f01ff,
                "FR" | "GR" => 0x120089,
                "FW" | "GW" => 0x120116,
                "FX" | "GX" => 0x1200a0,
                // ADS_RIGHT_ACTDS_LIST: on a folder, FILE_ADD_SUBDIRECTORY (icacls' AD).
                "LC" => 0x4,
                "RC" | "SD" | "WD" | "WO" => 0,
                other => return Err(format!("unsupported right {other}")),
            };
        }
        m
    };
    let mut out = 0;
    if mask & 0x1 != 0 || mask & 0x8000_0000 != 0 || mask & 0x1000_0000 != 0 {
        out |= READ; // FILE_READ_DATA, GENERIC_READ, GENERIC_ALL
    }
    if mask & 0x2 != 0 || mask & 0x4000_0000 != 0 || mask & 0x1000_0000 != 0 {
        out |= WRITE; // FILE_WRITE_DATA / FILE_ADD_FILE, GENERIC_WRITE, GENERIC_ALL
    }
    if mask & 0x4 != 0 || mask & 0x4000_0000 != 0 || mask & 0x1000_0000 != 0 {
        out |= ADD_FOLDER; // FILE_ADD_SUBDIRECTORY / FILE_APPEND_DATA, GENERIC_WRITE, GENERIC_ALL
    }
    Ok(out)
}

/// Parses the owner and DACL of an SDDL string: `O:sid` and `D:[P][AI](A;flags;rights;;;sid)...`.
/// Allow ACEs only; SACLs and groups are ignored.
pub fn parse_sddl(sddl: &str) -> Result<Descriptor, String> {
    let mut d = Descriptor::default();
    let sid = |s: &str| -> Result<String, String> {
        alias(s)
            .map(str::to_string)
            .or_else(|| s.starts_with("S-1-").then(|| s.to_string()))
            .ok_or_else(|| format!("unknown SID {s}"))
    };
    let mut rest = sddl.trim();
    while !rest.is_empty() {
        let (tag, body) = rest.split_at(2.min(rest.len()));
        let end = body
            .char_indices()
            .find(|&(i, c)| {
                c.is_ascii_alphabetic()
                    && body[i..].len() >= 2
                    && body[i + 1..].starts_with(':')
                    && !body[..i].ends_with(';')
                    && body[..i].matches('(').count() == body[..i].matches(')').count()
            })
            .map_or(body.len(), |(i, _)| i);
        let part = &body[..end];
        rest = &body[end..];
        match tag {
            "O:" => d.owner = Some(sid(part)?),
            "G:" | "S:" => {}
            "D:" => {
                let flags_end = part.find('(').unwrap_or(part.len());
                let flags = &part[..flags_end];
                d.protected = flags.contains('P');
                for ace in part[flags_end..]
                    .split(')')
                    .filter(|a| !a.trim().is_empty())
                {
                    let f: Vec<&str> = ace.trim_start_matches('(').split(';').collect();
                    if f.len() != 6 {
                        return Err(format!("malformed ACE ({ace})"));
                    }
                    if f[0] != "A" {
                        return Err(format!("only allow ACEs are modelled, not {}", f[0]));
                    }
                    let fl = f[1];
                    d.aces.push(Ace {
                        sid: sid(f[5])?,
                        mask: rights(f[2])?,
                        object_inherit: fl.contains("OI"),
                        container_inherit: fl.contains("CI"),
                        inherit_only: fl.contains("IO"),
                    });
                }
            }
            other => return Err(format!("unknown SDDL part {other}")),
        }
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(p: &str) -> Vec<String> {
        p.split('\\').map(str::to_string).collect()
    }

    #[test]
    fn sddl_inheritance_and_protection() {
        let mut s = AclStore::default();
        s.set(
            &c("C"),
            parse_sddl("D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)").unwrap(),
        );
        let user = Token {
            sids: vec!["S-1-5-21-1-2-3-1001".into(), USERS.into()],
        };
        assert!(s.allows(&c("C\\temp\\f.key"), false, &user, READ));
        assert!(!s.allows(&c("C\\temp\\f.key"), false, &user, WRITE));
        s.set(
            &c("C\\keys"),
            parse_sddl("O:SYD:P(A;OICI;FA;;;SY)(A;OICI;FR;;;S-1-5-21-1-2-3-1001)").unwrap(),
        );
        assert!(s.allows(&c("C\\keys\\deep\\f.key"), false, &user, READ));
        let other = Token {
            sids: vec!["S-1-5-21-1-2-3-1002".into(), USERS.into()],
        };
        assert!(!s.allows(&c("C\\keys\\deep\\f.key"), false, &other, READ));
        // Inherit-only CREATOR OWNER becomes the file's owner.
        s.set(&c("C\\own"), parse_sddl("D:P(A;OICIIO;FA;;;CO)").unwrap());
        s.set(
            &c("C\\own\\f"),
            Descriptor {
                owner: Some("S-1-5-21-1-2-3-1002".into()),
                ..Default::default()
            },
        );
        assert!(s.allows(&c("C\\own\\f"), false, &other, FULL));
        assert!(!s.allows(&c("C\\own"), true, &other, READ));
        assert!(
            parse_sddl("D:(D;;FA;;;WD)").is_err(),
            "deny ACEs are refused"
        );
        assert!(parse_sddl("D:(A;;FA;;;XX)").is_err());
    }

    #[test]
    fn service_sid_matches_windows() {
        // `sc showsid MSSQLSERVER` on any Windows host.
        assert_eq!(
            service_sid("MSSQLSERVER"),
            "S-1-5-80-3880718306-3832830129-1677859214-2598158968-1052248003"
        );
        let b = sid_to_bytes("S-1-5-32-544").unwrap();
        assert_eq!(b, [1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 0x20, 2, 0, 0]);
    }
}
