//! Expression evaluation with SQL Server's typing: every result carries its type, so a
//! result set's metadata is right even when it has no rows.

use super::messages::{self, Msg};
use super::session::Session;
use super::state::InstanceState;
use super::{perms, Fail, Instance, Res};
use crate::sql::ast::{is_aggregate, BinOp, Expr};
use crate::value::{ci_eq, compare, like, SqlType, Value};
use sha2::Digest;
use std::cmp::Ordering;

mod functions;

pub struct Ctx<'a> {
    pub inst: &'a Instance,
    pub st: &'a InstanceState,
    pub session: &'a Session,
}

#[derive(Debug, Clone)]
pub struct ColRef {
    pub qualifier: String,
    pub name: String,
    pub ty: SqlType,
}

pub struct Scope<'a> {
    pub cols: &'a [ColRef],
    pub row: &'a [Value],
    /// The rows of the current group, when aggregates are being computed.
    pub group: Option<&'a [Vec<Value>]>,
}

impl Scope<'_> {
    pub fn empty() -> Scope<'static> {
        Scope {
            cols: &[],
            row: &[],
            group: None,
        }
    }
}

/// A typed value.
#[derive(Debug, Clone, PartialEq)]
pub struct TV {
    pub v: Value,
    pub t: SqlType,
}

impl TV {
    pub fn new(v: Value, t: SqlType) -> Self {
        TV { v, t }
    }
    fn null(t: SqlType) -> Self {
        TV { v: Value::Null, t }
    }
    fn int(i: i64) -> Self {
        TV {
            v: Value::Int(i),
            t: SqlType::Int,
        }
    }
    fn nstr(s: impl Into<String>, len: u16) -> Self {
        TV {
            v: Value::Str(s.into()),
            t: SqlType::NVarChar(Some(len)),
        }
    }
    pub fn truth(&self) -> Option<bool> {
        match &self.v {
            Value::Null => None,
            Value::Bit(b) => Some(*b),
            other => other.as_i64().map(|i| i != 0),
        }
    }
}

fn boolean(b: Option<bool>) -> TV {
    TV {
        v: b.map(Value::Bit).unwrap_or(Value::Null),
        t: SqlType::Bit,
    }
}

fn overflow() -> Fail {
    Msg::new(
        8115,
        16,
        2,
        "Arithmetic overflow error converting expression to data type bigint.",
    )
    .into()
}

pub fn resolve_column(cols: &[ColRef], parts: &[String]) -> Res<usize> {
    let name = parts.last().unwrap();
    let qual = if parts.len() >= 2 {
        Some(&parts[parts.len() - 2])
    } else {
        None
    };
    let hits: Vec<usize> = cols
        .iter()
        .enumerate()
        .filter(|(_, c)| ci_eq(&c.name, name) && qual.is_none_or(|q| ci_eq(&c.qualifier, q)))
        .map(|(i, _)| i)
        .collect();
    match hits.len() {
        0 => Err(messages::invalid_column(name).into()),
        1 => Ok(hits[0]),
        _ => Err(Msg::new(209, 16, 1, format!("Ambiguous column name '{name}'.")).into()),
    }
}

