//! The backup folder's DACL: protected (inheritance off), full control for SYSTEM,
//! Administrators, the instance's service and any principal the user adds; nothing else.
//! Built as SDDL, parsed back, and verified ACE by ACE.

use super::sid::{alias_to_sid, is_sid, well_known_name, ADMINISTRATORS, LOCAL_SYSTEM};
use serde::Serialize;

/// Full control: FA in SDDL, 0x1F01FF as a mask.
const FULL: &str = "FA";
/// Applies to the folder, its subfolders and files.
const INHERIT: &str = "OICI";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SddlError {
    #[error("'{0}' is not a SID")]
    NotASid(String),
    #[error("the security descriptor has no DACL")]
    NoDacl,
    #[error("malformed ACE '{0}'")]
    BadAce(String),
}

/// Read access: FR in SDDL (FILE_GENERIC_READ, 0x120089).
const READ: &str = "FR";

/// The SDDL to apply: `D:P` (protected), one allow-full-control ACE per SID, and read access
/// for `readers` (the Windows account a Windows-authenticated login reads files as).
pub fn backup_folder_dacl(
    service_sid: &str,
    extra: &[String],
    readers: &[String],
) -> Result<String, SddlError> {
    let full = full_control_sids(service_sid, extra)?;
    let mut out = format!(
        "D:P{}",
        full.iter()
            .map(|s| format!("(A;{INHERIT};{FULL};;;{s})"))
            .collect::<String>()
    );
    for r in readers {
        if !is_sid(r) {
            return Err(SddlError::NotASid(r.clone()));
        }
        if !full.iter().any(|x| x.eq_ignore_ascii_case(r)) {
            out.push_str(&format!("(A;{INHERIT};{READ};;;{r})"));
        }
    }
    Ok(out)
}

