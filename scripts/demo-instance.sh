#!/usr/bin/env bash
# Starts the demo instance alone (for the CLI, SSMS, sqlcmd or tsql): the emulator on
# 127.0.0.1:14333; connect any TDS client to the printed address as sa / Emulator!Passw0rd.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${KEYSAFE_DEMO_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/keysafe/demo-instance}
mkdir -p "$data"
cargo build --release --locked -p mssql-emulator --bin mssql-emulator
echo "demo instance data: $data"
exec target/release/mssql-emulator --listen "${KEYSAFE_DEMO_LISTEN:-127.0.0.1:14333}" --data-dir "$data" \
  --scenario crates/mssql-emulator/scenarios/demo.toml --tls on
