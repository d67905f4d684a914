#!/usr/bin/env bash
# Every test Keysafe has, in the order a failure is cheapest to find.
# Needs what .ci/run installs: the Rust toolchain (cargo-nextest if present), libdbus and
# gnome-keyring (a real Secret Service for the keyring tests), FreeTDS `tsql`, a Python with
# python-tds and pyOpenSSL ($PYTHON), and cargo-fuzz for the smoke run.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
step() { printf '\n== %s\n' "$*"; }

step "format and lint"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

step "build"
cargo build --workspace --all-targets --locked

step "unit and integration tests (real TCP to emulated instances, a real keyring daemon)"
if cargo nextest --version >/dev/null 2>&1; then
  scripts/with-keyring.sh cargo nextest run --workspace --locked --no-fail-fast
  cargo test --workspace --doc --locked
else
  scripts/with-keyring.sh cargo test --workspace --locked --no-fail-fast
fi

step "interop: python-tds against the emulator binary"
(cd crates/mssql-emulator/interop && "$PYTHON" -W ignore::ResourceWarning test_pytds.py)

step "interop: FreeTDS tsql against the emulator binary"
bash crates/mssql-emulator/interop/tsql_test.sh

step "Windows type-check of the engine and the CLI (x86_64-pc-windows-msvc)"
if [ -x ../shared/tools/win-check ]; then
  # The emulator needs ring (C), which cannot be checked for msvc here; the engine and the
  # CLI (native-tls, SSPI, Credential Manager on Windows) must type-check.
  ../shared/tools/win-check rustc -p keysafe-core --lib --profile=check
  ../shared/tools/win-check rustc -p keysafe-cli --bin keysafe --profile=check
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
