//! An empty Tauri 2 window whose page calls one command, as Keysafe's UI does when it is
//! ready: the baseline for `scripts/bench-app.sh`.

#[tauri::command]
fn ready() {
    println!("ready");
}

fn main() {
    tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![ready])
        .run(tauri::generate_context!())
        .expect("tauri");
}
