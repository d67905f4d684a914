//! Security identifiers: the per-service SID of `NT SERVICE\<name>` and the well-known ones.
//! Windows derives a service SID as S-1-5-80 followed by the SHA-1 of the upper-cased
//! service name in UTF-16LE, read as five little-endian 32-bit numbers.

use sha1::{Digest, Sha1};

pub const LOCAL_SYSTEM: &str = "S-1-5-18";
pub const ADMINISTRATORS: &str = "S-1-5-32-544";

/// The service name in an account such as `NT SERVICE\MSSQL$PAYROLL`, if it is one.
pub fn service_name(account: &str) -> Option<&str> {
    let (domain, name) = account.split_once('\\')?;
    (domain.eq_ignore_ascii_case("NT SERVICE") && !name.is_empty()).then_some(name)
}

/// S-1-5-80-… for a service name (MSSQLSERVER, MSSQL$PAYROLL, SQLSERVERAGENT …).
pub fn service_sid(service: &str) -> String {
    let utf16: Vec<u8> = service
        .to_uppercase()
        .encode_utf16()
        .flat_map(|u| u.to_le_bytes())
        .collect();
    let h = Sha1::digest(&utf16);
    let parts: Vec<String> = h
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]).to_string())
        .collect();
    format!("S-1-5-80-{}", parts.join("-"))
}

/// The SDDL aliases Windows prints for well-known SIDs, and back.
pub fn alias_to_sid(s: &str) -> String {
    match s {
        "SY" => LOCAL_SYSTEM.into(),
        "BA" => ADMINISTRATORS.into(),
        "BU" => "S-1-5-32-545".into(),
        "AU" => "S-1-5-11".into(),
        "WD" => "S-1-1-0".into(),
        "CO" => "S-1-3-0".into(),
        "NS" => "S-1-5-20".into(),
        "LS" => "S-1-5-19".into(),
        other => other.to_ascii_uppercase(),
    }
}

/// A readable name for a SID, when it is a well-known one.
pub fn well_known_name(sid: &str) -> Option<&'static str> {
    Some(match sid {
        LOCAL_SYSTEM => "NT AUTHORITY\\SYSTEM",
        ADMINISTRATORS => "BUILTIN\\Administrators",
        "S-1-5-32-545" => "BUILTIN\\Users",
        "S-1-5-11" => "NT AUTHORITY\\Authenticated Users",
        "S-1-1-0" => "Everyone",
        "S-1-3-0" => "CREATOR OWNER",
        "S-1-5-20" => "NT AUTHORITY\\NETWORK SERVICE",
        "S-1-5-19" => "NT AUTHORITY\\LOCAL SERVICE",
        _ => return None,
    })
}

/// Whether a string is a SID in S-1-… form.
pub fn is_sid(s: &str) -> bool {
    let mut parts = s.split('-');
    parts.next().is_some_and(|p| p.eq_ignore_ascii_case("S")) && parts.next() == Some("1") && {
        let rest: Vec<&str> = parts.collect();
        !rest.is_empty()
            && rest.len() <= 16
            && rest.iter().all(|p| {
                !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()) && p.parse::<u64>().is_ok()
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_sids_match_the_ones_windows_reports() {
        // From whoami /groups and secedit captures (shared/reference/sqlserver-facts.md §5.2).
        assert_eq!(
            service_sid("MSSQLSERVER"),
            "S-1-5-80-3880718306-3832830129-1677859214-2598158968-1052248003"
        );
        assert_eq!(
            service_sid("SQLSERVERAGENT"),
            "S-1-5-80-344959196-2060754871-2302487193-2804545603-1466107430"
        );
        assert_eq!(
            service_sid("MSSQL$SQLEXPRESS"),
            "S-1-5-80-3880006512-4290199581-1648723128-3569869737-3631323133"
        );
        assert_eq!(
            service_sid("MSSQL$PAYROLL"),
            "S-1-5-80-721008879-1477597584-1515728915-3166309182-2709462949"
        );
        assert_eq!(
            service_sid("mssqlserver"),
            service_sid("MSSQLSERVER"),
            "case does not matter"
        );
    }

    #[test]
    fn service_accounts_are_recognised() {
        assert_eq!(service_name(r"NT Service\MSSQLSERVER"), Some("MSSQLSERVER"));
        assert_eq!(
            service_name(r"NT SERVICE\MSSQL$PAYROLL"),
            Some("MSSQL$PAYROLL")
        );
        assert_eq!(service_name(r"CONTOSO\svc-sql"), None);
        assert_eq!(service_name("mssql"), None);
    }

    #[test]
    fn sids_are_validated() {
        assert!(is_sid("S-1-5-18"));
        assert!(is_sid(&service_sid("X")));
        assert!(!is_sid("S-1-"));
        assert!(!is_sid("S-1-5-x"));
        assert!(!is_sid("BA"));
        assert_eq!(alias_to_sid("SY"), LOCAL_SYSTEM);
    }
}

/// A binary SID (SUSER_SID's varbinary) as a string SID, S-1-...
pub fn from_bytes(b: &[u8]) -> Option<String> {
    if b.len() < 8 || b[0] != 1 {
        return None;
    }
    let n = b[1] as usize;
    if b.len() != 8 + 4 * n {
        return None;
    }
    let mut authority = [0u8; 8];
    authority[2..].copy_from_slice(&b[2..8]);
    let mut s = format!("S-1-{}", u64::from_be_bytes(authority));
    for c in b[8..].chunks(4) {
        s.push_str(&format!(
            "-{}",
            u32::from_le_bytes([c[0], c[1], c[2], c[3]])
        ));
    }
    Some(s)
}

#[cfg(test)]
mod from_bytes_tests {
    #[test]
    fn binary_sids_read_as_windows_writes_them() {
        let b = [1u8, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 0x20, 2, 0, 0];
        assert_eq!(super::from_bytes(&b).as_deref(), Some("S-1-5-32-544"));
        assert_eq!(super::from_bytes(&[1]), None);
        assert_eq!(super::from_bytes(&b[..12]), None);
    }
}
