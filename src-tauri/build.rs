use std::path::Path;

fn main() {
    // generate_context! embeds ui/dist at compile time but does not notice a rebuilt UI:
    // a stamp of the built files, passed as an env var, makes cargo recompile the app.
    println!("cargo:rerun-if-changed=ui/dist");
    let mut stamp = 0u128;
    stamp_dir(Path::new("ui/dist"), &mut stamp);
    println!("cargo:rustc-env=KEYSAFE_UI_STAMP={stamp}");
    tauri_build::build()
}

fn stamp_dir(dir: &Path, stamp: &mut u128) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        println!("cargo:rerun-if-changed={}", p.display());
        if p.is_dir() {
            stamp_dir(&p, stamp);
        } else if let Ok(m) = e.metadata() {
            let t = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
            *stamp = stamp
                .wrapping_add(t.map_or(0, |t| t.as_nanos()))
                .wrapping_add(u128::from(m.len()));
        }
    }
}
