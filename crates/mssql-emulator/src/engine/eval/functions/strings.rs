//! String functions.

use super::super::*;

/// The functions of this family, as SQL Server names them.
pub(super) const NAMES: &[&str] = &[
    "DATALENGTH",
    "LEN",
    "UPPER",
    "LOWER",
    "LTRIM",
    "RTRIM",
    "TRIM",
    "SUBSTRING",
    "LEFT",
    "RIGHT",
    "REPLACE",
    "REPLICATE",
    "CHARINDEX",
    "CONCAT",
    "QUOTENAME",
];

pub(super) fn call(ctx: &Ctx, scope: &Scope, name: &str, args: &[Expr]) -> Res<TV> {
    let a = |i: usize| -> Res<TV> { eval(ctx, scope, &args[i]) };
    let text = |i: usize| -> Res<Option<String>> { Ok(a(i)?.v.to_text()) };
    Ok(match name {
        "DATALENGTH" => {
            arg_count(name, args, 1, 1)?;
            let v = a(0)?;
            let n = match &v.v {
                Value::Null => None,
                Value::Bytes(b) => Some(b.len()),
                Value::Str(s) => Some(if v.t.is_unicode() {
                    s.encode_utf16().count() * 2
                } else {
                    crate::tds::types::encode_cp1252(s).len()
                }),
                Value::Int(_) => Some(match v.t {
                    SqlType::BigInt => 8,
                    SqlType::SmallInt => 2,
                    SqlType::TinyInt => 1,
                    _ => 4,
                }),
                Value::Bit(_) => Some(1),
                Value::Guid(_) => Some(16),
                Value::Float(_) | Value::DateTime(_) => Some(8),
                _ => Some(8),
            };
            let big = matches!(
                v.t,
                SqlType::VarBinary(None) | SqlType::NVarChar(None) | SqlType::VarChar(None)
            );
            TV::new(
                n.map(|n| Value::Int(n as i64)).unwrap_or(Value::Null),
                if big { SqlType::BigInt } else { SqlType::Int },
            )
        }
        "LEN" => {
            arg_count(name, args, 1, 1)?;
            let n = text(0)?.map(|s| s.trim_end_matches(' ').chars().count() as i64);
            TV::new(n.map(Value::Int).unwrap_or(Value::Null), SqlType::Int)
        }
        "UPPER" | "LOWER" | "LTRIM" | "RTRIM" | "TRIM" => {
            arg_count(name, args, 1, 1)?;
            let v = a(0)?;
            let s = v.v.to_text().map(|s| match name {
                "UPPER" => s.to_uppercase(),
                "LOWER" => s.to_lowercase(),
                "LTRIM" => s.trim_start_matches(' ').to_string(),
                "RTRIM" => s.trim_end_matches(' ').to_string(),
                _ => s.trim_matches(' ').to_string(),
            });
            let t = if v.t.is_string() {
                v.t
            } else {
                SqlType::VarChar(Some(30))
            };
            TV::new(s.map(Value::Str).unwrap_or(Value::Null), t)
        }
        "SUBSTRING" | "LEFT" | "RIGHT" => {
            arg_count(
                name,
                args,
                if name == "SUBSTRING" { 3 } else { 2 },
                if name == "SUBSTRING" { 3 } else { 2 },
            )?;
            let v = a(0)?;
            let n1 = a(1)?.v.as_i64();
            let n2 = if name == "SUBSTRING" {
                a(2)?.v.as_i64()
            } else {
                None
            };
            let r = match (&v.v, n1) {
                (Value::Null, _) | (_, None) => Value::Null,
                (Value::Bytes(b), Some(n)) => {
                    let (s, l) = match name {
                        "LEFT" => (0, n.max(0) as usize),
                        "RIGHT" => (b.len().saturating_sub(n.max(0) as usize), n.max(0) as usize),
                        _ => (
                            (n - 1).max(0) as usize,
                            (n2.unwrap_or(0) + n.min(1) - 1).max(0) as usize,
                        ),
                    };
                    Value::Bytes(b.iter().skip(s).take(l).copied().collect())
                }
                (other, Some(n)) => {
                    let chars: Vec<char> = other.to_text().unwrap_or_default().chars().collect();
                    let (s, l) = match name {
                        "LEFT" => (0, n.max(0) as usize),
                        "RIGHT" => (
                            chars.len().saturating_sub(n.max(0) as usize),
                            n.max(0) as usize,
                        ),
                        _ => (
                            (n - 1).max(0) as usize,
                            (n2.unwrap_or(0) + n.min(1) - 1).max(0) as usize,
                        ),
                    };
                    Value::Str(chars.iter().skip(s).take(l).collect())
                }
            };
            TV::new(
                r,
                if v.t.is_string() || matches!(v.t, SqlType::VarBinary(_)) {
                    v.t
                } else {
                    SqlType::VarChar(Some(30))
                },
            )
        }
        "REPLICATE" => {
            // "If string_expression isn't of type varchar(max) or nvarchar(max), REPLICATE
            // truncates the return value at 8,000 bytes" (REPLICATE's docs page).
            arg_count(name, args, 2, 2)?;
            let v = a(0)?;
            let n = a(1)?.v.as_i64();
            let (t, limit) = match v.t {
                SqlType::NVarChar(None) | SqlType::VarChar(None) => {
                    (v.t, crate::engine::assumptions::MAX_VALUE_CHARS)
                }
                SqlType::NVarChar(_) | SqlType::NChar(_) => (SqlType::NVarChar(Some(4000)), 4000),
                _ => (SqlType::VarChar(Some(8000)), 8000),
            };
            let r = match (v.v.to_text(), n) {
                (Some(s), Some(n)) if n >= 0 => {
                    let each = s.chars().count().max(1);
                    let times = (n as usize).min(limit.saturating_add(each - 1) / each);
                    Value::Str(s.repeat(times).chars().take(limit).collect())
                }
                _ => Value::Null,
            };
            TV::new(r, t)
        }
        "REPLACE" => {
            arg_count(name, args, 3, 3)?;
            let v = a(0)?;
            let (s, f, r) = (v.v.to_text(), text(1)?, text(2)?);
            let out = match (s, f, r) {
                (Some(s), Some(f), Some(r)) if !f.is_empty() => Some(replace_ci(&s, &f, &r)),
                (Some(s), Some(_), Some(_)) => Some(s),
                _ => None,
            };
            TV::new(
                out.map(Value::Str).unwrap_or(Value::Null),
                if v.t.is_unicode() {
                    SqlType::NVarChar(Some(4000))
                } else {
                    SqlType::VarChar(Some(8000))
                },
            )
        }
        "CHARINDEX" => {
            arg_count(name, args, 2, 3)?;
            let (f, s) = (text(0)?, text(1)?);
            let r = match (f, s) {
                (Some(f), Some(s)) => {
                    let ls = s.to_lowercase();
                    let lf = f.to_lowercase();
                    Value::Int(
                        ls.find(&lf)
                            .map(|b| ls[..b].chars().count() as i64 + 1)
                            .unwrap_or(0),
                    )
                }
                _ => Value::Null,
            };
            TV::new(r, SqlType::Int)
        }
        "CONCAT" => {
            if args.len() < 2 {
                return Err(Msg::new(
                    189,
                    15,
                    1,
                    "The concat function requires 2 to 254 arguments.",
                )
                .into());
            }
            let mut s = String::new();
            let mut unicode = false;
            for i in 0..args.len() {
                let v = a(i)?;
                unicode |= v.t.is_unicode();
                s.push_str(&v.v.to_text().unwrap_or_default());
            }
            TV::new(
                Value::Str(s),
                if unicode {
                    SqlType::NVarChar(Some(4000))
                } else {
                    SqlType::VarChar(Some(8000))
                },
            )
        }
        "QUOTENAME" => {
            arg_count(name, args, 1, 2)?;
            let s = text(0)?;
            let q = if args.len() == 2 {
                text(1)?.unwrap_or_default()
            } else {
                "[".into()
            };
            let r = s.map(|s| match q.as_str() {
                "'" => format!("'{}'", s.replace('\'', "''")),
                "\"" => format!("\"{}\"", s.replace('"', "\"\"")),
                _ => format!("[{}]", s.replace(']', "]]")),
            });
            TV::new(
                r.map(Value::Str).unwrap_or(Value::Null),
                SqlType::NVarChar(Some(258)),
            )
        }
        _ => unreachable!("{name} is not one of this family's NAMES"),
    })
}

fn replace_ci(s: &str, f: &str, r: &str) -> String {
    let ls = s.to_lowercase();
    let lf = f.to_lowercase();
    if ls.len() != s.len() {
        return s.replace(f, r);
    }
    let mut out = String::new();
    let mut i = 0;
    while let Some(p) = ls[i..].find(&lf) {
        out.push_str(&s[i..i + p]);
        out.push_str(r);
        i += p + lf.len();
    }
    out.push_str(&s[i..]);
    out
}