pub fn eval(ctx: &Ctx, scope: &Scope, e: &Expr) -> Res<TV> {
    match e {
        Expr::Literal(v, t) => Ok(TV::new(v.clone(), *t)),
        Expr::Column(parts) => {
            let i = resolve_column(scope.cols, parts)?;
            Ok(TV::new(
                scope.row.get(i).cloned().unwrap_or(Value::Null),
                scope.cols[i].ty,
            ))
        }
        Expr::Variable(name) => match ctx.session.variables.get(&name.to_lowercase()) {
            Some((t, v)) => Ok(TV::new(v.clone(), *t)),
            None => Err(messages::must_declare(name).into()),
        },
        Expr::Global(g) => global(ctx, g),
        Expr::Neg(x) => {
            let a = eval(ctx, scope, x)?;
            Ok(match a.v {
                Value::Null => a,
                Value::Int(i) => TV::new(Value::Int(i.checked_neg().ok_or_else(overflow)?), a.t),
                Value::Float(f) => TV::new(Value::Float(-f), a.t),
                Value::Decimal(m, s) => TV::new(Value::Decimal(-m, s), a.t),
                ref other => {
                    let n = convert(&a, &SqlType::Int, None)?;
                    let _ = other;
                    TV::new(Value::Int(-n.as_i64().unwrap_or(0)), SqlType::Int)
                }
            })
        }
        Expr::Not(x) => Ok(boolean(eval(ctx, scope, x)?.truth().map(|b| !b))),
        Expr::Binary(op, a, b) => binary(ctx, scope, *op, a, b),
        Expr::IsNull { expr, negated } => {
            let v = eval(ctx, scope, expr)?;
            Ok(boolean(Some(v.v.is_null() != *negated)))
        }
        Expr::Like {
            expr,
            pattern,
            escape,
            negated,
        } => {
            let v = eval(ctx, scope, expr)?;
            let p = eval(ctx, scope, pattern)?;
            let esc = match escape {
                Some(e) => eval(ctx, scope, e)?
                    .v
                    .to_text()
                    .and_then(|s| s.chars().next()),
                None => None,
            };
            match (v.v.to_text(), p.v.to_text()) {
                (Some(t), Some(p)) => Ok(boolean(Some(like(&t, &p, esc) != *negated))),
                _ => Ok(boolean(None)),
            }
        }
        Expr::In {
            expr,
            list,
            negated,
        } => {
            let v = eval(ctx, scope, expr)?;
            if v.v.is_null() {
                return Ok(boolean(None));
            }
            let mut saw_null = false;
            for item in list {
                let x = eval(ctx, scope, item)?;
                match cmp_tv(&v, &x)? {
                    Some(Ordering::Equal) => return Ok(boolean(Some(!negated))),
                    None => saw_null = true,
                    _ => {}
                }
            }
            Ok(boolean(if saw_null { None } else { Some(*negated) }))
        }
        Expr::Between {
            expr,
            low,
            high,
            negated,
        } => {
            let v = eval(ctx, scope, expr)?;
            let lo = cmp_tv(&v, &eval(ctx, scope, low)?)?;
            let hi = cmp_tv(&v, &eval(ctx, scope, high)?)?;
            Ok(boolean(match (lo, hi) {
                (Some(l), Some(h)) => {
                    Some((l != Ordering::Less && h != Ordering::Greater) != *negated)
                }
                _ => None,
            }))
        }
        Expr::Case {
            operand,
            whens,
            otherwise,
        } => {
            let mut types: Vec<SqlType> = Vec::new();
            let mut result = None;
            let op = operand.as_ref().map(|o| eval(ctx, scope, o)).transpose()?;
            for (cond, val) in whens {
                let hit = match &op {
                    Some(o) => cmp_tv(o, &eval(ctx, scope, cond)?)? == Some(Ordering::Equal),
                    None => eval(ctx, scope, cond)?.truth() == Some(true),
                };
                let v = eval(ctx, scope, val)?;
                if !is_null_literal(val) {
                    types.push(v.t);
                }
                if hit && result.is_none() {
                    result = Some(v);
                }
            }
            let other = otherwise
                .as_ref()
                .map(|o| eval(ctx, scope, o))
                .transpose()?;
            if let (Some(o), Some(e)) = (&other, otherwise) {
                if !is_null_literal(e) {
                    types.push(o.t);
                }
            }
            let t = result_type(&types);
            let v = result.or(other).map(|v| v.v).unwrap_or(Value::Null);
            let v = convert(&TV::new(v, t), &t, None)?;
            Ok(TV::new(v, t))
        }
        Expr::Cast { expr, ty } => {
            let v = eval(ctx, scope, expr)?;
            Ok(TV::new(convert(&v, ty, None)?, *ty))
        }
        Expr::Convert { ty, expr, style } => {
            let v = eval(ctx, scope, expr)?;
            let style = match style {
                Some(s) => eval(ctx, scope, s)?.v.as_i64(),
                None => None,
            };
            Ok(TV::new(convert(&v, ty, style)?, *ty))
        }
        Expr::Function {
            name,
            args,
            star,
            distinct,
        } => {
            if is_aggregate(name) {
                return aggregate(ctx, scope, name, args, *star, *distinct);
            }
            function(ctx, scope, name, args)
        }
        Expr::Exists(q) => {
            let r = super::query::run_select(ctx, q)?;
            Ok(boolean(Some(!r.rows.is_empty())))
        }
        Expr::Subquery(q) => {
            let r = super::query::run_select(ctx, q)?;
            if r.columns.len() != 1 {
                return Err(Msg::new(116, 16, 1, "Only one expression can be specified in the select list when the subquery is not introduced with EXISTS.").into());
            }
            if r.rows.len() > 1 {
                return Err(Msg::new(512, 16, 1, "Subquery returned more than 1 value. This is not permitted when the subquery follows =, !=, <, <= , >, >= or when the subquery is used as an expression.").into());
            }
            Ok(TV::new(
                r.rows.first().map(|r| r[0].clone()).unwrap_or(Value::Null),
                r.columns[0].ty,
            ))
        }
    }
}

