#!/usr/bin/env bash
# The Windows lane. The engine (with its ground floor) and the CLI, with their tests (and the
# emulator those tests start in-process), built as Windows programs for x86_64-pc-windows-gnu with the mingw-w64
# toolchain that ../shared/tools/win-check unpacks, linted by clippy as they compile, and run
# under Wine (Debian's wine64) through cargo's target runner, scripts/windows/wine-run. Then
# the desktop shell is linted for x86_64-pc-windows-msvc (it needs WebView2, which Wine lacks).
# Called by scripts/test.sh, beside the Linux steps. Needs wine64 and win-check.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/steps.sh
win_check=${WIN_CHECK:-../shared/tools/win-check}
# One target folder for both Windows targets: build scripts and proc macros (compiled for
# this machine by win-check's compiler) are built once.
export WIN_GNU=1 WIN_TARGET_DIR=${WIN_TARGET_DIR:-target/win-check}
export WINEPREFIX=${WINEPREFIX:-$PWD/target/wine}
trap 'rc=$?; WINEPREFIX=$WINEPREFIX /usr/lib/wine/wineserver64 -k 2>/dev/null || true; (exit $rc); _steps_report' EXIT
gnu() {
  # clippy-driver compiles the selected packages (keysafe-ground, keysafe-core, keysafe-cli)
  # and lints them with -D warnings on the way: one build, linted, instead of a check and a build.
  WIN_TARGET=x86_64-pc-windows-gnu RUSTC_WORKSPACE_WRAPPER=clippy-driver \
    CLIPPY_ARGS=-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__ \
    CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=$PWD/scripts/windows/wine-run \
    "$win_check" test -p keysafe-ground -p keysafe-core -p keysafe-cli --locked "$@"
}

step "Windows lane: build and lint the engine, the CLI and their tests for x86_64-pc-windows-gnu"
gnu --no-run

step "Windows lane: their tests under Wine"
log=target/windows-tests.log
set +e
# A test that hangs under Wine must fail the lane, not CI's clock.
export -f gnu
export win_check
timeout 1200 bash -c 'gnu --no-fail-fast' 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
awk '/^test result:/ { p += $4; f += $6; i += $8 } END { printf "Windows lane under Wine: %d passed, %d failed, %d ignored\n", p, f, i }' "$log"
[ "$rc" = 0 ]

step "Windows lane: clippy for x86_64-pc-windows-msvc on the desktop shell"
# Without the demo feature: the embedded emulator needs ring's C code, which cannot be built
# for msvc here.
WIN_TARGET=x86_64-pc-windows-msvc "$win_check" lint -p keysafe-app --lib --locked \
  --no-default-features --features custom-protocol -- -D warnings
