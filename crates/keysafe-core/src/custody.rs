//! Split custody of a backup password (PCI DSS 3.7.6, split knowledge and dual control):
//! Keysafe generates the password, splits it into *k*-of-*n* shares with Shamir's secret
//! sharing (`blahaj`, GF(256)), and gives each custodian a page with one share. The whole
//! password is never written anywhere; a restore takes any *k* shares instead.
//!
//! A share as a person reads and types it: `KS1-` then Crockford base32 (no I, L, O or U;
//! case, spaces and hyphens ignored; O read as 0, I and L as 1) in groups of five. What it
//! encodes: the format (1), the split's identity (4 bytes), *k*, the share's number, the
//! share, and the first 4 bytes of the SHA-256 of all that, so a mistyped share is caught
//! and named before anything is combined.

use crate::{ErrorCode, KeysafeError, Password, Result};
use serde::Serialize;
use sha2::{Digest, Sha256};

const PREFIX: &str = "KS1-";
const FORMAT: u8 = 1;
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The length of the passwords Keysafe generates for a split.
pub const PASSWORD_LENGTH: usize = 24;

/// One custodian's share: who holds it and what they type back.
#[derive(Clone, Serialize)]
pub struct Share {
    pub custodian: String,
    /// 1..=n.
    pub number: u8,
    /// What the custodian types back (`KS1-...`).
    #[serde(skip)]
    text: String,
}

impl std::fmt::Debug for Share {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Share")
            .field("custodian", &self.custodian)
            .field("number", &self.number)
            .finish_non_exhaustive()
    }
}

impl Share {
    /// The share as its page prints it: the only place it is ever written.
    pub fn expose(&self) -> &str {
        &self.text
    }
}

/// A split: its identity and threshold, and the custodians' shares.
#[derive(Debug, Clone, Serialize)]
pub struct Split {
    /// 8 hex digits, printed on every page: shares of different splits do not mix.
    pub id: String,
    pub threshold: u8,
    pub shares: Vec<Share>,
}

/// What a report and the history keep of a split: never a share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct SplitCustody {
    pub split_id: String,
    pub threshold: u8,
    pub custodians: Vec<String>,
}

impl Split {
    pub fn custody(&self) -> SplitCustody {
        SplitCustody {
            split_id: self.id.clone(),
            threshold: self.threshold,
            custodians: self.shares.iter().map(|s| s.custodian.clone()).collect(),
        }
    }
}

fn invalid(m: impl Into<String>) -> KeysafeError {
    KeysafeError::new(ErrorCode::InvalidInput, m)
}

/// A new password (the policy's classes, `PASSWORD_LENGTH` characters) split among
/// `custodians`, any `threshold` of whom can rebuild it.
pub fn generate_and_split(threshold: u8, custodians: &[String]) -> Result<(Password, Split)> {
    let password = crate::password::generate(PASSWORD_LENGTH);
    let split = split(&password, threshold, custodians)?;
    Ok((password, split))
}

/// Splits `password` among `custodians` (one share each), `threshold` of them needed.
pub fn split(password: &Password, threshold: u8, custodians: &[String]) -> Result<Split> {
    let n = custodians.len();
    if threshold < 2 || (threshold as usize) > n || n > 255 {
        return Err(invalid(format!(
            "A split needs at least 2 shares to rebuild it and no more than there are custodians ({threshold} of {n} asked)."
        ))
        .next("Name each custodian once (--custodian, at least two) and choose k between 2 and their number."));
    }
    let mut seen = std::collections::HashSet::new();
    for c in custodians {
        if c.trim().is_empty() || !seen.insert(c.trim().to_lowercase()) {
            return Err(invalid(format!(
                "Each custodian needs a name of their own ({c:?} is empty or given twice)."
            )));
        }
    }
    let id: [u8; 4] = rand::random();
    let shares = blahaj::Sharks(threshold)
        .dealer(password.expose().as_bytes())
        .take(n)
        .zip(custodians)
        .map(|(s, custodian)| {
            let raw: Vec<u8> = Vec::from(&s);
            Share {
                custodian: custodian.trim().to_string(),
                number: raw[0],
                text: encode(&id, threshold, &raw),
            }
        })
        .collect();
    Ok(Split {
        id: hex::encode_upper(id),
        threshold,
        shares,
    })
}