fn full_control_sids(service_sid: &str, extra: &[String]) -> Result<Vec<String>, SddlError> {
    let mut sids = vec![
        LOCAL_SYSTEM.to_string(),
        ADMINISTRATORS.to_string(),
        service_sid.to_string(),
    ];
    for e in extra {
        let s = alias_to_sid(e);
        if !is_sid(&s) {
            return Err(SddlError::NotASid(e.clone()));
        }
        if !sids.iter().any(|x| x.eq_ignore_ascii_case(&s)) {
            sids.push(s);
        }
    }
    if !is_sid(service_sid) {
        return Err(SddlError::NotASid(service_sid.into()));
    }
    Ok(sids)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ace {
    pub allow: bool,
    pub flags: String,
    pub rights: String,
    pub sid: String,
}

impl Ace {
    pub fn full_control(&self) -> bool {
        let r = self.rights.to_ascii_uppercase();
        r == "FA" || r == "0X1F01FF" || r == "GA"
    }
    /// Read (and execute) access and nothing more.
    pub fn read_only(&self) -> bool {
        let r = self.rights.to_ascii_uppercase();
        matches!(r.as_str(), "FR" | "GR" | "0X120089" | "0X1200A9" | "FRFX")
    }
    pub fn inherits_to_children(&self) -> bool {
        let f = self.flags.to_ascii_uppercase();
        f.contains("OI") && f.contains("CI")
    }
    pub fn inherited(&self) -> bool {
        self.flags.to_ascii_uppercase().contains("ID")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dacl {
    pub protected: bool,
    pub aces: Vec<Ace>,
}

/// Parses the DACL part of an SDDL string (as GetNamedSecurityInfo + ConvertSecurity…
/// returns it, owner and group included or not).
pub fn parse(sddl: &str) -> Result<Dacl, SddlError> {
    let d = sddl.find("D:").ok_or(SddlError::NoDacl)?;
    let rest = &sddl[d + 2..];
    // The DACL ends where an SACL (S:) starts outside parentheses.
    let mut end = rest.len();
    let mut depth = 0;
    for (i, c) in rest.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            'S' if depth == 0 && rest[i..].starts_with("S:") => {
                end = i;
                break;
            }
            _ => {}
        }
    }
    let rest = &rest[..end];
    let flags_end = rest.find('(').unwrap_or(rest.len());
    let flags = &rest[..flags_end];
    let protected = flags.contains('P');
    let mut aces = Vec::new();
    for raw in rest[flags_end..].split(')').filter(|s| !s.is_empty()) {
        let body = raw
            .strip_prefix('(')
            .ok_or_else(|| SddlError::BadAce(raw.into()))?;
        let f: Vec<&str> = body.split(';').collect();
        if f.len() < 6 {
            return Err(SddlError::BadAce(body.into()));
        }
        let allow = match f[0] {
            "A" => true,
            "D" => false,
            _ => return Err(SddlError::BadAce(body.into())),
        };
        aces.push(Ace {
            allow,
            flags: f[1].into(),
            rights: f[2].into(),
            sid: alias_to_sid(f[5]),
        });
    }
    Ok(Dacl { protected, aces })
}

/// What is wrong with a DACL read back from the folder, compared with what was meant: full
/// control for `expected_sids`, read access for `readers`, nobody else.
pub fn verify(read_back: &Dacl, expected_sids: &[String], readers: &[String]) -> Vec<String> {
    let mut problems = Vec::new();
    if !read_back.protected {
        problems.push("inheritance is on: permissions from the parent folder still apply".into());
    }
    for a in &read_back.aces {
        if !a.allow {
            problems.push(format!("unexpected deny entry for {}", a.sid));
        } else if readers.iter().any(|s| s.eq_ignore_ascii_case(&a.sid))
            && !expected_sids.iter().any(|s| s.eq_ignore_ascii_case(&a.sid))
        {
            if !a.read_only() && !a.full_control() {
                problems.push(format!(
                    "{} has {} instead of read access",
                    describe_sid(&a.sid),
                    a.rights
                ));
            }
        } else if !expected_sids.iter().any(|s| s.eq_ignore_ascii_case(&a.sid)) {
            problems.push(format!("unexpected access for {}", describe_sid(&a.sid)));
        } else if !a.full_control() {
            problems.push(format!(
                "{} has {} instead of full control",
                describe_sid(&a.sid),
                a.rights
            ));
        } else if a.inherited() {
            problems.push(format!(
                "the entry for {} is inherited",
                describe_sid(&a.sid)
            ));
        }
    }
    for s in expected_sids.iter().chain(readers) {
        if !read_back
            .aces
            .iter()
            .any(|a| a.allow && a.sid.eq_ignore_ascii_case(s))
        {
            problems.push(format!("{} is missing", describe_sid(s)));
        }
    }
    problems
}

pub fn describe_sid(sid: &str) -> String {
    match well_known_name(sid) {
        Some(n) => format!("{n} ({sid})"),
        None if sid.starts_with("S-1-5-80-") => format!("a service ({sid})"),
        None => sid.to_string(),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AclRow {
    pub principal: String,
    pub access: String,
    pub applies_to: String,
}

/// The DACL as the Security tab of Explorer would show it, for the report.
pub fn table(d: &Dacl) -> Vec<AclRow> {
    d.aces
        .iter()
        .map(|a| AclRow {
            principal: describe_sid(&a.sid),
            access: format!(
                "{} {}",
                if a.allow { "Allow" } else { "Deny" },
                if a.full_control() {
                    "Full control".to_string()
                } else if a.read_only() {
                    "Read".to_string()
                } else {
                    a.rights.clone()
                }
            ),
            applies_to: if a.inherits_to_children() {
                "This folder, subfolders and files".into()
            } else {
                "This folder only".into()
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::windows::sid::service_sid;

    #[test]
    fn the_dacl_is_protected_and_lists_exactly_the_principals() {
        let svc = service_sid("MSSQLSERVER");
        let s = backup_folder_dacl(&svc, &["S-1-5-21-1-2-3-1104".into()], &[]).unwrap();
        assert_eq!(
            s,
            format!("D:P(A;OICI;FA;;;S-1-5-18)(A;OICI;FA;;;S-1-5-32-544)(A;OICI;FA;;;{svc})(A;OICI;FA;;;S-1-5-21-1-2-3-1104)")
        );
        let d = parse(&s).unwrap();
        assert!(d.protected);
        assert_eq!(d.aces.len(), 4);
        let expected = vec![
            LOCAL_SYSTEM.to_string(),
            ADMINISTRATORS.to_string(),
            svc.clone(),
            "S-1-5-21-1-2-3-1104".to_string(),
        ];
        assert!(verify(&d, &expected, &[]).is_empty());
        // The operator's Windows account reads.
        let op = "S-1-5-21-1-2-3-2001".to_string();
        let with_reader = backup_folder_dacl(&svc, &[], std::slice::from_ref(&op)).unwrap();
        assert!(with_reader.ends_with(&format!("(A;OICI;FR;;;{op})")));
        let d = parse(&with_reader).unwrap();
        assert!(verify(&d, &expected[..3], std::slice::from_ref(&op)).is_empty());
        assert!(verify(&d, &expected[..3], &[])
            .iter()
            .any(|p| p.contains("unexpected access")));
        assert_eq!(table(&d)[3].access, "Allow Read");
        assert!(matches!(
            backup_folder_dacl(&svc, &["Everyone".into()], &[]),
            Err(SddlError::NotASid(_))
        ));
    }

    #[test]
    fn what_windows_reads_back_is_understood_and_checked() {
        let svc = service_sid("MSSQLSERVER");
        // Windows returns aliases, an owner and group, and may add inherited entries.
        let back = format!("O:BAG:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;{svc})");
        let d = parse(&back).unwrap();
        let expected = vec![
            LOCAL_SYSTEM.to_string(),
            ADMINISTRATORS.to_string(),
            svc.clone(),
        ];
        assert!(
            verify(&d, &expected, &[]).is_empty(),
            "{:?}",
            verify(&d, &expected, &[])
        );
        let loose = format!("D:AI(A;OICI;FA;;;SY)(A;OICIID;0x1200a9;;;BU)(A;OICI;FA;;;{svc})");
        let problems = verify(&parse(&loose).unwrap(), &expected, &[]);
        assert!(problems.iter().any(|p| p.contains("inheritance is on")));
        assert!(problems.iter().any(|p| p.contains("BUILTIN\\Users")));
        assert!(problems
            .iter()
            .any(|p| p.contains("Administrators") && p.contains("missing")));
        assert_eq!(
            table(&d)[0],
            AclRow {
                principal: "NT AUTHORITY\\SYSTEM (S-1-5-18)".into(),
                access: "Allow Full control".into(),
                applies_to: "This folder, subfolders and files".into()
            }
        );
    }

    #[test]
    fn malformed_sddl_is_an_error() {
        assert_eq!(parse("O:BA"), Err(SddlError::NoDacl));
        assert!(parse("D:P(A;OICI;FA)").is_err());
        assert!(parse("D:P(X;;FA;;;SY)").is_err());
    }
}
