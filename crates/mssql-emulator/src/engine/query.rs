//! SELECT: sources (catalog views, table-valued functions, OPENROWSET BULK, subqueries),
//! joins, WHERE, GROUP BY with aggregates, HAVING, ORDER BY, DISTINCT, TOP.

use super::catalog::{self, Table};
use super::eval::{cmp_tv, eval, ColRef, Ctx, Scope, TV};
use super::messages::{self, Msg};
use super::{perms, Fail, Res};
use crate::sql::ast::{Expr, Select, SelectItem, TableRef};
use crate::tds::token::Column;
use crate::value::{ci_eq, compare, SqlType, Value};
use std::cmp::Ordering;

pub struct ResultSet {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Value>>,
    /// SELECT @v = ...: the values assigned by the last row (no result set is sent).
    pub assignments: Option<Vec<(String, TV)>>,
}

fn source(ctx: &Ctx, t: &TableRef) -> Res<Table> {
    match t {
        TableRef::Named { name, alias } => {
            let q = alias
                .clone()
                .unwrap_or_else(|| name.last().unwrap().clone());
            catalog::view(ctx, name, &q)
        }
        TableRef::Function { name, args, alias } => {
            let q = alias
                .clone()
                .unwrap_or_else(|| name.last().unwrap().clone());
            let vals: Vec<TV> = args
                .iter()
                .map(|a| eval(ctx, &Scope::empty(), a))
                .collect::<Res<_>>()?;
            catalog::function(ctx, name, &vals, &q)
        }
        TableRef::OpenRowsetBulk { path, mode, alias } => {
            if !perms::has_server(ctx.st, &ctx.session.login, "ADMINISTER BULK OPERATIONS") {
                return Err(messages::bulk_denied().into());
            }
            if let Some(m) = ctx
                .inst
                .linux_bulk_refusal(ctx.st, &ctx.session.login, path)
                .or_else(|| {
                    ctx.inst
                        .windows_read_refusal(ctx.st, &ctx.session.login, path)
                })
            {
                return Err(m.into());
            }
            let bytes = ctx
                .inst
                .read_server_file(path)
                .ok_or_else(|| Fail::from(ctx.inst.bulk_open_error(path)))?;
            let (ty, v) = match mode.as_str() {
                "SINGLE_BLOB" => (SqlType::VarBinary(None), Value::Bytes(bytes)),
                "SINGLE_NCLOB" => (
                    SqlType::NVarChar(None),
                    Value::Str(crate::tds::decode_utf16(&bytes, "file").map_err(|_| {
                        Fail::from(Msg::new(4809, 16, 1, "SINGLE_NCLOB requires a UNICODE (widechar) input file. The file specified is not Unicode."))
                    })?),
                ),
                _ => (SqlType::VarChar(None), Value::Str(encoding_rs::WINDOWS_1252.decode(&bytes).0.into_owned())),
            };
            let q = alias.clone().unwrap_or_default();
            Ok(Table {
                cols: vec![ColRef {
                    qualifier: q,
                    name: "BulkColumn".into(),
                    ty,
                }],
                rows: vec![vec![v]],
            })
        }
        TableRef::Subquery { query, alias } => {
            let r = run_select(ctx, query)?;
            let cols = r
                .columns
                .iter()
                .map(|c| ColRef {
                    qualifier: alias.clone(),
                    name: c.name.clone(),
                    ty: c.ty,
                })
                .collect();
            Ok(Table { cols, rows: r.rows })
        }
    }
}

fn truthy(ctx: &Ctx, cols: &[ColRef], row: &[Value], e: &Expr) -> Res<bool> {
    Ok(eval(
        ctx,
        &Scope {
            cols,
            row,
            group: None,
        },
        e,
    )?
    .truth()
        == Some(true))
}

