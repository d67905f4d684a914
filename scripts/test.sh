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

step "UI: types, unit tests, build (the app embeds ui/dist, so this comes first)"
[ -d ui/node_modules ] || (cd ui && npm ci --no-audit --no-fund --loglevel=error)
(cd ui && npm run check && npm test && npm run build)

step "format and lint"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

step "build"
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

step "interop: python-tds against the emulator binary"
(cd crates/mssql-emulator/interop && "$PYTHON" -W ignore::ResourceWarning test_pytds.py)

step "interop: FreeTDS tsql against the emulator binary"
bash crates/mssql-emulator/interop/tsql_test.sh

step "Windows: clippy for x86_64-pc-windows-msvc on the engine, the CLI and the app shell"
if [ -x ../shared/tools/win-check ]; then
  # All Windows-only code (ACLs, volumes, SSPI, Credential Manager) lives in keysafe-core
  # and keysafe-cli. win-check's own `clippy` mode takes the whole workspace, whose emulator
  # needs ring's C code, which cannot be built for msvc here; the `lint` alias
  # (.cargo/config.toml) runs clippy on one crate instead.
  ../shared/tools/win-check lint -p keysafe-core --lib -- -D warnings
  step "Windows: clippy msvc keysafe-cli"
  ../shared/tools/win-check lint -p keysafe-cli --bin keysafe -- -D warnings
  step "Windows: clippy msvc keysafe-app"
  # The desktop shell, without the embedded demo emulator (ring again).
  ../shared/tools/win-check lint -p keysafe-app --lib --no-default-features --features custom-protocol -- -D warnings
else
  echo "../shared/tools/win-check not found: skipped"
fi

step "fuzz smoke (${FUZZ_SECONDS}s per target)"
if cargo fuzz --version >/dev/null 2>&1; then
  bash crates/mssql-emulator/fuzz/smoke.sh "$FUZZ_SECONDS"
else
  echo "cargo-fuzz is not installed: skipped (.ci/run installs it)"
fi
printf '\nall tests passed\n'
