//! The harness for driving the real Keysafe app: tauri-driver (which runs WebKitWebDriver)
//! launches `target/debug/keysafe-app` with a throw-away KEYSAFE_HOME, and fantoccini
//! speaks WebDriver to it. Needs a display (Xvfb) and a session bus with a keyring
//! (`scripts/with-keyring.sh`); `scripts/test.sh` provides both.

use fantoccini::{elements::Element, Client, ClientBuilder, Locator};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use fantoccini;

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("root")
}

pub fn app_binary() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    let p = target.join("debug").join("keysafe-app");
    assert!(
        p.exists(),
        "{} is missing: run `cargo build --workspace --all-targets` first",
        p.display()
    );
    p
}

/// Where screenshots go (CI keeps them as artifacts).
pub fn artifacts() -> PathBuf {
    let d = std::env::var_os("KEYSAFE_TEST_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("test-artifacts"));
    std::fs::create_dir_all(&d).expect("artifacts dir");
    d
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One running app, driven over WebDriver.
pub struct App {
    pub client: Client,
    driver: Child,
    pub home: tempfile::TempDir,
}

impl App {
    /// Starts the app with these arguments and a fresh KEYSAFE_HOME.
    pub async fn launch(args: &[&str]) -> App {
        App::launch_with(args, |_| {}).await
    }

    /// `launch` with KEYSAFE_HOME prepared by `seed` before the app starts (what an earlier
    /// session, or an unattended run, left there).
    pub async fn launch_with(args: &[&str], seed: impl FnOnce(&std::path::Path)) -> App {
        let home = tempfile::tempdir().expect("home");
        seed(home.path());
        let (port, native) = (free_port(), free_port());
        let driver = Command::new(std::env::var("TAURI_DRIVER").unwrap_or_else(|_| "tauri-driver".into()))
            .args(["--port", &port.to_string(), "--native-port", &native.to_string()])
            .env("KEYSAFE_HOME", home.path())
            // Everything logged, so the secret checks look at the most the app ever writes.
            .env("KEYSAFE_LOG", "trace")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tauri-driver (cargo install tauri-driver@2.1.0 --locked) and WebKitWebDriver (webkit2gtk-driver) must be installed");
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), "wry".into());
        caps.insert(
            "tauri:options".into(),
            serde_json::json!({ "application": app_binary(), "args": args }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = loop {
            match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(c) => break c,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(250)).await
                }
                Err(e) => panic!("no WebDriver session: {e}"),
            }
        };
        App {
            client,
            driver,
            home,
        }
    }

    pub async fn wait_for(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css} did not appear: {e}"))
    }

    /// Waits until the element's text satisfies `f`; returns the text.
    pub async fn wait_text(&self, css: &str, what: &str, f: impl Fn(&str) -> bool) -> String {
        // textContent: WebKitWebDriver's visible-text algorithm drops text in ellipsised
        // flex children that are plainly on screen (see the screenshots).
        self.wait_value(css, "e.textContent", what, f).await
    }

    /// Waits until the element's accessible name (`aria-label`) satisfies `f`: what a screen
    /// reader says for it.
    pub async fn wait_label(&self, css: &str, what: &str, f: impl Fn(&str) -> bool) -> String {
        self.wait_value(css, "e.getAttribute('aria-label')", what, f)
            .await
    }

    async fn wait_value(
        &self,
        css: &str,
        getter: &str,
        what: &str,
        f: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut last = String::new();
        let script =
            format!("const e = document.querySelector(arguments[0]); return e ? {getter} : null;");
        while Instant::now() < deadline {
            let got = self.client.execute(&script, vec![css.into()]).await;
            if let Ok(serde_json::Value::String(t)) = got {
                if f(&t) {
                    return t;
                }
                last = t;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        self.screenshot(&format!("timeout-{}", what.replace(' ', "-")))
            .await;
        panic!("{css} never showed {what}; last text: {last:?}");
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let e = self.wait_for(css).await;
        e.clear().await.ok();
        e.send_keys(text)
            .await
            .unwrap_or_else(|err| panic!("typing into {css}: {err}"));
    }

    /// Sends keys (WebDriver key codes or text) to whatever has the focus, as a user would.
    pub async fn press(&self, keys: &str) {
        self.client
            .active_element()
            .await
            .unwrap_or_else(|e| panic!("no focused element: {e}"))
            .send_keys(keys)
            .await
            .unwrap_or_else(|e| panic!("pressing {keys:?}: {e}"));
    }

    pub async fn click(&self, css: &str) {
        self.wait_for(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    pub async fn screenshot(&self, name: &str) {
        // Two animation frames: what was just typed or scrolled is painted before the capture.
        let _ = self
            .client
            .execute_async(
                "const done = arguments[0]; requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
                vec![],
            )
            .await;
        if let Ok(png) = self.client.screenshot().await {
            let _ = std::fs::write(artifacts().join(format!("{name}.png")), png);
        }
    }

    /// Ends the session (which closes the app); returns its KEYSAFE_HOME for inspection.
    pub async fn close(self) -> tempfile::TempDir {
        let App {
            client,
            mut driver,
            home,
        } = self;
        let _ = client.close().await;
        // SIGTERM lets tauri-driver stop WebKitWebDriver too (SIGKILL would orphan it).
        unsafe {
            libc::kill(driver.id() as i32, libc::SIGTERM);
        }
        let _ = driver.wait();
        home
    }
}

/// Types into the focused native dialog (GTK's file chooser) the way a person would.
pub fn type_in_native_dialog(text: &str) {
    let ok = Command::new("xdotool")
        .args(["type", "--delay", "20", text])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        ok,
        "xdotool type failed (is xdotool installed and DISPLAY set?)"
    );
    std::thread::sleep(Duration::from_millis(300));
    let ok = Command::new("xdotool")
        .args(["key", "Return"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "xdotool key failed");
}

/// Presses one key (xdotool's name for it: Escape, Return) in the focused native dialog.
pub fn key_in_native_dialog(key: &str) {
    let ok = Command::new("xdotool")
        .args(["key", key])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "xdotool key {key} failed");
    std::thread::sleep(Duration::from_millis(300));
}

/// Waits for a window whose title contains `name` (a native dialog) to be shown.
pub fn wait_for_window(name: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        let out = Command::new("xdotool")
            .args(["search", "--onlyvisible", "--name", name])
            .output();
        if let Ok(o) = out {
            if o.status.success() && !o.stdout.is_empty() {
                // Focus it, so typed keys go there.
                let id = String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_string();
                let _ = Command::new("xdotool")
                    .args(["windowactivate", "--sync", &id])
                    .status();
                let _ = Command::new("xdotool")
                    .args(["windowfocus", "--sync", &id])
                    .status();
                std::thread::sleep(Duration::from_millis(500));
                return true;
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    false
}
