//! TYPE_INFO and values on the wire (MS-TDS 2.2.5.4-2.2.5.5): encoding result columns,
//! decoding RPC parameters.

use super::{invalid, ProtocolError, Reader};
use crate::value::{SqlType, Value};
use chrono::{Duration, NaiveDate, NaiveDateTime, Timelike};
use uuid::Uuid;

/// SQL_Latin1_General_CP1_CI_AS: LCID 0x0409, CI/AS flags, sort id 52 (code page 1252).
pub const COLLATION: [u8; 5] = [0x09, 0x04, 0xD0, 0x00, 0x34];

const PLP_NULL: u64 = u64::MAX;

fn epoch_1900() -> NaiveDate {
    NaiveDate::from_ymd_opt(1900, 1, 1).unwrap()
}
fn epoch_0001() -> NaiveDate {
    NaiveDate::from_ymd_opt(1, 1, 1).unwrap()
}

fn decimal_len(precision: u8) -> u8 {
    match precision {
        0..=9 => 5,
        10..=19 => 9,
        20..=28 => 13,
        _ => 17,
    }
}

fn time_len(scale: u8) -> usize {
    match scale {
        0..=2 => 3,
        3..=4 => 4,
        _ => 5,
    }
}

/// Writes a column's TYPE_INFO.
pub fn put_type_info(dst: &mut Vec<u8>, ty: &SqlType) {
    let ushort = |dst: &mut Vec<u8>, code: u8, len: Option<u32>, collation: bool| {
        dst.push(code);
        dst.extend_from_slice(&(len.map(|l| l.min(8000) as u16).unwrap_or(0xFFFF)).to_le_bytes());
        if collation {
            dst.extend_from_slice(&COLLATION);
        }
    };
    match ty {
        SqlType::Bit => dst.extend_from_slice(&[0x68, 1]),
        SqlType::TinyInt => dst.extend_from_slice(&[0x26, 1]),
        SqlType::SmallInt => dst.extend_from_slice(&[0x26, 2]),
        SqlType::Int => dst.extend_from_slice(&[0x26, 4]),
        SqlType::BigInt => dst.extend_from_slice(&[0x26, 8]),
        SqlType::Float => dst.extend_from_slice(&[0x6D, 8]),
        SqlType::Real => dst.extend_from_slice(&[0x6D, 4]),
        SqlType::Decimal(p, s) => dst.extend_from_slice(&[0x6A, decimal_len(*p), *p, *s]),
        SqlType::NVarChar(l) => ushort(dst, 0xE7, l.map(|n| n as u32 * 2), true),
        SqlType::VarChar(l) => ushort(dst, 0xA7, l.map(|n| n as u32), true),
        SqlType::NChar(l) => ushort(dst, 0xEF, Some(*l as u32 * 2), true),
        SqlType::Char(l) => ushort(dst, 0xAF, Some(*l as u32), true),
        SqlType::VarBinary(l) => ushort(dst, 0xA5, l.map(|n| n as u32), false),
        SqlType::Binary(l) => ushort(dst, 0xAD, Some(*l as u32), false),
        SqlType::DateTime => dst.extend_from_slice(&[0x6F, 8]),
        SqlType::Date => dst.push(0x28),
        SqlType::DateTime2(s) => dst.extend_from_slice(&[0x2A, *s]),
        SqlType::DateTimeOffset(s) => dst.extend_from_slice(&[0x2B, *s]),
        SqlType::UniqueIdentifier => dst.extend_from_slice(&[0x24, 16]),
        SqlType::SqlVariant => {
            dst.push(0x62);
            dst.extend_from_slice(&8016u32.to_le_bytes());
        }
    }
}

pub fn encode_cp1252(s: &str) -> Vec<u8> {
    let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(s);
    bytes.into_owned()
}

fn utf16(s: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(s.len() * 2);
    super::put_utf16(&mut v, s);
    v
}

