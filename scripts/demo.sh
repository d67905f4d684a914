#!/usr/bin/env bash
# Sets up and runs the desktop app on its demo instance: an embedded emulated SQL Server
# with a Demo profile (no SQL Server needed). With a server name, the Connect dialog starts
# on it instead: scripts/demo.sh --server sql01
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends build-essential pkg-config libwebkit2gtk-4.1-dev libdbus-1-dev dbus gnome-keyring >/dev/null
fi
(cd ui && { [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error; } && npm run build >/dev/null)
cargo build --release --locked -p keysafe-app
if [ "${1:-}" = "--server" ] && [ -n "${2:-}" ]; then
  mkdir -p "${KEYSAFE_HOME:-${XDG_DATA_HOME:-$HOME/.local/share}/keysafe}"
  home=${KEYSAFE_HOME:-${XDG_DATA_HOME:-$HOME/.local/share}/keysafe}
  # The Connect dialog offers the most recent server first.
  python3 - "$home/recent-servers.json" "$2" <<'PY'
import json, sys, os
p, s = sys.argv[1], sys.argv[2]
l = json.load(open(p)) if os.path.exists(p) else []
json.dump([s] + [x for x in l if x.lower() != s.lower()], open(p, "w"))
PY
  exec target/release/keysafe-app
fi
exec target/release/keysafe-app --demo
