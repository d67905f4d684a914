#!/usr/bin/env bash
# The Windows lane: the engine and the CLI, with their tests (and the emulator those tests
# start in-process), built as Windows programs for x86_64-pc-windows-gnu with the mingw-w64
# toolchain that ../shared/tools/win-check unpacks, and run under Wine (Debian's wine64)
# through cargo's target runner, scripts/windows/wine-run. Called by scripts/test.sh.
# Needs: wine64, and win-check (which needs apt-get download). Tests that cannot run under
# Wine say why in their #[cfg_attr(..., ignore = "...")]; `--include-ignored` lists none.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/steps.sh
win_check=${WIN_CHECK:-../shared/tools/win-check}
export WIN_GNU=1 WIN_TARGET=x86_64-pc-windows-gnu WIN_TARGET_DIR=${WIN_TARGET_DIR:-target/win-gnu}
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=$PWD/scripts/windows/wine-run
export WINEPREFIX=${WINEPREFIX:-$PWD/target/wine}
packages=(-p keysafe-core -p keysafe-cli)

step "Windows lane: build the engine, the CLI and their tests for x86_64-pc-windows-gnu"
"$win_check" test "${packages[@]}" --locked --no-run

step "Windows lane: run them under Wine"
"$win_check" test "${packages[@]}" --locked --no-fail-fast