fn put_plp(dst: &mut Vec<u8>, data: Option<&[u8]>) {
    match data {
        None => dst.extend_from_slice(&PLP_NULL.to_le_bytes()),
        Some(d) => {
            dst.extend_from_slice(&(d.len() as u64).to_le_bytes());
            for chunk in d.chunks(8000) {
                dst.extend_from_slice(&(chunk.len() as u32).to_le_bytes());
                dst.extend_from_slice(chunk);
            }
            dst.extend_from_slice(&0u32.to_le_bytes());
        }
    }
}

fn datetime_parts(d: &NaiveDateTime) -> (i32, u32) {
    let days = (d.date() - epoch_1900()).num_days() as i32;
    let ns =
        d.time().num_seconds_from_midnight() as u64 * 1_000_000_000 + d.time().nanosecond() as u64;
    // 1/300 second ticks, rounded as SQL Server does.
    let ticks = ((ns * 3 + 5_000_000) / 10_000_000) as u32;
    (days, ticks)
}

fn put_time(dst: &mut Vec<u8>, t: &chrono::NaiveTime, scale: u8) {
    let ns = t.num_seconds_from_midnight() as u64 * 1_000_000_000 + t.nanosecond() as u64;
    let v = ns / 10u64.pow(9 - scale as u32);
    dst.extend_from_slice(&v.to_le_bytes()[..time_len(scale)]);
}

fn put_date3(dst: &mut Vec<u8>, d: &NaiveDate) {
    let days = (*d - epoch_0001()).num_days() as u32;
    dst.extend_from_slice(&days.to_le_bytes()[..3]);
}