/// A bare NULL takes no part in typing a CASE or COALESCE.
fn is_null_literal(e: &Expr) -> bool {
    matches!(e, Expr::Literal(Value::Null, _))
}

/// The type of a CASE/COALESCE: the highest precedence among the branches.
pub fn result_type(types: &[SqlType]) -> SqlType {
    let mut best = *types.first().unwrap_or(&SqlType::Int);
    for t in types {
        if t.precedence() > best.precedence() {
            best = *t;
        } else if t.is_string() && best.is_string() && t.is_unicode() == best.is_unicode() {
            best = widen(best, *t);
        }
    }
    best
}

fn widen(a: SqlType, b: SqlType) -> SqlType {
    let len = |t: SqlType| match t {
        SqlType::NVarChar(l) | SqlType::VarChar(l) => l,
        SqlType::NChar(l) | SqlType::Char(l) => Some(l),
        _ => Some(30),
    };
    let l = match (len(a), len(b)) {
        (Some(x), Some(y)) => Some(x.max(y)),
        _ => None,
    };
    if a.is_unicode() {
        SqlType::NVarChar(l)
    } else {
        SqlType::VarChar(l)
    }
}

pub fn cmp_tv(a: &TV, b: &TV) -> Res<Option<Ordering>> {
    if a.v.is_null() || b.v.is_null() {
        return Ok(None);
    }
    // Implicit conversion to the type of higher precedence, with SQL Server's error if
    // the string is not a number.
    let (x, y) = if a.t.is_numeric() && b.t.is_string() {
        (a.v.clone(), convert(b, &a.t, None)?)
    } else if b.t.is_numeric() && a.t.is_string() {
        (convert(a, &b.t, None)?, b.v.clone())
    } else {
        (a.v.clone(), b.v.clone())
    };
    Ok(compare(&x, &y))
}

fn binary(ctx: &Ctx, scope: &Scope, op: BinOp, a: &Expr, b: &Expr) -> Res<TV> {
    if op == BinOp::And || op == BinOp::Or {
        let x = eval(ctx, scope, a)?.truth();
        if op == BinOp::And && x == Some(false) {
            return Ok(boolean(Some(false)));
        }
        if op == BinOp::Or && x == Some(true) {
            return Ok(boolean(Some(true)));
        }
        let y = eval(ctx, scope, b)?.truth();
        return Ok(boolean(match (op, x, y) {
            (BinOp::And, Some(true), y) => y,
            (BinOp::And, None, Some(false)) => Some(false),
            (BinOp::Or, Some(false), y) => y,
            (BinOp::Or, None, Some(true)) => Some(true),
            _ => None,
        }));
    }
    let x = eval(ctx, scope, a)?;
    let y = eval(ctx, scope, b)?;
    let cmp = |ok: fn(Ordering) -> bool| -> Res<TV> { Ok(boolean(cmp_tv(&x, &y)?.map(ok))) };
    match op {
        BinOp::Eq => cmp(|o| o == Ordering::Equal),
        BinOp::Ne => cmp(|o| o != Ordering::Equal),
        BinOp::Lt => cmp(|o| o == Ordering::Less),
        BinOp::Gt => cmp(|o| o == Ordering::Greater),
        BinOp::Le => cmp(|o| o != Ordering::Greater),
        BinOp::Ge => cmp(|o| o != Ordering::Less),
        _ => arithmetic(op, x, y),
    }
}

