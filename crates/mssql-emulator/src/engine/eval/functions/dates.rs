//! Date and time functions.

use super::super::*;

/// The functions of this family, as SQL Server names them.
pub(super) const NAMES: &[&str] = &[
    "GETDATE",
    "CURRENT_TIMESTAMP",
    "GETUTCDATE",
    "SYSDATETIME",
    "SYSUTCDATETIME",
    "SYSDATETIMEOFFSET",
    "DATEDIFF",
    "DATEADD",
    "YEAR",
    "MONTH",
    "DAY",
];

pub(super) fn call(ctx: &Ctx, scope: &Scope, name: &str, args: &[Expr]) -> Res<TV> {
    let a = |i: usize| -> Res<TV> { eval(ctx, scope, &args[i]) };
    Ok(match name {
        "GETDATE" | "CURRENT_TIMESTAMP" | "GETUTCDATE" => {
            TV::new(Value::DateTime(crate::engine::now()), SqlType::DateTime)
        }
        "SYSDATETIME" | "SYSUTCDATETIME" => TV::new(
            Value::DateTime(chrono::Utc::now().naive_utc()),
            SqlType::DateTime2(7),
        ),
        "SYSDATETIMEOFFSET" => TV::new(
            Value::DateTimeOffset(chrono::Utc::now().fixed_offset()),
            SqlType::DateTimeOffset(7),
        ),
        "DATEDIFF" | "DATEADD" => {
            arg_count(name, args, 3, 3)?;
            let part = match &args[0] {
                Expr::Column(p) if p.len() == 1 => p[0].to_lowercase(),
                _ => {
                    return Err(Msg::new(
                        1023,
                        15,
                        1,
                        format!("Invalid parameter 1 specified for {}.", name.to_lowercase()),
                    )
                    .into())
                }
            };
            let unit = match part.as_str() {
                "year" | "yy" | "yyyy" => "y",
                "month" | "mm" | "m" => "mo",
                "day" | "dd" | "d" => "d",
                "hour" | "hh" => "h",
                "minute" | "mi" | "n" => "mi",
                "second" | "ss" | "s" => "s",
                _ => {
                    return Err(Msg::new(
                        155,
                        15,
                        1,
                        format!(
                            "'{part}' is not a recognized {} option.",
                            name.to_lowercase()
                        ),
                    )
                    .into())
                }
            };
            if name == "DATEADD" {
                let n = a(1)?.v.as_i64();
                let d = a(2)?;
                let dt = convert(&d, &SqlType::DateTime, None)?;
                let r = match (n, dt) {
                    (Some(n), Value::DateTime(dt)) => {
                        Value::DateTime(date_add(dt, unit, n).ok_or_else(|| {
                            Fail::from(Msg::new(
                                517,
                                16,
                                1,
                                "Adding a value to a 'datetime' column caused an overflow.",
                            ))
                        })?)
                    }
                    _ => Value::Null,
                };
                TV::new(
                    r,
                    if matches!(d.t, SqlType::DateTime2(_)) {
                        d.t
                    } else {
                        SqlType::DateTime
                    },
                )
            } else {
                let x = convert(&a(1)?, &SqlType::DateTime, None)?;
                let y = convert(&a(2)?, &SqlType::DateTime, None)?;
                let r = match (x, y) {
                    (Value::DateTime(x), Value::DateTime(y)) => Value::Int(date_diff(x, y, unit)),
                    _ => Value::Null,
                };
                TV::new(r, SqlType::Int)
            }
        }
        "YEAR" | "MONTH" | "DAY" => {
            use chrono::Datelike;
            arg_count(name, args, 1, 1)?;
            let d = convert(&a(0)?, &SqlType::DateTime, None)?;
            let r = match d {
                Value::DateTime(d) => Value::Int(match name {
                    "YEAR" => d.year() as i64,
                    "MONTH" => d.month() as i64,
                    _ => d.day() as i64,
                }),
                _ => Value::Null,
            };
            TV::new(r, SqlType::Int)
        }
        _ => unreachable!("{name} is not one of this family's NAMES"),
    })
}