/// Writes one value of a column of type `ty`. The value has already been converted to it.
pub fn put_value(dst: &mut Vec<u8>, ty: &SqlType, v: &Value) {
    match ty {
        SqlType::Bit => match v {
            Value::Null => dst.push(0),
            _ => dst.extend_from_slice(&[1, v.as_i64().unwrap_or(0).clamp(0, 1) as u8]),
        },
        SqlType::TinyInt | SqlType::SmallInt | SqlType::Int | SqlType::BigInt => {
            let n = match ty {
                SqlType::TinyInt => 1,
                SqlType::SmallInt => 2,
                SqlType::Int => 4,
                _ => 8,
            };
            match v.as_i64() {
                None => dst.push(0),
                Some(i) => {
                    dst.push(n as u8);
                    dst.extend_from_slice(&i.to_le_bytes()[..n]);
                }
            }
        }
        SqlType::Float | SqlType::Real => match v.as_f64() {
            None => dst.push(0),
            Some(f) if *ty == SqlType::Real => {
                dst.push(4);
                dst.extend_from_slice(&(f as f32).to_le_bytes());
            }
            Some(f) => {
                dst.push(8);
                dst.extend_from_slice(&f.to_le_bytes());
            }
        },
        SqlType::Decimal(p, s) => {
            let m = match v {
                Value::Null => None,
                Value::Decimal(m, vs) => Some(rescale(*m, *vs, *s)),
                other => other
                    .as_f64()
                    .map(|f| (f * 10f64.powi(*s as i32)).round() as i128),
            };
            match m {
                None => dst.push(0),
                Some(m) => {
                    let len = decimal_len(*p);
                    dst.push(len);
                    dst.push(if m < 0 { 0 } else { 1 });
                    dst.extend_from_slice(&(m.unsigned_abs()).to_le_bytes()[..len as usize - 1]);
                }
            }
        }
        SqlType::NVarChar(_) | SqlType::NChar(_) | SqlType::VarChar(_) | SqlType::Char(_) => {
            let bytes = v.to_text().map(|t| {
                let t = match ty {
                    SqlType::NChar(n) | SqlType::Char(n) => format!("{t:<w$}", w = *n as usize),
                    _ => t,
                };
                if ty.is_unicode() {
                    utf16(&t)
                } else {
                    encode_cp1252(&t)
                }
            });
            let plp = matches!(ty, SqlType::NVarChar(None) | SqlType::VarChar(None));
            put_var(dst, plp, bytes.as_deref());
        }
        SqlType::VarBinary(_) | SqlType::Binary(_) => {
            let bytes = match v {
                Value::Null => None,
                Value::Bytes(b) => Some(b.clone()),
                Value::Str(s) => Some(if ty.is_unicode() {
                    utf16(s)
                } else {
                    encode_cp1252(s)
                }),
                Value::Int(i) => Some((*i as i32).to_be_bytes().to_vec()),
                Value::Guid(g) => Some(g.to_bytes_le().to_vec()),
                other => other.to_text().map(|t| t.into_bytes()),
            };
            let bytes = match (ty, bytes) {
                (SqlType::Binary(n), Some(mut b)) => {
                    b.resize(*n as usize, 0);
                    Some(b)
                }
                (_, b) => b,
            };
            put_var(
                dst,
                matches!(ty, SqlType::VarBinary(None)),
                bytes.as_deref(),
            );
        }
        SqlType::DateTime => match as_datetime(v) {
            None => dst.push(0),
            Some(d) => {
                let (days, ticks) = datetime_parts(&d);
                dst.push(8);
                dst.extend_from_slice(&days.to_le_bytes());
                dst.extend_from_slice(&ticks.to_le_bytes());
            }
        },
        SqlType::Date => match as_datetime(v) {
            None => dst.push(0),
            Some(d) => {
                dst.push(3);
                put_date3(dst, &d.date());
            }
        },
        SqlType::DateTime2(scale) => match as_datetime(v) {
            None => dst.push(0),
            Some(d) => {
                dst.push((time_len(*scale) + 3) as u8);
                put_time(dst, &d.time(), *scale);
                put_date3(dst, &d.date());
            }
        },
        SqlType::DateTimeOffset(scale) => {
            let dto = match v {
                Value::DateTimeOffset(d) => Some(*d),
                other => as_datetime(other).map(|d| d.and_utc().fixed_offset()),
            };
            match dto {
                None => dst.push(0),
                Some(d) => {
                    let utc = d.naive_utc();
                    dst.push((time_len(*scale) + 5) as u8);
                    put_time(dst, &utc.time(), *scale);
                    put_date3(dst, &utc.date());
                    dst.extend_from_slice(
                        &((d.offset().local_minus_utc() / 60) as i16).to_le_bytes(),
                    );
                }
            }
        }
        SqlType::UniqueIdentifier => match v {
            Value::Guid(g) => {
                dst.push(16);
                dst.extend_from_slice(&g.to_bytes_le());
            }
            Value::Str(s) => match Uuid::parse_str(s.trim()) {
                Ok(g) => {
                    dst.push(16);
                    dst.extend_from_slice(&g.to_bytes_le());
                }
                Err(_) => dst.push(0),
            },
            _ => dst.push(0),
        },
        SqlType::SqlVariant => put_variant(dst, v),
    }
}

fn as_datetime(v: &Value) -> Option<NaiveDateTime> {
    match v {
        Value::DateTime(d) => Some(*d),
        Value::Date(d) => d.and_hms_opt(0, 0, 0),
        Value::DateTimeOffset(d) => Some(d.naive_local()),
        Value::Str(s) => crate::value::parse_datetime(s),
        _ => None,
    }
}