fn str_len(t: &SqlType) -> Option<u32> {
    match t {
        SqlType::NVarChar(l) | SqlType::VarChar(l) | SqlType::VarBinary(l) => l.map(|l| l as u32),
        SqlType::NChar(l) | SqlType::Char(l) | SqlType::Binary(l) => Some(*l as u32),
        SqlType::Int | SqlType::BigInt => Some(12),
        _ => Some(30),
    }
}

fn arithmetic(op: BinOp, x: TV, y: TV) -> Res<TV> {
    // String concatenation when both sides are strings (or binary).
    let is_bin = |t: &SqlType| matches!(t, SqlType::VarBinary(_) | SqlType::Binary(_));
    if op == BinOp::Add && ((x.t.is_string() && y.t.is_string()) || (is_bin(&x.t) && is_bin(&y.t)))
    {
        let unicode = x.t.is_unicode() || y.t.is_unicode();
        let len = match (str_len(&x.t), str_len(&y.t)) {
            (Some(a), Some(b)) => Some(a + b),
            _ => None,
        };
        let t = if is_bin(&x.t) {
            SqlType::VarBinary(len.filter(|l| *l <= 8000).map(|l| l as u16))
        } else if unicode {
            SqlType::NVarChar(len.filter(|l| *l <= 4000).map(|l| l as u16))
        } else {
            SqlType::VarChar(len.filter(|l| *l <= 8000).map(|l| l as u16))
        };
        let v = match (&x.v, &y.v) {
            (Value::Null, _) | (_, Value::Null) => Value::Null,
            (Value::Bytes(a), Value::Bytes(b)) => {
                Value::Bytes([a.as_slice(), b.as_slice()].concat())
            }
            (a, b) => Value::Str(format!(
                "{}{}",
                a.to_text().unwrap_or_default(),
                b.to_text().unwrap_or_default()
            )),
        };
        return Ok(TV::new(v, t));
    }
    // Otherwise numeric: the higher-precedence type wins; strings convert (245 if not numbers).
    let t = if x.t.precedence() >= y.t.precedence() {
        x.t
    } else {
        y.t
    };
    let t = match t {
        SqlType::Bit | SqlType::TinyInt | SqlType::SmallInt => SqlType::Int,
        t if t.is_string() => SqlType::Int,
        t => t,
    };
    if !t.is_numeric() {
        return Err(Msg::new(
            8117,
            16,
            1,
            format!(
                "Operand data type {} is invalid for {} operator.",
                x.t.name(),
                op_name(op)
            ),
        )
        .into());
    }
    let a = convert(&x, &t, None)?;
    let b = convert(&y, &t, None)?;
    if a.is_null() || b.is_null() {
        return Ok(TV::null(t));
    }
    match t {
        SqlType::Int | SqlType::BigInt => {
            let (p, q) = (a.as_i64().unwrap(), b.as_i64().unwrap());
            let r = match op {
                BinOp::Add => p.checked_add(q),
                BinOp::Sub => p.checked_sub(q),
                BinOp::Mul => p.checked_mul(q),
                BinOp::Div | BinOp::Mod if q == 0 => return Err(messages::divide_by_zero().into()),
                BinOp::Div => p.checked_div(q),
                _ => p.checked_rem(q),
            };
            let limit_ok = |r: i64| t == SqlType::BigInt || i32::try_from(r).is_ok();
            match r {
                Some(r) if limit_ok(r) => Ok(TV::new(Value::Int(r), t)),
                _ => Err(Msg::new(
                    8115,
                    16,
                    2,
                    format!(
                        "Arithmetic overflow error converting expression to data type {}.",
                        t.name()
                    ),
                )
                .into()),
            }
        }
        _ => {
            let (p, q) = (a.as_f64().unwrap(), b.as_f64().unwrap());
            if matches!(op, BinOp::Div | BinOp::Mod) && q == 0.0 {
                return Err(messages::divide_by_zero().into());
            }
            let r = match op {
                BinOp::Add => p + q,
                BinOp::Sub => p - q,
                BinOp::Mul => p * q,
                BinOp::Div => p / q,
                _ => p % q,
            };
            Ok(TV::new(Value::Float(r), SqlType::Float))
        }
    }
}

