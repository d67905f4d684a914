//! The query pane: F5 runs the selection or the whole script, GO separates batches, the
//! Messages tab reads as SSMS's, and Alt+Break cancels.

use crate::error::{IpcResult, KeysafeError};
use crate::state::AppState;
use crate::types::{QueryOutcome, ResultSetView};
use keysafe_core::query::split_batches;
use keysafe_core::ErrorCode;

pub async fn run_query(state: &AppState, id: u32, sql: String) -> IpcResult<QueryOutcome> {
    let conn = state.connection(id)?;
    let started = std::time::Instant::now();
    let batches = split_batches(&sql);
    let task_conn = conn.clone();
    // The batches run in their own task so a cancel can abort it; the session goes with
    // the task and is dropped (the socket closed) if it is aborted.
    let task = tokio::spawn(async move {
        let mut g = task_conn.session().await?;
        let mut session = g.take().expect("session");
        drop(g);
        let mut out = QueryOutcome {
            result_sets: vec![],
            messages: vec![],
            errors: 0,
            database: String::new(),
            cancelled: false,
            elapsed_ms: 0.0,
        };
        let mut lost = None;
        'batches: for b in &batches {
            for _ in 0..b.repeat {
                match session.run_batch(b).await {
                    Ok(o) => {
                        out.messages.extend(o.messages());
                        out.errors += u32::from(o.error.is_some());
                        out.result_sets
                            .extend(o.result_sets.into_iter().map(|r| ResultSetView {
                                columns: r.columns,
                                rows: r.rows,
                            }));
                    }
                    Err(e) => {
                        lost = Some(e);
                        break 'batches;
                    }
                }
            }
        }
        if let Some(e) = lost {
            // The session is gone; the next query reconnects.
            return Err(e);
        }
        out.database = session.current_database().await.unwrap_or_default();
        *task_conn.session.lock().await = Some(session);
        Ok::<_, keysafe_core::KeysafeError>(out)
    });
    *conn.running.lock().expect("running") = Some(task.abort_handle());
    let result = task.await;
    conn.running.lock().expect("running").take();
    let mut out = match result {
        Ok(r) => r?,
        Err(j) if j.is_cancelled() => QueryOutcome {
            result_sets: vec![],
            messages: vec!["Query was cancelled by user.".into()],
            errors: 0,
            database: String::new(),
            cancelled: true,
            elapsed_ms: 0.0,
        },
        Err(j) => {
            return Err(KeysafeError::new(
                ErrorCode::ConnectionLost,
                format!("The query stopped unexpectedly: {j}"),
            ))
        }
    };
    if out.errors == 0 && !out.cancelled && out.result_sets.is_empty() {
        out.messages.push("Commands completed successfully.".into());
    }
    out.messages.push(format!(
        "Completion time: {}",
        chrono::Local::now().format("%Y-%m-%dT%H:%M:%S%.6f%:z")
    ));
    out.elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    Ok(out)
}

/// Alt+Break: stops the running batch. Returns whether something was running.
pub fn cancel_query(state: &AppState, id: u32) -> IpcResult<bool> {
    let conn = state.connection(id)?;
    let h = conn.running.lock().expect("running").take();
    Ok(match h {
        Some(h) => {
            h.abort();
            true
        }
        None => false,
    })
}
