//! Logical and NULL-handling functions, and ABS.

use super::super::*;

/// The functions of this family, as SQL Server names them.
pub(super) const NAMES: &[&str] = &["ISNULL", "COALESCE", "NULLIF", "IIF", "ABS"];

pub(super) fn call(ctx: &Ctx, scope: &Scope, name: &str, args: &[Expr]) -> Res<TV> {
    let a = |i: usize| -> Res<TV> { eval(ctx, scope, &args[i]) };
    Ok(match name {
        "ISNULL" => {
            arg_count(name, args, 2, 2)?;
            let x = a(0)?;
            let y = a(1)?;
            let t = x.t;
            if x.v.is_null() {
                TV::new(convert(&y, &t, None)?, t)
            } else {
                x
            }
        }
        "COALESCE" => {
            if args.len() < 2 {
                return Err(Msg::new(
                    189,
                    15,
                    1,
                    "The coalesce function requires 2 to 2147483647 arguments.",
                )
                .into());
            }
            let vals: Vec<TV> = (0..args.len()).map(a).collect::<Res<_>>()?;
            let typed: Vec<SqlType> = vals
                .iter()
                .zip(args)
                .filter(|(_, e)| !is_null_literal(e))
                .map(|(v, _)| v.t)
                .collect();
            let t = result_type(&typed);
            let first = vals.into_iter().find(|v| !v.v.is_null());
            match first {
                Some(v) => TV::new(convert(&v, &t, None)?, t),
                None => TV::null(t),
            }
        }
        "NULLIF" => {
            arg_count(name, args, 2, 2)?;
            let x = a(0)?;
            let y = a(1)?;
            if cmp_tv(&x, &y)? == Some(Ordering::Equal) {
                TV::null(x.t)
            } else {
                x
            }
        }
        "IIF" => {
            arg_count(name, args, 3, 3)?;
            let c = a(0)?.truth() == Some(true);
            let (x, y) = (a(1)?, a(2)?);
            let t = result_type(&[x.t, y.t]);
            let v = if c { x } else { y };
            TV::new(convert(&v, &t, None)?, t)
        }
        "ABS" => {
            arg_count(name, args, 1, 1)?;
            let v = a(0)?;
            let r = match v.v {
                Value::Int(i) => Value::Int(i.checked_abs().ok_or_else(overflow)?),
                Value::Float(f) => Value::Float(f.abs()),
                Value::Decimal(m, s) => Value::Decimal(m.abs(), s),
                Value::Null => Value::Null,
                ref o => Value::Float(o.as_f64().unwrap_or(0.0).abs()),
            };
            TV::new(r, v.t)
        }
        _ => unreachable!("{name} is not one of this family's NAMES"),
    })
}
