#!/usr/bin/env bash
# A short fuzzing run of each target (CI smoke). cargo-fuzz needs nightly flags; the stable
# toolchain accepts them with RUSTC_BOOTSTRAP=1.
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-20}
export RUSTC_BOOTSTRAP=1
for t in packet_decoder tsql_parser; do
  mkdir -p "target/corpus/$t"
  cp -n corpus/$t/* "target/corpus/$t/" 2>/dev/null || true
  cargo fuzz run "$t" "target/corpus/$t" -- -max_total_time="$secs" -rss_limit_mb=2048 2>&1 | tail -n 3
done