/// sql_variant: the base type and its properties travel inside each value.
fn put_variant(dst: &mut Vec<u8>, v: &Value) {
    let mut body = Vec::new();
    match v {
        Value::Null => {
            dst.extend_from_slice(&0u32.to_le_bytes());
            return;
        }
        Value::Int(i) if i32::try_from(*i).is_ok() => {
            body.extend_from_slice(&[0x38, 0]);
            body.extend_from_slice(&(*i as i32).to_le_bytes());
        }
        Value::Int(i) => {
            body.extend_from_slice(&[0x7F, 0]);
            body.extend_from_slice(&i.to_le_bytes());
        }
        Value::Bit(b) => body.extend_from_slice(&[0x32, 0, *b as u8]),
        Value::Bytes(b) => {
            body.extend_from_slice(&[0xA5, 2]);
            body.extend_from_slice(&8000u16.to_le_bytes());
            body.extend_from_slice(&b[..b.len().min(8000)]);
        }
        Value::Guid(g) => {
            body.extend_from_slice(&[0x24, 0]);
            body.extend_from_slice(&g.to_bytes_le());
        }
        Value::DateTime(d) => {
            let (days, ticks) = datetime_parts(d);
            body.extend_from_slice(&[0x3D, 0]);
            body.extend_from_slice(&days.to_le_bytes());
            body.extend_from_slice(&ticks.to_le_bytes());
        }
        other => {
            let t = other.to_text().unwrap_or_default();
            let data = utf16(&t);
            body.extend_from_slice(&[0xE7, 7]);
            body.extend_from_slice(&COLLATION);
            body.extend_from_slice(&(data.len().max(2) as u16).to_le_bytes());
            body.extend_from_slice(&data);
        }
    }
    dst.extend_from_slice(&(body.len() as u32).to_le_bytes());
    dst.extend_from_slice(&body);
}

fn put_var(dst: &mut Vec<u8>, plp: bool, data: Option<&[u8]>) {
    if plp {
        put_plp(dst, data);
    } else {
        match data {
            None => dst.extend_from_slice(&0xFFFFu16.to_le_bytes()),
            Some(d) => {
                let d = &d[..d.len().min(8000)];
                dst.extend_from_slice(&(d.len() as u16).to_le_bytes());
                dst.extend_from_slice(d);
            }
        }
    }
}

fn rescale(m: i128, from: u8, to: u8) -> i128 {
    if to >= from {
        m.saturating_mul(10i128.pow((to - from) as u32))
    } else {
        m / 10i128.pow((from - to) as u32)
    }
}

/// A decoded RPC parameter value with the type the client declared.
#[derive(Debug, Clone, PartialEq)]
pub struct TypedValue {
    pub ty: SqlType,
    pub value: Value,
}

enum Len {
    Fixed(usize),
    Byte,
    UShort,
    Plp,
    Long,
}

