#!/usr/bin/env bash
# Every test Keysafe has, in the order a failure is cheapest to find.
# Needs what .ci/run installs: the Rust toolchain (cargo-nextest if present), libdbus and
# gnome-keyring (a real Secret Service for the keyring tests), FreeTDS `tsql`, a Python with
# python-tds and pyOpenSSL ($PYTHON), cargo-fuzz for the smoke run, and for the desktop app
# webkit2gtk, Xvfb, WebKitWebDriver, tauri-driver, xdotool and the UI's npm packages.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
. scripts/lib/steps.sh
win_check=../shared/tools/win-check

# The Windows lane (scripts/test-windows.sh) compiles for two other targets with another
# compiler, so nothing it builds is shared with the Linux steps: it runs beside them, in its
# own process group, its output in target/windows-lane.log (printed at the end).
windows_pid=
if [ -x "$win_check" ] && command -v /usr/lib/wine/wine64 >/dev/null; then
  mkdir -p target
  setsid bash scripts/test-windows.sh >target/windows-lane.log 2>&1 &
  windows_pid=$!
else
  echo "Windows lane skipped: needs $win_check and wine64 (.ci/run installs it)"
fi
trap 'rc=$?; [ -n "$windows_pid" ] && kill -- -"$windows_pid" 2>/dev/null; (exit $rc); _steps_report' EXIT

step "UI: types, unit tests, build (the app embeds ui/dist, so this comes first)"
[ -d ui/node_modules ] || (cd ui && npm ci --no-audit --no-fund --loglevel=error)
(cd ui && npm run check && npm test && npm run build)

step "format"
cargo fmt --all -- --check

step "build and lint (clippy -D warnings compiles the workspace's own crates)"
# clippy-driver as the compiler of the workspace's crates lints them while building them: one
# build instead of a check of everything followed by a build. Kept for the tests below, so
# they reuse this build.
export RUSTC_WORKSPACE_WRAPPER=clippy-driver CLIPPY_ARGS=-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__
cargo build --workspace --all-targets --locked

step "unit, integration and end-to-end tests (real TCP to emulated instances, a real keyring daemon, the real app under Xvfb)"
# Screenshots of the end-to-end tests land in test-artifacts/.
desktop="xvfb-run -a -s '-screen 0 1280x800x24' scripts/with-keyring.sh"
if cargo nextest --version >/dev/null 2>&1; then
  eval "$desktop cargo nextest run --workspace --locked --no-fail-fast"
  cargo test --workspace --doc --locked
else
  eval "$desktop cargo test --workspace --locked --no-fail-fast"
fi
unset RUSTC_WORKSPACE_WRAPPER CLIPPY_ARGS

step "interop: python-tds against the emulator binary"
(cd crates/mssql-emulator/interop && "$PYTHON" -W ignore::ResourceWarning test_pytds.py)

step "interop: Microsoft ODBC Driver 18 (mssql-python) against the emulator binary"
(cd crates/mssql-emulator/interop && "$PYTHON" -W ignore::ResourceWarning test_odbc.py)

step "interop: tedious (Node) against the emulator binary: TDS 8.0 strict"
(cd crates/mssql-emulator/interop/tedious && { [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error; } && node --test strict.test.mjs)

step "interop: FreeTDS tsql against the emulator binary"
bash crates/mssql-emulator/interop/tsql_test.sh

step "fuzz smoke (${FUZZ_SECONDS}s per target)"
if cargo fuzz --version >/dev/null 2>&1; then
  bash crates/mssql-emulator/fuzz/smoke.sh "$FUZZ_SECONDS"
else
  echo "cargo-fuzz is not installed: skipped (.ci/run installs it)"
fi
step "Windows lane (ran beside the steps above; its own steps are timed in the table)"
if [ -n "$windows_pid" ]; then
  lane=0
  wait "$windows_pid" || lane=$?
  windows_pid=
  cat target/windows-lane.log
  [ "$lane" = 0 ] || { echo "the Windows lane failed (exit $lane)"; exit "$lane"; }
fi
printf '\nall tests passed\n'