fn op_name(op: BinOp) -> &'static str {
    match op {
        BinOp::Add => "add",
        BinOp::Sub => "subtract",
        BinOp::Mul => "multiply",
        BinOp::Div => "divide",
        _ => "modulo",
    }
}

/// CAST/CONVERT, with SQL Server's conversion errors.
pub fn convert(x: &TV, to: &SqlType, style: Option<i64>) -> Res<Value> {
    let v = &x.v;
    if v.is_null() {
        return Ok(Value::Null);
    }
    let src_name = |t: &SqlType| match t {
        SqlType::NVarChar(_) | SqlType::NChar(_) => "nvarchar",
        SqlType::VarChar(_) | SqlType::Char(_) => "varchar",
        _ => "value",
    };
    let fail = || -> Fail {
        messages::conversion_failed(
            &v.to_text().unwrap_or_default(),
            src_name(&x.t),
            to.name().split('(').next().unwrap_or(""),
        )
        .into()
    };
    Ok(match to {
        SqlType::Bit => match v {
            Value::Str(s) if s.trim().eq_ignore_ascii_case("true") => Value::Bit(true),
            Value::Str(s) if s.trim().eq_ignore_ascii_case("false") => Value::Bit(false),
            other => Value::Bit(other.as_f64().ok_or_else(fail)? != 0.0),
        },
        SqlType::TinyInt | SqlType::SmallInt | SqlType::Int | SqlType::BigInt => {
            let i = match v {
                Value::Str(s) => s.trim().parse::<i64>().map_err(|_| fail())?,
                Value::Bytes(b) => {
                    let mut a = [0u8; 8];
                    let n = b.len().min(8);
                    a[8 - n..].copy_from_slice(&b[b.len() - n..]);
                    i64::from_be_bytes(a)
                }
                Value::Float(f) => f.trunc() as i64,
                other => other.as_i64().ok_or_else(fail)?,
            };
            let ok = match to {
                SqlType::TinyInt => (0..=255).contains(&i),
                SqlType::SmallInt => i16::try_from(i).is_ok(),
                SqlType::Int => i32::try_from(i).is_ok(),
                _ => true,
            };
            if !ok {
                return Err(Msg::new(8115, 16, 2, format!("Arithmetic overflow error converting expression to data type {}.", to.name())).into());
            }
            Value::Int(i)
        }
        SqlType::Float | SqlType::Real => Value::Float(v.as_f64().ok_or_else(fail)?),
        SqlType::Decimal(_, s) => match v {
            Value::Decimal(m, vs) => Value::Decimal(
                if *s >= *vs { m.checked_mul(10i128.pow((*s - *vs) as u32)).ok_or_else(overflow)? } else { m / 10i128.pow((*vs - *s) as u32) },
                *s,
            ),
            other => Value::Decimal((other.as_f64().ok_or_else(fail)? * 10f64.powi(*s as i32)).round() as i128, *s),
        },
        SqlType::NVarChar(_) | SqlType::VarChar(_) | SqlType::NChar(_) | SqlType::Char(_) => {
            let text = match v {
                Value::Bytes(b) => match style {
                    Some(1) => format!("0x{}", hex::encode_upper(b)),
                    Some(2) => hex::encode_upper(b),
                    _ if to.is_unicode() => crate::tds::decode_utf16(b, "binary").unwrap_or_else(|_| String::from_utf8_lossy(b).into_owned()),
                    _ => encoding_rs::WINDOWS_1252.decode(b).0.into_owned(),
                },
                Value::DateTime(d) if style == Some(126) => d.format("%Y-%m-%dT%H:%M:%S%.3f").to_string(),
                other => other.to_text().unwrap_or_default(),
            };
            let max = match to {
                SqlType::NVarChar(l) | SqlType::VarChar(l) => l.map(|n| n as usize),
                SqlType::NChar(n) | SqlType::Char(n) => Some(*n as usize),
                _ => None,
            };
            match max {
                Some(m) if text.chars().count() > m => {
                    if matches!(v, Value::Int(_)) {
                        Value::Str("*".into())
                    } else {
                        Value::Str(text.chars().take(m).collect())
                    }
                }
                _ => Value::Str(text),
            }
        }
        SqlType::VarBinary(_) | SqlType::Binary(_) => {
            let bytes = match v {
                Value::Bytes(b) => b.clone(),
                Value::Str(s) if matches!(style, Some(1) | Some(2)) => {
                    let h = if style == Some(1) { s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")).ok_or_else(fail)? } else { s.as_str() };
                    hex::decode(h).map_err(|_| fail())?
                }
                Value::Str(s) if x.t.is_unicode() => {
                    let mut b = Vec::new();
                    crate::tds::put_utf16(&mut b, s);
                    b
                }
                Value::Str(s) => crate::tds::types::encode_cp1252(s),
                Value::Int(i) => match x.t {
                    SqlType::BigInt => i.to_be_bytes().to_vec(),
                    SqlType::SmallInt => (*i as i16).to_be_bytes().to_vec(),
                    SqlType::TinyInt => vec![*i as u8],
                    _ => (*i as i32).to_be_bytes().to_vec(),
                },
                Value::Guid(g) => g.to_bytes_le().to_vec(),
                Value::Bit(b) => vec![*b as u8],
                _ => return Err(fail()),
            };
            let cap = match to {
                SqlType::VarBinary(Some(n)) | SqlType::Binary(n) => Some(*n as usize),
                _ => None,
            };
            match cap {
                Some(c) if bytes.len() > c => Value::Bytes(bytes[..c].to_vec()),
                _ => Value::Bytes(bytes),
            }
        }
        SqlType::DateTime | SqlType::DateTime2(_) | SqlType::Date | SqlType::DateTimeOffset(_) => match v {
            Value::DateTime(d) => Value::DateTime(*d),
            Value::Date(d) => Value::DateTime(d.and_hms_opt(0, 0, 0).unwrap()),
            Value::DateTimeOffset(d) => Value::DateTime(d.naive_local()),
            Value::Str(s) => Value::DateTime(crate::value::parse_datetime(s).ok_or_else(|| {
                Fail::from(Msg::new(241, 16, 1, "Conversion failed when converting date and/or time from character string."))
            })?),
            _ => return Err(fail()),
        },
        SqlType::UniqueIdentifier => match v {
            Value::Guid(g) => Value::Guid(*g),
            Value::Str(s) => Value::Guid(uuid::Uuid::parse_str(s.trim().trim_matches(['{', '}'])).map_err(|_| {
                Fail::from(Msg::new(8169, 16, 2, "Conversion failed when converting from a character string to uniqueidentifier."))
            })?),
            Value::Bytes(b) if b.len() == 16 => Value::Guid(uuid::Uuid::from_bytes_le(b[..].try_into().unwrap())),
            _ => return Err(fail()),
        },
        SqlType::SqlVariant => v.clone(),
    })
}

fn global(ctx: &Ctx, g: &str) -> Res<TV> {
    let info = &ctx.inst.info;
    Ok(match g {
        "VERSION" => TV::nstr(info.version_string.clone(), 300),
        "SERVERNAME" => TV::nstr(info.server_name(), 128),
        "SERVICENAME" => TV::nstr(info.service_name(), 128),
        "SPID" => TV::new(Value::Int(ctx.session.spid as i64), SqlType::SmallInt),
        "TRANCOUNT" => TV::int(ctx.session.trancount as i64),
        "ROWCOUNT" => TV::int(ctx.session.rowcount as i64),
        "ERROR" => TV::int(ctx.session.last_error as i64),
        "LANGUAGE" => TV::nstr(ctx.session.language.clone(), 128),
        "MICROSOFTVERSION" => TV::int(((info.major as i64) << 24) | info.build as i64),
        "DATEFIRST" => TV::new(Value::Int(7), SqlType::TinyInt),
        "TEXTSIZE" => TV::int(2147483647),
        "MAX_PRECISION" => TV::new(Value::Int(38), SqlType::TinyInt),
        "LOCK_TIMEOUT" => TV::int(-1),
        "OPTIONS" => TV::int(5496),
        "MAX_CONNECTIONS" => TV::int(32767),
        _ => {
            return Err(Msg::new(
                137,
                15,
                2,
                format!("Must declare the scalar variable \"@@{g}\"."),
            )
            .into())
        }
    })
}

fn aggregate(
    ctx: &Ctx,
    scope: &Scope,
    name: &str,
    args: &[Expr],
    star: bool,
    distinct: bool,
) -> Res<TV> {
    let Some(rows) = scope.group else {
        return Err(Msg::new(147, 15, 1, "An aggregate may not appear in the WHERE clause unless it is in a subquery contained in a HAVING clause or a select list, and the column being aggregated is an outer reference.").into());
    };
    let name = name.to_uppercase();
    let count_ty = if name == "COUNT_BIG" {
        SqlType::BigInt
    } else {
        SqlType::Int
    };
    if star {
        return Ok(TV::new(Value::Int(rows.len() as i64), count_ty));
    }
    let arg = args.first().ok_or_else(|| {
        Fail::from(Msg::new(
            174,
            15,
            1,
            format!(
                "The {} function requires 1 argument(s).",
                name.to_lowercase()
            ),
        ))
    })?;
    let mut vals: Vec<TV> = Vec::new();
    let mut ty = None;
    for r in rows {
        let s = Scope {
            cols: scope.cols,
            row: r,
            group: None,
        };
        let v = eval(ctx, &s, arg)?;
        ty = Some(v.t);
        if !v.v.is_null() {
            vals.push(v);
        }
    }
    if ty.is_none() {
        // no rows: type from a NULL row
        let nulls = vec![Value::Null; scope.cols.len()];
        let s = Scope {
            cols: scope.cols,
            row: &nulls,
            group: None,
        };
        ty = Some(eval(ctx, &s, arg)?.t);
    }
    let ty = ty.unwrap();
    if distinct {
        let mut uniq: Vec<TV> = Vec::new();
        for v in vals {
            if !uniq
                .iter()
                .any(|u| compare(&u.v, &v.v) == Some(Ordering::Equal))
            {
                uniq.push(v);
            }
        }
        vals = uniq;
    }
    Ok(match name.as_str() {
        "COUNT" | "COUNT_BIG" => TV::new(Value::Int(vals.len() as i64), count_ty),
        "MIN" | "MAX" => {
            let want = if name == "MIN" {
                Ordering::Less
            } else {
                Ordering::Greater
            };
            let mut best: Option<TV> = None;
            for v in vals {
                best = match best {
                    Some(b) if compare(&v.v, &b.v) != Some(want) => Some(b),
                    _ => Some(v),
                };
            }
            TV::new(best.map(|b| b.v).unwrap_or(Value::Null), ty)
        }
        "SUM" | "AVG" => {
            if vals.is_empty() {
                return Ok(TV::null(ty));
            }
            let int = matches!(
                ty,
                SqlType::Int | SqlType::BigInt | SqlType::SmallInt | SqlType::TinyInt
            );
            if int {
                let s = vals
                    .iter()
                    .try_fold(0i64, |acc, v| acc.checked_add(v.v.as_i64().unwrap_or(0)))
                    .ok_or_else(overflow)?;
                let r = if name == "AVG" {
                    s / vals.len() as i64
                } else {
                    s
                };
                TV::new(
                    Value::Int(r),
                    if ty == SqlType::BigInt {
                        SqlType::BigInt
                    } else {
                        SqlType::Int
                    },
                )
            } else {
                let s: f64 = vals.iter().map(|v| v.v.as_f64().unwrap_or(0.0)).sum();
                TV::new(
                    Value::Float(if name == "AVG" {
                        s / vals.len() as f64
                    } else {
                        s
                    }),
                    SqlType::Float,
                )
            }
        }
        _ => unreachable!(),
    })
}

fn arg_count(name: &str, args: &[Expr], min: usize, max: usize) -> Res<()> {
    if args.len() < min || args.len() > max {
        let n = if min == max {
            min.to_string()
        } else {
            format!("{min} to {max}")
        };
        return Err(Msg::new(
            174,
            15,
            1,
            format!(
                "The {} function requires {n} argument(s).",
                name.to_lowercase()
            ),
        )
        .into());
    }
    Ok(())
}

fn function(ctx: &Ctx, scope: &Scope, name: &str, args: &[Expr]) -> Res<TV> {
    functions::call(ctx, scope, name, args)
}