pub fn run_select(ctx: &Ctx, q: &Select) -> Res<ResultSet> {
    // FROM and JOINs
    let (cols, mut rows) = match &q.from {
        None => (Vec::new(), vec![Vec::new()]),
        Some(t) => {
            let base = source(ctx, t)?;
            let mut cols = base.cols;
            let mut rows = base.rows;
            for j in &q.joins {
                let right = source(ctx, &j.table)?;
                let mut all_cols = cols.clone();
                all_cols.extend(right.cols.iter().cloned());
                let mut out = Vec::new();
                for l in &rows {
                    let mut matched = false;
                    for r in &right.rows {
                        let mut row = l.clone();
                        row.extend(r.iter().cloned());
                        if truthy(ctx, &all_cols, &row, &j.on)? {
                            matched = true;
                            out.push(row);
                        }
                    }
                    if !matched && j.left {
                        let mut row = l.clone();
                        row.extend(std::iter::repeat_n(Value::Null, right.cols.len()));
                        out.push(row);
                    }
                }
                cols = all_cols;
                rows = out;
            }
            (cols, rows)
        }
    };
    if let Some(f) = &q.filter {
        let mut kept = Vec::new();
        for r in rows {
            if truthy(ctx, &cols, &r, f)? {
                kept.push(r);
            }
        }
        rows = kept;
    }

    // Expand the select list.
    let mut items: Vec<(Expr, String)> = Vec::new();
    let mut assigns: Vec<(String, Expr)> = Vec::new();
    for it in &q.items {
        match it {
            SelectItem::Star(qual) => {
                if q.from.is_none() {
                    return Err(Msg::new(263, 16, 1, "Must specify table to select from.").into());
                }
                let mut any = false;
                for c in &cols {
                    if qual.as_ref().is_none_or(|qq| ci_eq(qq, &c.qualifier)) {
                        items.push((
                            Expr::Column(vec![c.qualifier.clone(), c.name.clone()]),
                            c.name.clone(),
                        ));
                        any = true;
                    }
                }
                if !any {
                    let q = qual.clone().unwrap_or_default();
                    return Err(Msg::new(
                        4104,
                        16,
                        1,
                        format!("The multi-part identifier \"{q}\" could not be bound."),
                    )
                    .into());
                }
            }
            SelectItem::Expr { expr, alias } => {
                let name = alias.clone().unwrap_or_else(|| match expr {
                    Expr::Column(p) => p.last().unwrap().clone(),
                    _ => String::new(),
                });
                items.push((expr.clone(), name));
            }
            SelectItem::Assign { variable, expr } => assigns.push((variable.clone(), expr.clone())),
        }
    }
    if !assigns.is_empty() && !items.is_empty() {
        return Err(Msg::new(141, 15, 1, "A SELECT statement that assigns a value to a variable must not be combined with data-retrieval operations.").into());
    }

    let grouped = !q.group_by.is_empty()
        || items.iter().any(|(e, _)| e.has_aggregate())
        || assigns.iter().any(|(_, e)| e.has_aggregate())
        || q.having.is_some();

    // Each output row: projected values, plus the scope it came from (for ORDER BY).
    struct OutRow {
        values: Vec<TV>,
        src: Vec<Value>,
        group: Option<Vec<Vec<Value>>>,
    }
    let project = |row: &[Value], group: Option<&[Vec<Value>]>| -> Res<Vec<TV>> {
        let scope = Scope {
            cols: &cols,
            row,
            group,
        };
        items.iter().map(|(e, _)| eval(ctx, &scope, e)).collect()
    };
    let mut out: Vec<OutRow> = Vec::new();
    if grouped {
        // Group rows by the GROUP BY key (one group of everything when there is none).
        let mut groups: Vec<(Vec<TV>, Vec<Vec<Value>>)> = Vec::new();
        for r in rows {
            let scope = Scope {
                cols: &cols,
                row: &r,
                group: None,
            };
            let key: Vec<TV> = q
                .group_by
                .iter()
                .map(|e| eval(ctx, &scope, e))
                .collect::<Res<_>>()?;
            match groups.iter_mut().find(|(k, _)| keys_equal(k, &key)) {
                Some((_, g)) => g.push(r),
                None => groups.push((key, vec![r])),
            }
        }
        if groups.is_empty() && q.group_by.is_empty() {
            groups.push((vec![], vec![]));
        }
        for (_, g) in groups {
            let first = g
                .first()
                .cloned()
                .unwrap_or_else(|| vec![Value::Null; cols.len()]);
            if let Some(h) = &q.having {
                let scope = Scope {
                    cols: &cols,
                    row: &first,
                    group: Some(&g),
                };
                if eval(ctx, &scope, h)?.truth() != Some(true) {
                    continue;
                }
            }
            check_grouped_columns(&items, &q.group_by)?;
            let values = project(&first, Some(&g))?;
            out.push(OutRow {
                values,
                src: first,
                group: Some(g),
            });
        }
    } else {
        for r in rows {
            let values = project(&r, None)?;
            out.push(OutRow {
                values,
                src: r,
                group: None,
            });
        }
    }

    // SELECT @v = expr: assign from each row; the last one wins.
    if !assigns.is_empty() {
        let mut result = Vec::new();
        if !grouped {
            let mut last = None;
            for o in &out {
                let scope = Scope {
                    cols: &cols,
                    row: &o.src,
                    group: None,
                };
                last = Some(
                    assigns
                        .iter()
                        .map(|(v, e)| Ok((v.clone(), eval(ctx, &scope, e)?)))
                        .collect::<Res<Vec<_>>>()?,
                );
            }
            if let Some(l) = last {
                result = l;
            }
        } else {
            for o in &out {
                let scope = Scope {
                    cols: &cols,
                    row: &o.src,
                    group: o.group.as_deref(),
                };
                result = assigns
                    .iter()
                    .map(|(v, e)| Ok((v.clone(), eval(ctx, &scope, e)?)))
                    .collect::<Res<Vec<_>>>()?;
            }
        }
        return Ok(ResultSet {
            columns: vec![],
            rows: vec![],
            assignments: Some(result),
        });
    }

    // Column types: from the first row, or from a row of NULLs when there is none.
    let types: Vec<SqlType> = match out.first() {
        Some(o) => o.values.iter().map(|v| v.t).collect(),
        None => {
            let nulls = vec![Value::Null; cols.len()];
            let empty: Vec<Vec<Value>> = vec![];
            let scope = Scope {
                cols: &cols,
                row: &nulls,
                group: if grouped { Some(&empty) } else { None },
            };
            items
                .iter()
                .map(|(e, _)| {
                    eval(ctx, &scope, e)
                        .map(|v| v.t)
                        .unwrap_or(SqlType::NVarChar(Some(4000)))
                })
                .collect()
        }
    };

    if q.distinct {
        let mut uniq: Vec<OutRow> = Vec::new();
        for o in out {
            if !uniq.iter().any(|u| keys_equal(&u.values, &o.values)) {
                uniq.push(o);
            }
        }
        out = uniq;
    }

    if !q.order_by.is_empty() {
        let mut keyed: Vec<(Vec<TV>, OutRow)> = Vec::new();
        for o in out {
            let mut key = Vec::new();
            for (e, _) in &q.order_by {
                let k = match e {
                    Expr::Literal(Value::Int(n), _) => {
                        let i = *n as usize;
                        if i == 0 || i > o.values.len() {
                            return Err(Msg::new(108, 16, 1, format!("The ORDER BY position number {n} is out of range of the number of items in the select list.")).into());
                        }
                        o.values[i - 1].clone()
                    }
                    Expr::Column(p)
                        if p.len() == 1 && items.iter().any(|(_, n)| ci_eq(n, &p[0])) =>
                    {
                        let i = items.iter().position(|(_, n)| ci_eq(n, &p[0])).unwrap();
                        o.values[i].clone()
                    }
                    _ => eval(
                        ctx,
                        &Scope {
                            cols: &cols,
                            row: &o.src,
                            group: o.group.as_deref(),
                        },
                        e,
                    )?,
                };
                key.push(k);
            }
            keyed.push((key, o));
        }
        let dirs: Vec<bool> = q.order_by.iter().map(|(_, d)| *d).collect();
        keyed.sort_by(|(a, _), (b, _)| {
            for (i, desc) in dirs.iter().enumerate() {
                // NULLs sort first ascending, as in SQL Server.
                let o = match (a[i].v.is_null(), b[i].v.is_null()) {
                    (true, true) => Ordering::Equal,
                    (true, false) => Ordering::Less,
                    (false, true) => Ordering::Greater,
                    _ => compare(&a[i].v, &b[i].v).unwrap_or(Ordering::Equal),
                };
                let o = if *desc { o.reverse() } else { o };
                if o != Ordering::Equal {
                    return o;
                }
            }
            Ordering::Equal
        });
        out = keyed.into_iter().map(|(_, o)| o).collect();
    }

    if let Some(t) = &q.top {
        let n = eval(ctx, &Scope::empty(), t)?.v.as_i64().unwrap_or(0);
        if n < 0 {
            return Err(Msg::new(1060, 16, 1, "The number of rows provided for a TOP or FETCH clauses row count parameter must be an integer.").into());
        }
        out.truncate(n as usize);
    }

    let columns: Vec<Column> = items
        .iter()
        .zip(&types)
        .map(|((_, n), t)| Column {
            name: n.clone(),
            ty: *t,
            nullable: true,
        })
        .collect();
    let rows = out
        .into_iter()
        .map(|o| {
            o.values
                .into_iter()
                .zip(&types)
                .map(|(v, t)| {
                    if v.t == *t {
                        v.v
                    } else {
                        super::eval::convert(&v, t, None).unwrap_or(Value::Null)
                    }
                })
                .collect()
        })
        .collect();
    Ok(ResultSet {
        columns,
        rows,
        assignments: None,
    })
}

