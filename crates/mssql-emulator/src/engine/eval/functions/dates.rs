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
    "DATEPART",
    "YEAR",
    "MONTH",
    "DAY",
];

pub(super) fn call(ctx: &Ctx, scope: &Scope, name: &str, args: &[Expr]) -> Res<TV> {
    let a = |i: usize| -> Res<TV> { eval(ctx, scope, &args[i]) };
    Ok(match name {
        // Local time is the host's (server_info::utc_offset); the UTC functions are UTC.
        "GETDATE" | "CURRENT_TIMESTAMP" => TV::new(
            Value::DateTime(ctx.inst.info.local_now()),
            SqlType::DateTime,
        ),
        "GETUTCDATE" => TV::new(Value::DateTime(crate::engine::now()), SqlType::DateTime),
        "SYSDATETIME" => TV::new(
            Value::DateTime(ctx.inst.info.to_local(chrono::Utc::now().naive_utc())),
            SqlType::DateTime2(7),
        ),
        "SYSUTCDATETIME" => TV::new(
            Value::DateTime(chrono::Utc::now().naive_utc()),
            SqlType::DateTime2(7),
        ),
        "SYSDATETIMEOFFSET" => TV::new(
            Value::DateTimeOffset(chrono::Utc::now().with_timezone(&ctx.inst.info.utc_offset)),
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
        "DATEPART" => {
            use chrono::{Datelike, Timelike};
            arg_count(name, args, 2, 2)?;
            let part = match &args[0] {
                Expr::Column(p) if p.len() == 1 => p[0].to_lowercase(),
                _ => {
                    return Err(Msg::new(
                        1023,
                        15,
                        1,
                        "Invalid parameter 1 specified for datepart.",
                    )
                    .into())
                }
            };
            let v = a(1)?;
            // TZOFFSET of a type without an offset is 0 (DATEPART's page).
            let offset_minutes = match &v.v {
                Value::DateTimeOffset(d) => Some(d.offset().local_minus_utc() as i64 / 60),
                Value::Null => None,
                _ => Some(0),
            };
            let local = match &v.v {
                Value::DateTimeOffset(d) => Some(d.naive_local()),
                Value::Null => None,
                _ => match convert(&v, &SqlType::DateTime, None)? {
                    Value::DateTime(d) => Some(d),
                    _ => None,
                },
            };
            let r = match part.as_str() {
                "tzoffset" | "tz" => offset_minutes,
                "year" | "yy" | "yyyy" => local.map(|d| d.year() as i64),
                "month" | "mm" | "m" => local.map(|d| d.month() as i64),
                "day" | "dd" | "d" => local.map(|d| d.day() as i64),
                "hour" | "hh" => local.map(|d| d.hour() as i64),
                "minute" | "mi" | "n" => local.map(|d| d.minute() as i64),
                "second" | "ss" | "s" => local.map(|d| d.second() as i64),
                _ => {
                    return Err(Msg::new(
                        155,
                        15,
                        1,
                        format!("'{part}' is not a recognized datepart option."),
                    )
                    .into())
                }
            };
            TV::new(r.map(Value::Int).unwrap_or(Value::Null), SqlType::Int)
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

fn date_add(dt: chrono::NaiveDateTime, unit: &str, n: i64) -> Option<chrono::NaiveDateTime> {
    use chrono::{Duration, Months};
    match unit {
        "y" | "mo" => {
            let months = if unit == "y" { n.checked_mul(12)? } else { n };
            let m = Months::new(u32::try_from(months.unsigned_abs()).ok()?);
            if months >= 0 {
                dt.checked_add_months(m)
            } else {
                dt.checked_sub_months(m)
            }
        }
        "d" => dt.checked_add_signed(Duration::try_days(n)?),
        "h" => dt.checked_add_signed(Duration::try_hours(n)?),
        "mi" => dt.checked_add_signed(Duration::try_minutes(n)?),
        _ => dt.checked_add_signed(Duration::try_seconds(n)?),
    }
}

fn date_diff(x: chrono::NaiveDateTime, y: chrono::NaiveDateTime, unit: &str) -> i64 {
    use chrono::{Datelike, Timelike};
    match unit {
        "y" => (y.year() - x.year()) as i64,
        "mo" => ((y.year() - x.year()) * 12 + y.month() as i32 - x.month() as i32) as i64,
        "d" => (y.date() - x.date()).num_days(),
        "h" => (y.date() - x.date()).num_days() * 24 + y.hour() as i64 - x.hour() as i64,
        "mi" => (y - x).num_minutes(),
        _ => (y - x).num_seconds(),
    }
}
