#!/usr/bin/env bash
# Runs a command inside a private D-Bus session with an unlocked, throw-away gnome-keyring
# (headless), so tests use a real Secret Service and never touch the user's own keyring.
set -euo pipefail
if [ -z "${KEYSAFE_KEYRING_SESSION:-}" ]; then
  exec env KEYSAFE_KEYRING_SESSION=1 dbus-run-session -- "$0" "$@"
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export XDG_DATA_HOME=$tmp/data XDG_RUNTIME_DIR=$tmp/run
mkdir -p "$XDG_DATA_HOME" "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"
eval "$(printf 'keysafe-test-keyring' | gnome-keyring-daemon --unlock --components=secrets 2>/dev/null)"
export GNOME_KEYRING_CONTROL
# The daemon takes the Secret Service's bus name a moment after it returns. A test that asks
# before then makes D-Bus start a second, locked daemon from its service file, and the two fight
# over the name: wait until ours has it.
for _ in $(seq 1 100); do
  if dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
      org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q true; then
    "$@"
    exit $?
  fi
  sleep 0.1
done
echo "with-keyring: gnome-keyring-daemon did not take org.freedesktop.secrets within 10 s" >&2
exit 1