fn keys_equal(a: &[TV], b: &[TV]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| match (x.v.is_null(), y.v.is_null()) {
                (true, true) => true,
                (false, false) => cmp_tv(x, y).ok().flatten() == Some(Ordering::Equal),
                _ => false,
            })
}

/// A column in the select list of a grouped query must be in GROUP BY or in an aggregate.
fn check_grouped_columns(items: &[(Expr, String)], group_by: &[Expr]) -> Res<()> {
    fn bare_columns<'a>(e: &'a Expr, out: &mut Vec<&'a Vec<String>>) {
        match e {
            Expr::Column(p) => out.push(p),
            Expr::Function { name, .. } if crate::sql::ast::is_aggregate(name) => {}
            Expr::Function { args, .. } => args.iter().for_each(|a| bare_columns(a, out)),
            Expr::Neg(x) | Expr::Not(x) => bare_columns(x, out),
            Expr::Binary(_, a, b) => {
                bare_columns(a, out);
                bare_columns(b, out)
            }
            Expr::Cast { expr, .. } | Expr::Convert { expr, .. } | Expr::IsNull { expr, .. } => {
                bare_columns(expr, out)
            }
            Expr::Case {
                operand,
                whens,
                otherwise,
            } => {
                if let Some(o) = operand {
                    bare_columns(o, out)
                }
                for (a, b) in whens {
                    bare_columns(a, out);
                    bare_columns(b, out);
                }
                if let Some(o) = otherwise {
                    bare_columns(o, out)
                }
            }
            _ => {}
        }
    }
    for (e, _) in items {
        if group_by.iter().any(|g| g == e) {
            continue;
        }
        let mut cs = Vec::new();
        bare_columns(e, &mut cs);
        for c in cs {
            let listed = group_by.iter().any(|g| matches!(g, Expr::Column(p) if p.last().map(|x| x.to_lowercase()) == c.last().map(|x| x.to_lowercase())));
            if !listed {
                let name = c.join(".");
                return Err(Msg::new(8120, 16, 1, format!("Column '{name}' is invalid in the select list because it is not contained in either an aggregate function or the GROUP BY clause.")).into());
            }
        }
    }
    Ok(())
}
