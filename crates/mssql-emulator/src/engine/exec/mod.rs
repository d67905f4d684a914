//! Running batches: parse, then each statement in turn. A statement's error ends that
//! statement (and the batch only for batch-aborting errors); the connection lives on.

pub mod backups;
pub mod certs;
pub mod keys;
pub mod procs;
mod rpc;
pub mod security;
mod symmetric;

use super::eval::{convert, eval, Ctx, Scope, TV};
use super::messages::{self, Msg};
use super::session::Session;
use super::{Event, Fail, Instance, Res};
use crate::sql::ast::{Located, Statement};
use crate::tds::rpc::RpcCall;
use crate::tds::token::DoneStatus;
use crate::value::Value;

pub struct BatchOutput {
    pub events: Vec<Event>,
    /// An injected fault: close the connection instead of answering.
    pub drop_connection: bool,
}

/// Where a statement's output goes.
pub struct Out<'a> {
    pub events: &'a mut Vec<Event>,
    pub server: String,
    pub line: u32,
}

impl Out<'_> {
    pub fn info(&mut self, m: Msg) {
        let sm = m.into_server(&self.server, "", self.line);
        self.events.push(Event::Message(sm));
    }
}

/// Errors that end the whole batch, not just the statement.
fn aborts_batch(m: &Msg) -> bool {
    matches!(m.number, 245 | 241 | 8169 | 8115) || m.class >= 20
}

/// What a batch does after a statement.
enum Flow {
    Next,
    Abort,
    Drop,
}