/// Reads a TYPE_INFO and then the value that follows it (an RPC parameter).
pub fn read_typed_value(r: &mut Reader) -> Result<TypedValue, ProtocolError> {
    let code = r.u8()?;
    let (ty, len) = match code {
        0x1F => (SqlType::Int, Len::Fixed(0)),
        0x30 => (SqlType::TinyInt, Len::Fixed(1)),
        0x32 => (SqlType::Bit, Len::Fixed(1)),
        0x34 => (SqlType::SmallInt, Len::Fixed(2)),
        0x38 => (SqlType::Int, Len::Fixed(4)),
        0x7F => (SqlType::BigInt, Len::Fixed(8)),
        0x3B => (SqlType::Real, Len::Fixed(4)),
        0x3E => (SqlType::Float, Len::Fixed(8)),
        0x3D => (SqlType::DateTime, Len::Fixed(8)),
        0x26 => {
            let n = r.u8()?;
            (
                match n {
                    1 => SqlType::TinyInt,
                    2 => SqlType::SmallInt,
                    4 => SqlType::Int,
                    8 => SqlType::BigInt,
                    _ => return Err(invalid("INTN length", n.to_string())),
                },
                Len::Byte,
            )
        }
        0x68 => {
            r.u8()?;
            (SqlType::Bit, Len::Byte)
        }
        0x6D => {
            let n = r.u8()?;
            (
                if n == 4 {
                    SqlType::Real
                } else {
                    SqlType::Float
                },
                Len::Byte,
            )
        }
        0x6F => {
            r.u8()?;
            (SqlType::DateTime, Len::Byte)
        }
        0x24 => {
            r.u8()?;
            (SqlType::UniqueIdentifier, Len::Byte)
        }
        0x6A | 0x6C => {
            r.u8()?;
            let p = r.u8()?;
            let s = r.u8()?;
            if p == 0 || p > 38 || s > p {
                return Err(invalid("decimal precision", format!("({p},{s})")));
            }
            (SqlType::Decimal(p, s), Len::Byte)
        }
        0x28 => (SqlType::Date, Len::Byte),
        0x29..=0x2B => {
            let s = r.u8()?;
            if s > 7 {
                return Err(invalid("time scale", s.to_string()));
            }
            (
                if code == 0x2B {
                    SqlType::DateTimeOffset(s)
                } else {
                    SqlType::DateTime2(s)
                },
                Len::Byte,
            )
        }
        0xE7 | 0xA7 | 0xEF | 0xAF | 0xA5 | 0xAD => {
            let max = r.u16()?;
            if code != 0xA5 && code != 0xAD {
                r.take(5)?;
            }
            let plp = max == 0xFFFF;
            let chars = |unicode: bool| {
                if plp {
                    None
                } else {
                    Some(if unicode { max / 2 } else { max })
                }
            };
            let ty = match code {
                0xE7 => SqlType::NVarChar(chars(true)),
                0xA7 => SqlType::VarChar(chars(false)),
                0xEF => SqlType::NChar(max / 2),
                0xAF => SqlType::Char(max),
                0xA5 => SqlType::VarBinary(chars(false)),
                _ => SqlType::Binary(max),
            };
            (ty, if plp { Len::Plp } else { Len::UShort })
        }
        0x63 | 0x23 | 0x22 => {
            r.u32()?;
            if code != 0x22 {
                r.take(5)?;
            }
            let ty = match code {
                0x63 => SqlType::NVarChar(None),
                0x23 => SqlType::VarChar(None),
                _ => SqlType::VarBinary(None),
            };
            (ty, Len::Long)
        }
        other => {
            return Err(invalid(
                "parameter type",
                format!("{other:#04x} is not supported"),
            ))
        }
    };
    let data: Option<Vec<u8>> = match len {
        Len::Fixed(0) => None,
        Len::Fixed(n) => Some(r.take(n)?.to_vec()),
        Len::Byte => {
            let n = r.u8()? as usize;
            if n == 0 {
                None
            } else {
                Some(r.take(n)?.to_vec())
            }
        }
        Len::UShort => {
            let n = r.u16()?;
            if n == 0xFFFF {
                None
            } else {
                Some(r.take(n as usize)?.to_vec())
            }
        }
        Len::Long => {
            let n = r.u32()?;
            if n == u32::MAX {
                None
            } else {
                Some(r.take(n as usize)?.to_vec())
            }
        }
        Len::Plp => {
            let total = r.u64()?;
            if total == PLP_NULL {
                None
            } else {
                let mut out = Vec::new();
                loop {
                    let n = r.u32()? as usize;
                    if n == 0 {
                        break;
                    }
                    out.extend_from_slice(r.take(n)?);
                    if out.len() > 1 << 30 {
                        return Err(ProtocolError::MessageTooLarge(1 << 30));
                    }
                }
                Some(out)
            }
        }
    };
    let value = match data {
        None => Value::Null,
        Some(d) => decode_value(&ty, &d)?,
    };
    Ok(TypedValue { ty, value })
}

/// Midnight of `epoch` plus `days` and `extra`, or None when that leaves chrono's range.
fn add_days(epoch: NaiveDate, days: i64, extra: Duration) -> Option<NaiveDateTime> {
    epoch
        .and_hms_opt(0, 0, 0)?
        .checked_add_signed(Duration::try_days(days)?)?
        .checked_add_signed(extra)
}

fn le_int(d: &[u8]) -> i64 {
    let mut b = [0u8; 8];
    b[..d.len().min(8)].copy_from_slice(&d[..d.len().min(8)]);
    let v = i64::from_le_bytes(b);
    let bits = d.len() * 8;
    if bits < 64 && bits > 0 && matches!(d.len(), 2 | 4) {
        (v << (64 - bits)) >> (64 - bits)
    } else {
        v
    }
}