fn encode(id: &[u8; 4], threshold: u8, share: &[u8]) -> String {
    let mut payload = vec![FORMAT];
    payload.extend_from_slice(id);
    payload.push(threshold);
    payload.extend_from_slice(share);
    let check = Sha256::digest(&payload);
    payload.extend_from_slice(&check[..4]);
    let chars = base32(&payload);
    let groups: Vec<&str> = chars
        .as_bytes()
        .chunks(5)
        .map(|c| std::str::from_utf8(c).expect("ASCII"))
        .collect();
    format!("{PREFIX}{}", groups.join("-"))
}

fn base32(bytes: &[u8]) -> String {
    let mut out = String::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for b in bytes {
        acc = (acc << 8) | *b as u32;
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((acc >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((acc << (5 - bits)) & 31) as usize] as char);
    }
    out
}

fn unbase32(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for ch in s.chars() {
        let c = match ch.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        };
        let v = ALPHABET.iter().position(|a| *a as char == c)? as u32;
        acc = (acc << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    // What encode leaves after the last byte is fewer than 5 bits, all zero: anything else is
    // a character typed wrong (or one too many) that would otherwise change nothing.
    if bits >= 5 || acc != 0 {
        return None;
    }
    Some(out)
}

/// A share as typed: its split, threshold, number and the share itself.
struct Parsed {
    id: String,
    threshold: u8,
    raw: Vec<u8>,
}

/// `which` names the share in errors ("the 2nd share you gave").
fn parse(text: &str, which: &str) -> Result<Parsed> {
    let cleaned: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    let body = cleaned
        .get(..3)
        .filter(|p| {
            let p = p.to_ascii_uppercase().replace(['I', 'L'], "1");
            p == "KS1"
        })
        .map(|_| &cleaned[3..])
        .ok_or_else(|| {
            invalid(format!(
                "{which} does not start with KS1-: it is not a Keysafe share."
            ))
        })?;
    let mistyped = || {
        invalid(format!(
            "{which} has a typing mistake: its checksum does not match what it says."
        ))
        .next("Compare it with the custodian's page character by character (O and 0, I and 1 are the same; case, spaces and hyphens do not matter).")
    };
    let bytes = unbase32(body).ok_or_else(mistyped)?;
    if bytes.len() < 4 + 6 + 2 {
        return Err(mistyped());
    }
    let (payload, check) = bytes.split_at(bytes.len() - 4);
    if Sha256::digest(payload)[..4] != *check || payload[0] != FORMAT {
        return Err(mistyped());
    }
    Ok(Parsed {
        id: hex::encode_upper(&payload[1..5]),
        threshold: payload[5],
        raw: payload[6..].to_vec(),
    })
}

fn ordinal(i: usize) -> String {
    let n = i + 1;
    let suffix = match (n % 10, n % 100) {
        (1, 11) | (2, 12) | (3, 13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("the {n}{suffix} share you gave")
}

/// The password from `shares` (any `threshold` of one split, in any order). A share that is
/// mistyped, from another split, or given twice is named.
pub fn combine(shares: &[Password]) -> Result<Password> {
    let parsed = shares
        .iter()
        .enumerate()
        .map(|(i, s)| parse(s.expose(), &ordinal(i)))
        .collect::<Result<Vec<_>>>()?;
    let first = parsed
        .first()
        .ok_or_else(|| invalid("No share was given."))?;
    for (i, p) in parsed.iter().enumerate().skip(1) {
        if p.id != first.id {
            return Err(invalid(format!(
                "{} belongs to split {}, the first to split {}: shares of different splits do not combine.",
                ordinal(i),
                p.id,
                first.id
            )));
        }
        if let Some(j) = parsed[..i].iter().position(|q| q.raw[0] == p.raw[0]) {
            return Err(invalid(format!(
                "{} is share number {} again ({} was): each custodian's share counts once.",
                ordinal(i),
                p.raw[0],
                ordinal(j)
            )));
        }
    }
    if parsed.len() < first.threshold as usize {
        return Err(invalid(format!(
            "Split {} needs {} shares; {} given.",
            first.id,
            first.threshold,
            parsed.len()
        ))
        .next("Ask another custodian for their share."));
    }
    let blahaj_shares = parsed
        .iter()
        .map(|p| blahaj::Share::try_from(p.raw.as_slice()))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| invalid(format!("A share is malformed: {e}.")))?;
    let secret = blahaj::Sharks(first.threshold)
        .recover(&blahaj_shares)
        .map_err(|e| invalid(format!("The shares do not combine: {e}.")))?;
    String::from_utf8(secret).map(Password::new).map_err(|_| {
        invalid("The shares combine to something that is not a Keysafe password: one of them is from another split with the same number.")
    })
}

/// The share's number, split and threshold, without combining (for a prompt's echo).
pub fn describe(share: &Password) -> Result<String> {
    let p = parse(share.expose(), "the share")?;
    Ok(format!(
        "share {} of split {} ({} needed)",
        p.raw[0], p.id, p.threshold
    ))
}

/// What a custodian signs (PCI DSS 3.7.8).
pub const ACKNOWLEDGEMENT: &str = "I received this share of a SQL Server key backup password. I will keep it where only I can reach it, never copy it, photograph it or type it anywhere but into Keysafe during a restore, never show it to another custodian, and report its loss or disclosure at once.";

/// One custodian's page (HTML, printable): the share as text and as a QR code, the split,
/// what it protects, the date and the acknowledgement to sign.
pub fn page(split: &Split, share: &Share, protects: &[String], date: &str) -> String {
    render_page(
        &PageFacts {
            split_id: &split.id,
            number: share.number,
            of: split.shares.len(),
            threshold: split.threshold,
            custodian: &share.custodian,
            protects,
            date,
        },
        Some(share.expose()),
    )
}

/// What the first custodian's page will look like, before any password exists: the same
/// page with a placeholder where the share and its QR code will be (the dialog's preview).
pub fn preview_page(threshold: u8, custodians: &[String], protects: &[String]) -> Result<String> {
    // The same checks as the real split (k within the custodians, each named once).
    let split = split(&Password::new("preview"), threshold, custodians)?;
    Ok(render_page(
        &PageFacts {
            split_id: "(its id)",
            number: 1,
            of: split.shares.len(),
            threshold,
            custodian: &split.shares[0].custodian,
            protects,
            date: &chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
        },
        None,
    ))
}

struct PageFacts<'a> {
    split_id: &'a str,
    number: u8,
    of: usize,
    threshold: u8,
    custodian: &'a str,
    protects: &'a [String],
    date: &'a str,
}

fn render_page(f: &PageFacts, share: Option<&str>) -> String {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let (text, qr) = match share {
        Some(share) => (
            esc(share),
            qrcode::QrCode::with_error_correction_level(share, qrcode::EcLevel::M)
                .map(|q| {
                    q.render::<qrcode::render::svg::Color>()
                        .min_dimensions(200, 200)
                        .build()
                })
                .unwrap_or_default(),
        ),
        None => (
            "The share is printed here when the backup runs.".to_string(),
            r#"<div class="qr-placeholder">its QR code here</div>"#.to_string(),
        ),
    };
    let items: String = f
        .protects
        .iter()
        .map(|p| format!("<li>{}</li>", esc(p)))
        .collect();
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Keysafe share {number} of {n}: {custodian}</title>
<style>body{{font-family:sans-serif;max-width:42em;margin:2em auto;line-height:1.5;color:#000;background:#fff}}
.share{{font-family:monospace;font-size:1.4em;letter-spacing:.05em;overflow-wrap:break-word;border:2px solid #000;padding:.6em}}
.qr-placeholder{{width:200px;height:200px;border:2px dashed #555;display:flex;align-items:center;justify-content:center;color:#333}}
.sign{{margin-top:3em;border-top:1px solid #000;width:20em}}</style></head>
<body>
<h1>Share {number} of {n} for {custodian}</h1>
<p>Split <strong>{id}</strong>: any <strong>{k}</strong> of the {n} shares rebuild the backup password of these keys; fewer reveal nothing about it.</p>
<ul>{items}</ul>
<p>Created {date}.</p>
<h2>Your share</h2>
<p class="share" aria-label="share, in groups of five characters">{text}</p>
<figure aria-label="the same share as a QR code">{qr}</figure>
<p>Type it into Keysafe when a restore asks for shares: case, spaces and hyphens do not matter, O is read as 0 and I or L as 1, and a typing mistake is caught.</p>
<h2>Acknowledgement</h2>
<p>{ack}</p>
<p class="sign">{custodian}, signature and date</p>
</body></html>
"#,
        number = f.number,
        n = f.of,
        k = f.threshold,
        id = esc(f.split_id),
        custodian = esc(f.custodian),
        date = esc(f.date),
        ack = ACKNOWLEDGEMENT,
    )
}

/// Writes each custodian's page into `dir` (created private): `share-<n>-<custodian>.html`.
pub fn write_pages(
    split: &Split,
    protects: &[String],
    dir: &std::path::Path,
) -> Result<Vec<std::path::PathBuf>> {
    crate::private_fs::create_dir_all(dir)?;
    let date = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string();
    let mut out = Vec::new();
    for s in &split.shares {
        let name: String = s
            .custodian
            .chars()
            .map(|c| if c.is_alphanumeric() { c } else { '_' })
            .take(40)
            .collect();
        let path = crate::copy::write_new(
            dir,
            &format!("share-{}-{}-{name}.html", split.id, s.number),
            page(split, s, protects, &date).as_bytes(),
        )?;
        out.push(path);
    }
    Ok(out)
}

/// What a backup with split custody leaves: the generated password(s) (for this run only),
/// what the report records of each split, and the custodians' pages.
pub struct RunSplit {
    /// The password of every instance that has no split of its own.
    pub password: Password,
    /// The run's one split (`SplitScope::Run`).
    pub custody: Option<SplitCustody>,
    /// One split per instance (`SplitScope::PerInstance`): a custodian of one instance's
    /// share learns nothing about another instance's password.
    pub instances: Vec<InstanceSplit>,
    pub pages: Vec<std::path::PathBuf>,
}

/// One instance's own password and split.
pub struct InstanceSplit {
    /// The instance as the run was given it (`ConnectOptions::server`, as text).
    pub server: String,
    pub password: Password,
    pub custody: SplitCustody,
}

/// One split for the whole run, or one per instance: the user's choice for a fleet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum SplitScope {
    #[default]
    Run,
    PerInstance,
}

/// Split custody for one run: a password generated and split `threshold` of
/// `custodians.len()` (one for the run, or one per instance of `protects`), each custodian's
/// page written to `shares_to`, which must not be inside any of `media` (the medium, the
/// report folder): the shares must not travel with the backup they open. `protects` says,
/// per target as given (`ConnectOptions::server`), what the password protects.
pub fn split_for_run(
    threshold: u8,
    custodians: &[String],
    shares_to: &std::path::Path,
    media: &[&std::path::Path],
    protects: &[(String, String)],
    scope: SplitScope,
) -> Result<RunSplit> {
    let canon = |p: &std::path::Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    if !shares_to.is_absolute() {
        return Err(invalid(
            "Choose the folder for the custodians' pages (a full path).",
        ));
    }
    if media.iter().any(|m| canon(shares_to).starts_with(canon(m))) {
        return Err(invalid(format!(
            "{} is on the medium: the shares must not travel with the backup they open.",
            shares_to.display()
        ))
        .next("Write the pages somewhere else, print them, hand them over, then delete them."));
    }
    match scope {
        SplitScope::Run => {
            let (password, split) = generate_and_split(threshold, custodians)?;
            let lines: Vec<String> = protects.iter().map(|(_, p)| p.clone()).collect();
            let pages = write_pages(&split, &lines, shares_to)?;
            Ok(RunSplit {
                password,
                custody: Some(split.custody()),
                instances: vec![],
                pages,
            })
        }
        SplitScope::PerInstance => {
            let mut seen = std::collections::HashSet::new();
            if let Some((twice, _)) = protects
                .iter()
                .find(|(server, _)| !seen.insert(server.to_lowercase()))
            {
                return Err(invalid(format!(
                    "{twice} is given twice: one split per instance needs each instance once (a second split would replace the first, whose pages would then open nothing)."
                )));
            }
            let mut instances = Vec::new();
            let mut pages = Vec::new();
            for (server, what) in protects {
                let (password, split) = generate_and_split(threshold, custodians)?;
                pages.extend(write_pages(&split, std::slice::from_ref(what), shares_to)?);
                instances.push(InstanceSplit {
                    server: server.clone(),
                    password,
                    custody: split.custody(),
                });
            }
            let password = instances
                .first()
                .map(|i| i.password.clone())
                .ok_or_else(|| invalid("Choose at least one instance."))?;
            Ok(RunSplit {
                password,
                custody: None,
                instances,
                pages,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("Custodian {i}")).collect()
    }

    fn texts(split: &Split, which: &[usize]) -> Vec<Password> {
        which
            .iter()
            .map(|i| Password::new(split.shares[*i].expose()))
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Any k of n shares, in any order, rebuild the password; any k-1 do not.
        #[test]
        fn any_k_rebuild_it_and_no_fewer(n in 2usize..8, k_off in 0usize..6, seed in any::<u64>()) {
            let k = 2 + k_off % (n - 1);
            let (password, split) = generate_and_split(k as u8, &names(n)).unwrap();
            let mut order: Vec<usize> = (0..n).collect();
            let mut s = seed;
            for i in (1..n).rev() {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                order.swap(i, (s >> 33) as usize % (i + 1));
            }
            let rebuilt = combine(&texts(&split, &order[..k])).unwrap();
            prop_assert_eq!(rebuilt.expose(), password.expose());
            let e = combine(&texts(&split, &order[..k - 1])).unwrap_err();
            prop_assert!(e.message.contains(&format!("needs {k} shares")), "{}", e.message);
        }
    }

    /// One split per instance refuses an instance given twice before any page is written.
    #[test]
    fn one_split_per_instance_refuses_an_instance_given_twice() {
        let dir = tempfile::tempdir().unwrap();
        let pages = dir.path().join("pages");
        let medium = dir.path().join("medium");
        let twice = [
            ("SQL01,1433".to_string(), "SQL01: every key".to_string()),
            ("sql01,1433".to_string(), "SQL01: every key".to_string()),
        ];
        let refused = split_for_run(
            2,
            &names(2),
            &pages,
            &[&medium],
            &twice,
            SplitScope::PerInstance,
        );
        let Err(e) = refused else {
            panic!("an instance given twice was split twice");
        };
        assert!(e.message.contains("is given twice"), "{}", e.message);
        assert!(!pages.exists(), "no page written");
        let once = &twice[..1];
        let ok = split_for_run(
            2,
            &names(2),
            &pages,
            &[&medium],
            once,
            SplitScope::PerInstance,
        )
        .unwrap();
        assert_eq!((ok.instances.len(), ok.pages.len()), (1, 2));
    }

    /// The preview is the page without a share: the custodian, the split's k of n and what
    /// it protects, a placeholder where the share and its QR code go; a bad split is refused
    /// as the backup would refuse it.
    #[test]
    fn the_preview_has_everything_but_a_share() {
        let html = preview_page(2, &names(3), &["SQL01: every key".into()]).unwrap();
        assert!(html.contains("Share 1 of 3 for Custodian 0"), "{html}");
        assert!(html.contains("any <strong>2</strong> of the 3"));
        assert!(html.contains("SQL01: every key"));
        assert!(html.contains("printed here when the backup runs"));
        assert!(!html.contains("KS1-") && !html.contains("<svg"), "{html}");
        assert!(preview_page(4, &names(3), &[]).is_err());
    }

    /// Every character of a share typed as any other symbol (or a hyphen typed as one) is
    /// refused: none of them slips through as padding bits the checksum never sees.
    #[test]
    fn every_single_character_mistake_is_refused() {
        for _ in 0..8 {
            let (_, split) = generate_and_split(2, &names(3)).unwrap();
            let text = split.shares[0].expose().to_string();
            for (i, ch) in text.char_indices().skip(PREFIX.len()) {
                for wrong in ALPHABET.iter().map(|a| *a as char) {
                    if wrong == ch {
                        continue;
                    }
                    let mut t = text.clone();
                    t.replace_range(i..i + 1, &wrong.to_string());
                    let r = combine(&[Password::new(&t), Password::new(split.shares[1].expose())]);
                    assert!(
                        r.is_err(),
                        "{t} (position {i}: {ch} typed as {wrong}) was accepted"
                    );
                }
            }
        }
    }

    #[test]
    fn a_share_is_typed_back_loosely_and_a_mistake_is_named() {
        let (password, split) = generate_and_split(2, &names(3)).unwrap();
        let first = split.shares[0].expose().to_string();
        assert!(first.starts_with("KS1-"));
        // Lower case, spaces for hyphens, O for 0 and l for 1: the same share.
        let loose = first
            .to_lowercase()
            .replace('-', " ")
            .replace('0', "o")
            .replace('1', "l");
        let got = combine(&[
            Password::new(loose),
            Password::new(split.shares[2].expose()),
        ])
        .unwrap();
        assert_eq!(got.expose(), password.expose());
        // One character changed in the second share given.
        let second = split.shares[1].expose();
        let pos = second.len() - 3;
        let wrong: String = second
            .char_indices()
            .map(|(i, c)| {
                if i == pos {
                    if c == 'X' {
                        'Y'
                    } else {
                        'X'
                    }
                } else {
                    c
                }
            })
            .collect();
        let e = combine(&[Password::new(&first), Password::new(wrong)]).unwrap_err();
        assert!(
            e.message
                .contains("the 2nd share you gave has a typing mistake"),
            "{}",
            e.message
        );
        // The same share twice.
        let e = combine(&[Password::new(&first), Password::new(&first)]).unwrap_err();
        assert!(e.message.contains("again"), "{}", e.message);
        // A share of another split.
        let (_, other) = generate_and_split(2, &names(3)).unwrap();
        let e = combine(&[
            Password::new(&first),
            Password::new(other.shares[1].expose()),
        ])
        .unwrap_err();
        assert!(e.message.contains("different splits"), "{}", e.message);
    }

    #[test]
    fn a_split_needs_two_named_custodians_and_k_within_them() {
        assert!(generate_and_split(1, &names(3)).is_err());
        assert!(generate_and_split(4, &names(3)).is_err());
        assert!(generate_and_split(2, &["Ann".into(), "ann ".into()]).is_err());
        let (_, s) = generate_and_split(2, &names(2)).unwrap();
        assert_eq!(s.custody().custodians, names(2));
        assert!(
            !format!("{s:?}").contains("KS1-"),
            "Debug never shows a share"
        );
    }

    #[test]
    fn the_page_shows_the_share_the_split_and_what_it_protects() {
        let (_, split) = generate_and_split(2, &["Ann <Ops>".into(), "Bob".into()]).unwrap();
        let html = page(
            &split,
            &split.shares[0],
            &["SQL01: Service Master Key".into()],
            "2026-12-05",
        );
        assert!(html.contains(split.shares[0].expose()));
        assert!(html.contains("Ann &lt;Ops&gt;"));
        assert!(html.contains("<svg"));
        assert!(html.contains(&split.id));
        assert!(html.contains("SQL01: Service Master Key"));
        assert!(!html.contains(split.shares[1].expose()));
    }
}