impl Instance {
    /// Runs a batch as `login` in master, as a connected client would but without a
    /// connection: how a test seeds an instance. The errors it raised, as "Msg N: text".
    pub fn run_as(&self, login: &str, sql: &str) -> Result<(), Vec<String>> {
        let mut s = Session::new(0, login, "master");
        let errors: Vec<String> = self
            .execute_batch(&mut s, sql)
            .events
            .into_iter()
            .filter_map(|e| match e {
                super::Event::Message(m) if m.class > 10 => {
                    Some(format!("Msg {}: {}", m.number, m.text))
                }
                _ => None,
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// Time passing, as a test controls it: every backup msdb records is made `days` older,
    /// so a retention window ends before them as it would that many days later.
    pub fn age_backup_history(&self, days: i64) -> Result<(), String> {
        let back = chrono::Duration::days(days);
        let mut st = self.state();
        for row in &mut st.backup_history {
            row.backup_start_date -= back;
            row.backup_finish_date -= back;
        }
        self.persist(&st).map_err(|e| format!("{e:?}"))
    }

    /// Runs a batch as `login` in master and returns the rows of its first result set as
    /// text (NULL as an empty string): how a test reads an instance's state back through
    /// T-SQL. The errors it raised, as "Msg N: text".
    pub fn query_as(&self, login: &str, sql: &str) -> Result<Vec<Vec<String>>, Vec<String>> {
        let mut s = Session::new(0, login, "master");
        let mut first = None;
        let mut errors = Vec::new();
        for e in self.execute_batch(&mut s, sql).events {
            match e {
                super::Event::Rows { rows, .. } if first.is_none() => {
                    first = Some(
                        rows.iter()
                            .map(|r| r.iter().map(|v| v.to_text().unwrap_or_default()).collect())
                            .collect(),
                    )
                }
                super::Event::Message(m) if m.class > 10 => {
                    errors.push(format!("Msg {}: {}", m.number, m.text))
                }
                _ => {}
            }
        }
        if errors.is_empty() {
            Ok(first.unwrap_or_default())
        } else {
            Err(errors)
        }
    }

    pub fn execute_batch(&self, session: &mut Session, sql: &str) -> BatchOutput {
        session.variables.clear();
        let mut out = self.run_text(session, sql, 0);
        finish(&mut out.events);
        out
    }

    fn run_text(&self, session: &mut Session, sql: &str, depth: u32) -> BatchOutput {
        let mut events = Vec::new();
        let server = self.info.server_name();
        let stmts = match crate::sql::parse_batch(sql, self.info.major) {
            Ok(s) => s,
            Err(e) => {
                let m = Msg::new(e.number, e.class, e.state, e.text);
                events.push(Event::Message(m.into_server(&server, "", e.line)));
                events.push(Event::Done {
                    status: DoneStatus::ERROR,
                    rows: 0,
                });
                session.last_error = e.number;
                return BatchOutput {
                    events,
                    drop_connection: false,
                };
            }
        };
        if stmts.is_empty() {
            events.push(Event::Done {
                status: DoneStatus::empty(),
                rows: 0,
            });
        }
        for located in &stmts {
            match self.run_located(session, located, &mut events, &server, depth) {
                Flow::Next => {}
                Flow::Abort => break,
                Flow::Drop => {
                    return BatchOutput {
                        events,
                        drop_connection: true,
                    }
                }
            }
        }
        BatchOutput {
            events,
            drop_connection: false,
        }
    }

    /// One statement with its DONE (and its messages); IF and BEGIN ... END run the
    /// statements they hold, each with its own DONE, as SQL Server does.
    fn run_located(
        &self,
        session: &mut Session,
        located: &Located,
        events: &mut Vec<Event>,
        server: &str,
        depth: u32,
    ) -> Flow {
        let Located { line, stmt } = located;
        let branch = match stmt {
            Statement::If {
                condition,
                then,
                otherwise,
            } => {
                let st = self.state();
                let r = eval(&self.ctx(&st, session), &Scope::empty(), condition);
                drop(st);
                match r {
                    Ok(tv) if tv.truth() == Some(true) => Some(then),
                    Ok(_) => Some(otherwise),
                    Err(Fail(msgs)) => {
                        let abort = msgs.iter().any(aborts_batch);
                        session.last_error = msgs.last().map(|m| m.number).unwrap_or(0);
                        for m in msgs {
                            events.push(Event::Message(m.into_server(server, "", *line)));
                        }
                        events.push(Event::Done {
                            status: DoneStatus::ERROR,
                            rows: 0,
                        });
                        return if abort { Flow::Abort } else { Flow::Next };
                    }
                }
            }
            Statement::Block(body) => Some(body),
            _ => None,
        };
        if let Some(body) = branch {
            for l in body {
                match self.run_located(session, l, events, server, depth) {
                    Flow::Next => {}
                    other => return other,
                }
            }
            return Flow::Next;
        }
        let server = server.to_string();
        let mut o = Out {
            events,
            server: server.clone(),
            line: *line,
        };
        let r = self.run_statement(session, stmt, &mut o, depth);
        let drop = self.faults.statement_ran();
        match r {
            Ok(count) => {
                session.last_error = 0;
                if let Some(n) = count {
                    session.rowcount = n;
                }
                events.push(Event::Done {
                    status: if count.is_some() {
                        DoneStatus::COUNT
                    } else {
                        DoneStatus::empty()
                    },
                    rows: count.unwrap_or(0),
                });
            }
            Err(Fail(msgs)) => {
                let abort = msgs.iter().any(aborts_batch);
                session.last_error = msgs.last().map(|m| m.number).unwrap_or(0);
                for m in msgs {
                    events.push(Event::Message(m.into_server(&server, "", *line)));
                }
                events.push(Event::Done {
                    status: DoneStatus::ERROR,
                    rows: 0,
                });
                if abort {
                    return Flow::Abort;
                }
            }
        }
        if drop {
            tracing::warn!(
                spid = session.spid,
                "injected fault: dropping the connection after a statement"
            );
            return Flow::Drop;
        }
        Flow::Next
    }

    /// An RPC: sp_executesql runs its statement with the parameters as variables.
    pub fn execute_rpc(&self, session: &mut Session, call: &RpcCall) -> BatchOutput {
        session.variables.clear();
        let name = call.name();
        let lname = name.to_ascii_lowercase();
        let short = lname.rsplit('.').next().unwrap_or(&lname).to_string();
        let mut out = match short.as_str() {
            "sp_executesql" | "sp_prepare" | "sp_prepexec" | "sp_execute" | "sp_unprepare" => {
                self.parameterised(session, &short, call)
            }
            "sp_reset_connection" => BatchOutput {
                events: vec![],
                drop_connection: false,
            },
            _ => {
                let m = messages::unknown_procedure(&name);
                BatchOutput {
                    events: vec![
                        Event::Message(m.into_server(&self.info.server_name(), "", 1)),
                        Event::Done {
                            status: DoneStatus::ERROR,
                            rows: 0,
                        },
                    ],
                    drop_connection: false,
                }
            }
        };
        finish(&mut out.events);
        out
    }

    pub(crate) fn ctx<'a>(
        &'a self,
        st: &'a super::state::InstanceState,
        session: &'a Session,
    ) -> Ctx<'a> {
        Ctx {
            inst: self,
            st,
            session,
        }
    }

    fn run_statement(
        &self,
        session: &mut Session,
        stmt: &Statement,
        out: &mut Out,
        depth: u32,
    ) -> Res<Option<u64>> {
        match stmt {
            Statement::Use(db) => {
                let st = self.state();
                let d = st
                    .database(db)
                    .ok_or_else(|| Fail::from(messages::database_missing(db)))?;
                if !super::perms::has_database(&st, &session.login, d, "CONNECT")
                    && d.database_id > 4
                {
                    return Err(messages::cannot_access_database(&session.login, &d.name).into());
                }
                let old = std::mem::replace(&mut session.database, d.name.clone());
                out.events.push(Event::EnvDatabase {
                    new: d.name.clone(),
                    old,
                });
                out.info(messages::changed_database(&d.name));
                Ok(None)
            }
            Statement::Select(q) => {
                let st = self.state();
                let ctx = self.ctx(&st, session);
                let r = super::query::run_select(&ctx, q)?;
                drop(st);
                if let Some(a) = r.assignments {
                    for (name, tv) in a {
                        assign(session, &name, tv)?;
                    }
                    return Ok(None);
                }
                let n = r.rows.len() as u64;
                out.events.push(Event::Rows {
                    columns: r.columns,
                    rows: r.rows,
                });
                Ok(Some(n))
            }
            Statement::Declare(vars) => {
                for (name, ty, init) in vars {
                    let v = match init {
                        Some(e) => {
                            let st = self.state();
                            let tv = eval(&self.ctx(&st, session), &Scope::empty(), e)?;
                            convert(&tv, ty, None)?
                        }
                        None => Value::Null,
                    };
                    session.variables.insert(name.to_lowercase(), (*ty, v));
                }
                Ok(None)
            }
            Statement::SetVariable { name, expr } => {
                let tv = {
                    let st = self.state();
                    eval(&self.ctx(&st, session), &Scope::empty(), expr)?
                };
                assign(session, name, tv)?;
                Ok(None)
            }
            Statement::SetOption { option, value } => {
                if option == "LANGUAGE" {
                    session.language = value.to_lowercase();
                }
                session.options.insert(option.clone(), value.clone());
                Ok(None)
            }
            Statement::Print(e) => {
                let st = self.state();
                let tv = eval(&self.ctx(&st, session), &Scope::empty(), e)?;
                drop(st);
                out.info(Msg::new(0, 0, 1, tv.v.to_text().unwrap_or_default()));
                Ok(None)
            }
            Statement::BeginTransaction => {
                session.trancount += 1;
                Ok(None)
            }
            Statement::Commit | Statement::Rollback => {
                if session.trancount == 0 {
                    let (n, verb) = if matches!(stmt, Statement::Commit) {
                        (3902, "COMMIT")
                    } else {
                        (3903, "ROLLBACK")
                    };
                    return Err(Msg::new(n, 16, 1, format!("The {verb} TRANSACTION request has no corresponding BEGIN TRANSACTION.")).into());
                }
                session.trancount = if matches!(stmt, Statement::Rollback) {
                    0
                } else {
                    session.trancount - 1
                };
                Ok(None)
            }
            Statement::Kill(e) => {
                let st = self.state();
                let target = eval(&self.ctx(&st, session), &Scope::empty(), e)?
                    .v
                    .as_i64();
                let allowed = super::perms::has_server(&st, &session.login, "ALTER ANY CONNECTION")
                    || super::perms::is_member(&st, &session.login, "processadmin");
                drop(st);
                self.kill(session, target, allowed)?;
                Ok(None)
            }
            Statement::WaitFor(e) => {
                let st = self.state();
                let tv = eval(&self.ctx(&st, session), &Scope::empty(), e)?;
                drop(st);
                let text = tv.v.to_text().unwrap_or_default();
                let d = parse_delay(&text).ok_or_else(|| {
                    Fail::from(Msg::new(
                        148,
                        15,
                        1,
                        "Incorrect time syntax in time string used with WAITFOR.",
                    ))
                })?;
                std::thread::sleep(d.min(std::time::Duration::from_secs(30)));
                Ok(None)
            }
            Statement::Exec(x) => procs::exec(self, session, x, out, depth),
            Statement::BackupServiceMasterKey { .. }
            | Statement::RestoreServiceMasterKey { .. }
            | Statement::AlterServiceMasterKey { .. }
            | Statement::CreateMasterKey { .. }
            | Statement::OpenMasterKey { .. }
            | Statement::CloseMasterKey
            | Statement::BackupMasterKey { .. }
            | Statement::RestoreMasterKey { .. }
            | Statement::AlterMasterKey(_)
            | Statement::DropMasterKey => keys::run(self, session, stmt, out),
            Statement::BackupDatabase(_) | Statement::RestoreInfo { .. } => {
                backups::run(self, session, stmt, out)
            }
            Statement::CreateSymmetricKey { .. } | Statement::DropSymmetricKey(_) => {
                symmetric::run(self, session, stmt, out)
            }
            Statement::CreateCertificate(_)
            | Statement::AlterDatabaseEncryptionKey { .. }
            | Statement::BackupCertificate(_)
            | Statement::DropCertificate(_)
            | Statement::CreateDatabaseEncryptionKey { .. }
            | Statement::DropDatabaseEncryptionKey
            | Statement::AlterDatabaseEncryption { .. } => certs::run(self, session, stmt, out),
            _ => security::run(self, session, stmt, out),
        }
    }
}

pub(crate) fn run_nested(
    inst: &Instance,
    session: &mut Session,
    sql: &str,
    depth: u32,
) -> BatchOutput {
    inst.run_text(session, sql, depth)
}

fn assign(session: &mut Session, name: &str, tv: TV) -> Res<()> {
    let key = name.to_lowercase();
    let ty = match session.variables.get(&key) {
        Some((t, _)) => *t,
        None => return Err(messages::must_declare(name).into()),
    };
    let v = convert(&tv, &ty, None)?;
    session.variables.insert(key, (ty, v));
    Ok(())
}

/// Names in an sp_executesql parameter declaration: "@P1 int, @P2 nvarchar(4000)".
pub(super) fn declared_names(decl: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut depth = 0;
    for part in decl.split(|c: char| {
        if c == '(' {
            depth += 1;
        } else if c == ')' {
            depth -= 1;
        }
        c == ',' && depth == 0
    }) {
        if let Some(n) = part.split_whitespace().next() {
            if n.starts_with('@') {
                names.push(n.to_string());
            }
        }
    }
    names
}

fn parse_delay(s: &str) -> Option<std::time::Duration> {
    let parts: Vec<&str> = s.trim().split(':').collect();
    if parts.len() < 2 || parts.len() > 3 {
        return None;
    }
    let h: u64 = parts[0].parse().ok()?;
    let m: u64 = parts[1].parse().ok()?;
    let sec: f64 = parts.get(2).map(|x| x.parse().ok()).unwrap_or(Some(0.0))?;
    Some(std::time::Duration::from_millis(
        ((h * 3600 + m * 60) as f64 * 1000.0 + sec * 1000.0) as u64,
    ))
}

/// Marks every DONE but the last with DONE_MORE.
fn finish(events: &mut [Event]) {
    let last = events.iter().rposition(|e| matches!(e, Event::Done { .. }));
    for (i, e) in events.iter_mut().enumerate() {
        if let Event::Done { status, .. } = e {
            if Some(i) != last {
                *status |= DoneStatus::MORE;
            }
        }
    }
}

/// The literal type of a string argument, for procedures that take one.
pub(crate) fn arg_text(
    inst: &Instance,
    session: &Session,
    e: &crate::sql::ast::Expr,
) -> Res<Option<String>> {
    let st = inst.state();
    Ok(eval(&inst.ctx(&st, session), &Scope::empty(), e)?
        .v
        .to_text())
}