fn decode_value(ty: &SqlType, d: &[u8]) -> Result<Value, ProtocolError> {
    let bad = |what: &'static str| invalid(what, format!("{} bytes", d.len()));
    Ok(match ty {
        SqlType::Bit => Value::Bit(d.first().copied().unwrap_or(0) != 0),
        SqlType::TinyInt => Value::Int(*d.first().ok_or_else(|| bad("tinyint"))? as i64),
        SqlType::SmallInt | SqlType::Int | SqlType::BigInt => {
            if !matches!(d.len(), 1 | 2 | 4 | 8) {
                return Err(bad("integer"));
            }
            Value::Int(if d.len() == 1 { d[0] as i64 } else { le_int(d) })
        }
        SqlType::Real => {
            Value::Float(f32::from_le_bytes(d.try_into().map_err(|_| bad("real"))?) as f64)
        }
        SqlType::Float => match d.len() {
            4 => Value::Float(f32::from_le_bytes(d.try_into().unwrap()) as f64),
            8 => Value::Float(f64::from_le_bytes(d.try_into().unwrap())),
            _ => return Err(bad("float")),
        },
        SqlType::Decimal(_, s) => {
            if d.len() < 2 || d.len() > 17 {
                return Err(bad("decimal"));
            }
            let mut b = [0u8; 16];
            b[..d.len() - 1].copy_from_slice(&d[1..]);
            let m = u128::from_le_bytes(b) as i128;
            Value::Decimal(if d[0] == 0 { -m } else { m }, *s)
        }
        SqlType::NVarChar(_) | SqlType::NChar(_) => {
            Value::Str(super::decode_utf16(d, "nvarchar parameter")?)
        }
        SqlType::VarChar(_) | SqlType::Char(_) => {
            Value::Str(encoding_rs::WINDOWS_1252.decode(d).0.into_owned())
        }
        SqlType::VarBinary(_) | SqlType::Binary(_) => Value::Bytes(d.to_vec()),
        SqlType::UniqueIdentifier => Value::Guid(Uuid::from_bytes_le(
            d.try_into().map_err(|_| bad("uniqueidentifier"))?,
        )),
        SqlType::DateTime => {
            if d.len() != 8 && d.len() != 4 {
                return Err(bad("datetime"));
            }
            let (days, extra) = if d.len() == 4 {
                (
                    u16::from_le_bytes([d[0], d[1]]) as i64,
                    Duration::minutes(u16::from_le_bytes([d[2], d[3]]) as i64),
                )
            } else {
                let ticks = u32::from_le_bytes(d[4..8].try_into().unwrap()) as i64;
                (
                    i32::from_le_bytes(d[0..4].try_into().unwrap()) as i64,
                    Duration::nanoseconds(ticks * 10_000_000 / 3),
                )
            };
            Value::DateTime(add_days(epoch_1900(), days, extra).ok_or_else(|| bad("datetime"))?)
        }
        SqlType::Date => {
            if d.len() != 3 {
                return Err(bad("date"));
            }
            let days = u32::from_le_bytes([d[0], d[1], d[2], 0]) as i64;
            Value::Date(
                epoch_0001()
                    .checked_add_signed(Duration::days(days))
                    .ok_or_else(|| bad("date"))?,
            )
        }
        SqlType::DateTime2(s) | SqlType::DateTimeOffset(s) => {
            let tl = time_len(*s);
            let off = matches!(ty, SqlType::DateTimeOffset(_));
            if d.len() != tl + 3 + if off { 2 } else { 0 } {
                return Err(bad("datetime2"));
            }
            let mut tb = [0u8; 8];
            tb[..tl].copy_from_slice(&d[..tl]);
            let units = u64::from_le_bytes(tb);
            let ns = units as i64 * 10i64.pow(9 - *s as u32);
            let days = u32::from_le_bytes([d[tl], d[tl + 1], d[tl + 2], 0]) as i64;
            let dt = add_days(epoch_0001(), days, Duration::nanoseconds(ns))
                .ok_or_else(|| bad("datetime2"))?;
            if off {
                let mins = i16::from_le_bytes([d[tl + 3], d[tl + 4]]) as i32;
                let tz = chrono::FixedOffset::east_opt(mins * 60).ok_or_else(|| bad("offset"))?;
                Value::DateTimeOffset(dt.and_utc().with_timezone(&tz))
            } else {
                Value::DateTime(dt)
            }
        }
        SqlType::SqlVariant => return Err(invalid("parameter type", "sql_variant")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(ty: SqlType, v: Value) -> Value {
        let mut buf = Vec::new();
        put_type_info(&mut buf, &ty);
        put_value(&mut buf, &ty, &v);
        let mut r = Reader::new(&buf, "test");
        let got = read_typed_value(&mut r).unwrap();
        assert_eq!(r.remaining(), 0, "{ty:?} left bytes");
        got.value
    }

    #[test]
    fn values_round_trip_through_type_info() {
        assert_eq!(round_trip(SqlType::Int, Value::Int(-7)), Value::Int(-7));
        assert_eq!(
            round_trip(SqlType::BigInt, Value::Int(1 << 40)),
            Value::Int(1 << 40)
        );
        assert_eq!(round_trip(SqlType::Bit, Value::Bit(true)), Value::Bit(true));
        assert_eq!(
            round_trip(SqlType::NVarChar(Some(10)), Value::Str("héllo".into())),
            Value::Str("héllo".into())
        );
        assert_eq!(
            round_trip(SqlType::NVarChar(None), Value::Str("x".repeat(9000))),
            Value::Str("x".repeat(9000))
        );
        assert_eq!(
            round_trip(SqlType::VarBinary(None), Value::Bytes(vec![1; 20000])),
            Value::Bytes(vec![1; 20000])
        );
        assert_eq!(round_trip(SqlType::Int, Value::Null), Value::Null);
        let g = Uuid::new_v4();
        assert_eq!(
            round_trip(SqlType::UniqueIdentifier, Value::Guid(g)),
            Value::Guid(g)
        );
        let dt = NaiveDate::from_ymd_opt(2024, 2, 29)
            .unwrap()
            .and_hms_micro_opt(13, 14, 15, 123_400)
            .unwrap();
        assert_eq!(
            round_trip(SqlType::DateTime2(7), Value::DateTime(dt)),
            Value::DateTime(dt)
        );
        let dt3 = NaiveDate::from_ymd_opt(2024, 2, 29)
            .unwrap()
            .and_hms_milli_opt(13, 14, 15, 0)
            .unwrap();
        assert_eq!(
            round_trip(SqlType::DateTime, Value::DateTime(dt3)),
            Value::DateTime(dt3)
        );
        assert_eq!(
            round_trip(SqlType::Decimal(10, 2), Value::Decimal(-12345, 2)),
            Value::Decimal(-12345, 2)
        );
    }

    #[test]
    fn out_of_range_dates_are_errors_not_panics() {
        // Found by the packet_decoder fuzz target: DATETIMN with days near i32::MAX.
        let b = [0x6F, 8, 8, 0xA7, 0xA7, 0xA7, 0x7F, 0, 0, 0, 0];
        assert!(read_typed_value(&mut Reader::new(&b, "t")).is_err());
        let b = [0x2A, 7, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        assert!(read_typed_value(&mut Reader::new(&b, "t")).is_ok());
    }

    #[test]
    fn unknown_and_truncated_types_are_errors() {
        assert!(read_typed_value(&mut Reader::new(&[0xF1, 0], "t")).is_err());
        assert!(read_typed_value(&mut Reader::new(&[0xE7, 0x40], "t")).is_err());
        assert!(read_typed_value(&mut Reader::new(
            &[0xE7, 0xFF, 0xFF, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0],
            "t"
        ))
        .is_err());
    }
}
