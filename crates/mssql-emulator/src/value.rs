//! SQL values and types, as the engine computes them and the wire carries them.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime};
use std::cmp::Ordering;
use uuid::Uuid;

/// A column or expression type, with the lengths SQL Server reports in metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlType {
    Bit,
    TinyInt,
    SmallInt,
    Int,
    BigInt,
    Float,
    Real,
    /// precision, scale
    Decimal(u8, u8),
    /// length in characters; None = max
    NVarChar(Option<u16>),
    VarChar(Option<u16>),
    NChar(u16),
    Char(u16),
    /// length in bytes; None = max
    VarBinary(Option<u16>),
    Binary(u16),
    DateTime,
    Date,
    DateTime2(u8),
    DateTimeOffset(u8),
    UniqueIdentifier,
    SqlVariant,
}

impl SqlType {
    pub fn name(&self) -> String {
        let len = |l: &Option<u16>| l.map(|n| n.to_string()).unwrap_or_else(|| "max".into());
        match self {
            SqlType::Bit => "bit".into(),
            SqlType::TinyInt => "tinyint".into(),
            SqlType::SmallInt => "smallint".into(),
            SqlType::Int => "int".into(),
            SqlType::BigInt => "bigint".into(),
            SqlType::Float => "float".into(),
            SqlType::Real => "real".into(),
            SqlType::Decimal(p, s) => format!("decimal({p},{s})"),
            SqlType::NVarChar(l) => format!("nvarchar({})", len(l)),
            SqlType::VarChar(l) => format!("varchar({})", len(l)),
            SqlType::NChar(l) => format!("nchar({l})"),
            SqlType::Char(l) => format!("char({l})"),
            SqlType::VarBinary(l) => format!("varbinary({})", len(l)),
            SqlType::Binary(l) => format!("binary({l})"),
            SqlType::DateTime => "datetime".into(),
            SqlType::Date => "date".into(),
            SqlType::DateTime2(s) => format!("datetime2({s})"),
            SqlType::DateTimeOffset(s) => format!("datetimeoffset({s})"),
            SqlType::UniqueIdentifier => "uniqueidentifier".into(),
            SqlType::SqlVariant => "sql_variant".into(),
        }
    }

