#!/usr/bin/env bash
# The desktop app's performance targets, measured against a minimal Tauri 2 app built with
# the same release profile on the same machine in the same run:
#   cold start to an interactive Object Explorer (the UI's first IPC call) <= 1.2x,
#   idle memory of all the app's processes after 10 s (PSS and RSS) <= 1.3x,
#   release binary <= 15 MB.
# Needs Xvfb and dbus-run-session (what .ci/run installs). RUNS=5 by default.
set -euo pipefail
cd "$(dirname "$0")/.."
(cd ui && { [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error; } && npm run build >/dev/null)
cargo build --release --locked -p keysafe-app -p minimal-tauri
exec xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- \
  python3 scripts/bench_app.py target/release/minimal-tauri target/release/keysafe-app "${RUNS:-5}"
