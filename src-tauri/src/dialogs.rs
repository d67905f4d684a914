//! Native file dialogs through tauri-plugin-dialog, parented to the main window so they are
//! modal to it and stay above it.

use crate::state::AppState;
use std::path::PathBuf;
use tauri::Manager;
use tauri_plugin_dialog::{DialogExt, FileDialogBuilder, FilePath};

fn builder(state: &AppState, title: &str) -> Option<FileDialogBuilder<tauri::Wry>> {
    let app = state.app.get()?;
    let b = app.dialog().file().set_title(title);
    Some(match app.get_webview_window("main") {
        Some(w) => b.set_parent(&w),
        None => b,
    })
}

/// Shows a dialog without blocking the runtime: `show` opens it with a callback, the answer
/// comes back through a channel. None when cancelled (or when there is no window).
async fn answer(
    b: Option<FileDialogBuilder<tauri::Wry>>,
    show: impl FnOnce(FileDialogBuilder<tauri::Wry>, Box<dyn FnOnce(Option<FilePath>) + Send>),
) -> Option<PathBuf> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    show(
        b?,
        Box::new(move |p| {
            let _ = tx.send(p);
        }),
    );
    rx.await.ok().flatten().and_then(|p| p.into_path().ok())
}

pub async fn pick_folder(state: &AppState, title: &str) -> Option<PathBuf> {
    answer(builder(state, title), |b, f| b.pick_folder(f)).await
}

pub async fn save_file(
    state: &AppState,
    title: &str,
    name: &str,
    filter: (&str, &[&str]),
) -> Option<PathBuf> {
    let b = builder(state, title).map(|b| b.set_file_name(name).add_filter(filter.0, filter.1));
    answer(b, |b, f| b.save_file(f)).await
}

pub async fn open_file(state: &AppState, title: &str, filter: (&str, &[&str])) -> Option<PathBuf> {
    let b = builder(state, title).map(|b| b.add_filter(filter.0, filter.1));
    answer(b, |b, f| b.pick_file(f)).await
}