    pub fn is_string(&self) -> bool {
        matches!(
            self,
            SqlType::NVarChar(_) | SqlType::VarChar(_) | SqlType::NChar(_) | SqlType::Char(_)
        )
    }
    pub fn is_unicode(&self) -> bool {
        matches!(self, SqlType::NVarChar(_) | SqlType::NChar(_))
    }
    pub fn is_numeric(&self) -> bool {
        matches!(
            self,
            SqlType::Bit
                | SqlType::TinyInt
                | SqlType::SmallInt
                | SqlType::Int
                | SqlType::BigInt
                | SqlType::Float
                | SqlType::Real
                | SqlType::Decimal(..)
        )
    }
    /// SQL Server's data type precedence (higher wins in an expression).
    pub fn precedence(&self) -> u8 {
        match self {
            SqlType::SqlVariant => 24,
            SqlType::DateTimeOffset(_) => 22,
            SqlType::DateTime2(_) => 21,
            SqlType::DateTime => 20,
            SqlType::Date => 18,
            SqlType::Float => 16,
            SqlType::Real => 15,
            SqlType::Decimal(..) => 14,
            SqlType::BigInt => 11,
            SqlType::Int => 10,
            SqlType::SmallInt => 9,
            SqlType::TinyInt => 8,
            SqlType::Bit => 7,
            SqlType::UniqueIdentifier => 6,
            SqlType::NVarChar(_) => 5,
            SqlType::NChar(_) => 4,
            SqlType::VarChar(_) => 3,
            SqlType::Char(_) => 2,
            SqlType::VarBinary(_) => 1,
            SqlType::Binary(_) => 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bit(bool),
    Int(i64),
    Float(f64),
    /// mantissa, scale
    Decimal(i128, u8),
    Str(String),
    Bytes(Vec<u8>),
    DateTime(NaiveDateTime),
    Date(NaiveDate),
    DateTimeOffset(DateTime<FixedOffset>),
    Guid(Uuid),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Bit(b) => Some(*b as i64),
            Value::Float(f) => Some(*f as i64),
            Value::Decimal(m, s) => Some((*m / 10i128.pow(*s as u32)) as i64),
            Value::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Bit(b) => Some(*b as i64 as f64),
            Value::Float(f) => Some(*f),
            Value::Decimal(m, s) => Some(*m as f64 / 10f64.powi(*s as i32)),
            Value::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// The text SQL Server would produce converting this value to nvarchar.
    pub fn to_text(&self) -> Option<String> {
        Some(match self {
            Value::Null => return None,
            Value::Bit(b) => (*b as i32).to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => format_float(*f),
            Value::Decimal(m, s) => format_decimal(*m, *s),
            Value::Str(s) => s.clone(),
            Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
            Value::DateTime(d) => d.format("%Y-%m-%d %H:%M:%S%.3f").to_string(),
            Value::Date(d) => d.format("%Y-%m-%d").to_string(),
            Value::DateTimeOffset(d) => d.format("%Y-%m-%d %H:%M:%S%.7f %:z").to_string(),
            Value::Guid(g) => g.to_string().to_uppercase(),
        })
    }
}

pub fn format_float(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

pub fn format_decimal(m: i128, s: u8) -> String {
    if s == 0 {
        return m.to_string();
    }
    let p = 10i128.pow(s as u32);
    let sign = if m < 0 { "-" } else { "" };
    let a = m.abs();
    format!("{sign}{}.{:0width$}", a / p, a % p, width = s as usize)
}

/// Compares two non-NULL values the way SQL Server does under a case-insensitive collation.
pub fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    use Value::*;
    match (a, b) {
        (Null, _) | (_, Null) => None,
        (Str(x), Str(y)) => Some(ci_cmp(x.trim_end_matches(' '), y.trim_end_matches(' '))),
        (Bytes(x), Bytes(y)) => Some(x.cmp(y)),
        (Guid(x), Guid(y)) => Some(x.cmp(y)),
        (Guid(x), Str(y)) => Uuid::parse_str(y.trim()).ok().map(|y| x.cmp(&y)),
        (Str(_), Guid(_)) => compare(b, a).map(Ordering::reverse),
        (DateTime(x), DateTime(y)) => Some(x.cmp(y)),
        (Date(x), Date(y)) => Some(x.cmp(y)),
        (DateTime(x), Date(y)) => Some(x.cmp(&y.and_hms_opt(0, 0, 0).unwrap())),
        (Date(_), DateTime(_)) => compare(b, a).map(Ordering::reverse),
        (DateTime(x), Str(y)) => parse_datetime(y).map(|y| x.cmp(&y)),
        (Str(_), DateTime(_)) => compare(b, a).map(Ordering::reverse),
        (Int(x), Int(y)) => Some(x.cmp(y)),
        _ => match (a.as_f64(), b.as_f64()) {
            (Some(x), Some(y)) => x.partial_cmp(&y),
            _ => None,
        },
    }
}

pub fn ci_cmp(a: &str, b: &str) -> Ordering {
    let mut ai = a.chars().flat_map(char::to_lowercase);
    let mut bi = b.chars().flat_map(char::to_lowercase);
    loop {
        match (ai.next(), bi.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x != y => return x.cmp(&y),
            _ => {}
        }
    }
}

pub fn ci_eq(a: &str, b: &str) -> bool {
    ci_cmp(a, b) == Ordering::Equal
}

pub fn parse_datetime(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    for f in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y%m%d %H:%M:%S%.f",
    ] {
        if let Ok(d) = NaiveDateTime::parse_from_str(s, f) {
            return Some(d);
        }
    }
    for f in ["%Y-%m-%d", "%Y%m%d"] {
        if let Ok(d) = NaiveDate::parse_from_str(s, f) {
            return d.and_hms_opt(0, 0, 0);
        }
    }
    None
}

/// LIKE with %, _ and [set] / [^set], case-insensitively.
pub fn like(text: &str, pattern: &str, escape: Option<char>) -> bool {
    let t: Vec<char> = text.chars().flat_map(char::to_lowercase).collect();
    let p: Vec<char> = pattern.chars().flat_map(char::to_lowercase).collect();
    like_at(&t, &p, escape)
}

fn like_at(t: &[char], p: &[char], esc: Option<char>) -> bool {
    let (mut ti, mut pi) = (0usize, 0usize);
    let (mut star_p, mut star_t) = (None::<usize>, 0usize);
    while ti < t.len() {
        let mut matched = None;
        if pi < p.len() {
            let c = p[pi];
            if Some(c) == esc && pi + 1 < p.len() {
                if p[pi + 1] == t[ti] {
                    matched = Some(pi + 2);
                }
            } else if c == '%' {
                star_p = Some(pi);
                star_t = ti;
                pi += 1;
                continue;
            } else if c == '_' {
                matched = Some(pi + 1);
            } else if c == '[' {
                if let Some(end) = p[pi + 1..]
                    .iter()
                    .position(|&x| x == ']')
                    .map(|e| e + pi + 1)
                {
                    let set = &p[pi + 1..end];
                    let (neg, set) = if set.first() == Some(&'^') {
                        (true, &set[1..])
                    } else {
                        (false, set)
                    };
                    let mut hit = false;
                    let mut i = 0;
                    while i < set.len() {
                        if i + 2 < set.len() && set[i + 1] == '-' {
                            hit |= set[i] <= t[ti] && t[ti] <= set[i + 2];
                            i += 3;
                        } else {
                            hit |= set[i] == t[ti];
                            i += 1;
                        }
                    }
                    if hit != neg {
                        matched = Some(end + 1);
                    }
                } else if t[ti] == '[' {
                    matched = Some(pi + 1);
                }
            } else if c == t[ti] {
                matched = Some(pi + 1);
            }
        }
        match matched {
            Some(np) => {
                pi = np;
                ti += 1;
            }
            None => match star_p {
                Some(sp) => {
                    pi = sp + 1;
                    star_t += 1;
                    ti = star_t;
                }
                None => return false,
            },
        }
    }
    while pi < p.len() && p[pi] == '%' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_handles_wildcards_sets_and_case() {
        assert!(like("SQL Server (MSSQLSERVER)", "sql server (%", None));
        assert!(like("abc", "a_c", None));
        assert!(like("a1c", "a[0-9]c", None));
        assert!(!like("abc", "a[^b]c", None));
        assert!(like("50%", "50!%", Some('!')));
        assert!(!like("abc", "ab", None));
        assert!(like("", "%", None));
    }

    #[test]
    fn strings_compare_case_insensitively_ignoring_trailing_spaces() {
        assert_eq!(
            compare(&Value::Str("Master ".into()), &Value::Str("master".into())),
            Some(Ordering::Equal)
        );
    }

    #[test]
    fn decimals_format_with_their_scale() {
        assert_eq!(format_decimal(-12345, 2), "-123.45");
        assert_eq!(format_decimal(5, 3), "0.005");
    }
}
