//! Parameterised statements over RPC: sp_executesql, and the prepared-statement family
//! ODBC uses (sp_prepexec on a statement's first execution, sp_execute after it,
//! sp_unprepare when the statement handle is freed; sp_prepare for SQLPrepare alone).

use super::{declared_names, BatchOutput, Event, Instance};
use crate::engine::assumptions;
use crate::engine::messages::Msg;
use crate::engine::session::Session;
use crate::tds::rpc::{RpcCall, RpcParam};
use crate::tds::token::DoneStatus;
use crate::value::{SqlType, Value};

impl Instance {
    pub(super) fn parameterised(
        &self,
        session: &mut Session,
        proc_name: &str,
        call: &RpcCall,
    ) -> BatchOutput {
        let text = |i: usize| call.params.get(i).and_then(|p| p.value.value.to_text());
        let handle = |i: usize| call.params.get(i).and_then(|p| p.value.value.as_i64());
        match proc_name {
            "sp_executesql" => {
                let Some(stmt) = text(0) else {
                    return self.rpc_error(proc_name, expects("@statement"));
                };
                let decl = text(1).unwrap_or_default();
                self.bind(session, &decl, call.params.iter().skip(2));
                self.run_text(session, &stmt, 0)
            }
            "sp_prepare" | "sp_prepexec" => {
                let Some(stmt) = text(2) else {
                    return self.rpc_error(proc_name, expects("@stmt"));
                };
                let decl = text(1).unwrap_or_default();
                let id = session.prepared.keys().max().copied().unwrap_or(0) + 1;
                session.prepared.insert(id, (decl.clone(), stmt.clone()));
                // The handle goes back first: it exists before the statement runs (see
                // assumptions::PREPARED_HANDLE_FIRST).
                let mut events = vec![Event::ReturnValue {
                    ordinal: 0,
                    name: call
                        .params
                        .first()
                        .map(|p| p.name.clone())
                        .unwrap_or_default(),
                    ty: SqlType::Int,
                    value: Value::Int(id as i64),
                }];
                if proc_name == "sp_prepexec" {
                    self.bind(session, &decl, call.params.iter().skip(3));
                    events.extend(self.run_text(session, &stmt, 0).events);
                } else {
                    events.push(Event::Done {
                        status: DoneStatus::empty(),
                        rows: 0,
                    });
                }
                BatchOutput {
                    events,
                    drop_connection: false,
                }
            }
            "sp_execute" => {
                let found = handle(0)
                    .and_then(|h| i32::try_from(h).ok())
                    .and_then(|h| session.prepared.get(&h).cloned());
                let Some((decl, stmt)) = found else {
                    return self.rpc_error(proc_name, no_handle(handle(0)));
                };
                self.bind(session, &decl, call.params.iter().skip(1));
                self.run_text(session, &stmt, 0)
            }
            _ => {
                let removed = handle(0)
                    .and_then(|h| i32::try_from(h).ok())
                    .and_then(|h| session.prepared.remove(&h));
                if removed.is_none() {
                    return self.rpc_error(proc_name, no_handle(handle(0)));
                }
                BatchOutput {
                    events: vec![Event::Done {
                        status: DoneStatus::empty(),
                        rows: 0,
                    }],
                    drop_connection: false,
                }
            }
        }
    }

    /// The values as the statement's variables: by name, or (unnamed) in the order the
    /// declarations give.
    fn bind<'a>(
        &self,
        session: &mut Session,
        decl: &str,
        values: impl Iterator<Item = &'a RpcParam>,
    ) {
        let names = declared_names(decl);
        for (i, p) in values.enumerate() {
            let n = if p.name.is_empty() {
                names.get(i).cloned().unwrap_or_default()
            } else {
                p.name.clone()
            };
            session
                .variables
                .insert(n.to_lowercase(), (p.value.ty, p.value.value.clone()));
        }
    }

    fn rpc_error(&self, proc_name: &str, m: Msg) -> BatchOutput {
        BatchOutput {
            events: vec![
                Event::Message(m.into_server(&self.info.server_name(), proc_name, 1)),
                Event::Done {
                    status: DoneStatus::ERROR,
                    rows: 0,
                },
            ],
            drop_connection: false,
        }
    }
}

fn expects(param: &str) -> Msg {
    Msg::new(
        214,
        16,
        2,
        format!("Procedure expects parameter '{param}' of type 'ntext/nchar/nvarchar'."),
    )
}

fn no_handle(h: Option<i64>) -> Msg {
    let (n, state) = assumptions::PREPARED_HANDLE_UNKNOWN;
    Msg::new(
        n,
        16,
        state,
        format!(
            "Could not find prepared statement with handle {}.",
            h.map(|h| h.to_string()).unwrap_or_else(|| "NULL".into())
        ),
    )
}
