#!/usr/bin/env bash
# FreeTDS `tsql` (a TDS client nobody here wrote) against the emulator binary: plaintext,
# TLS with certificate verification, an error, and the demo's backup statement.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
bin=${EMULATOR_BIN:-$root/target/debug/mssql-emulator}
pw='Interop!Sa#Pass1'
work=$(mktemp -d)
fail=0
cleanup() { [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

MSSQL_SA_PASSWORD=$pw "$bin" --listen 127.0.0.1:0 --data-dir "$work/data" --tls on --log warn \
  --scenario "$here/../scenarios/demo.toml" >"$work/out" &
pid=$!
for _ in $(seq 100); do grep -q '^listening on ' "$work/out" 2>/dev/null && break; sleep 0.05; done
port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$work/out")
[ -n "$port" ] || { echo "emulator did not start"; exit 1; }

cat >"$work/freetds.conf" <<CONF
[plain]
    host = 127.0.0.1
    port = $port
    tds version = 7.4
    encryption = off
[tls]
    host = localhost
    port = $port
    tds version = 7.4
    encryption = require
    ca file = $work/data/tls-cert.pem
    check certificate hostname = yes
[wrongca]
    host = localhost
    port = $port
    tds version = 7.4
    encryption = require
    ca file = /etc/ssl/certs/ca-certificates.crt
CONF
export FREETDSCONF=$work/freetds.conf

run() { # server, sql -> output
  printf '%s\ngo\nexit\n' "$2" | timeout 20 tsql -S "$1" -U sa -P "$pw" 2>&1 || true
}
expect() { # name, output, pattern
  if grep -qE -- "$3" <<<"$2"; then echo "ok   $1"; else echo "FAIL $1: no /$3/ in:"; echo "$2" | sed 's/^/     /'; fail=1; fi
}
reject() {
  if grep -qE -- "$3" <<<"$2"; then echo "FAIL $1: /$3/ found in:"; echo "$2" | sed 's/^/     /'; fail=1; else echo "ok   $1"; fi
}

out=$(run plain "SELECT 40 + 2 AS answer, @@SERVERNAME AS server")
expect "plaintext select" "$out" '42[[:space:]]+SQLDEMO01'
out=$(run tls "SELECT name FROM sys.databases WHERE name = 'Payroll'")
expect "TLS 1.2 with a verified certificate" "$out" 'Payroll'
out=$(run wrongca "SELECT 1")
reject "a certificate from an unknown CA is refused" "$out" '^1$'
out=$(run tls "SELECT * FROM sys.nope")
expect "errors carry Msg, severity and state" "$out" 'Msg 208 \(severity 16, state 1\)'
expect "error text" "$out" "Invalid object name 'sys.nope'"
path='C:\Program Files\Microsoft SQL Server\MSSQL16.MSSQLSERVER\MSSQL\Backup\tsql-smk.key'
out=$(run tls "BACKUP SERVICE MASTER KEY TO FILE = '$path' ENCRYPTION BY PASSWORD = 'Str0ng!Backup#Pass'")
reject "backup succeeds" "$out" 'Msg [0-9]+'
[ -f "$work/data/fs/C/Program Files/Microsoft SQL Server/MSSQL16.MSSQLSERVER/MSSQL/Backup/tsql-smk.key" ] \
  && echo "ok   the backup file is on the server's disk" || { echo "FAIL backup file missing"; fail=1; }
out=$(run tls "BACKUP SERVICE MASTER KEY TO FILE = '$path' ENCRYPTION BY PASSWORD = 'Str0ng!Backup#Pass'")
expect "a second backup to the same file is 15240" "$out" 'Msg 15240 \(severity 16'
out=$(run tls "SELECT BulkColumn FROM OPENROWSET(BULK N'C:\\nowhere\\smk.key', SINGLE_BLOB) AS f")
expect "a missing folder is 4861" "$out" 'Msg 4861 '
expect "with the operating system's error 3" "$out" 'Operating system error code 3\(The system cannot find the path specified'
out=$(run tls "SELECT BulkColumn FROM OPENROWSET(BULK N'${path%\\*}\\none.key', SINGLE_BLOB) AS f")
expect "a missing file is 4860" "$out" 'Msg 4860 '
out=$(printf 'SELECT 1\ngo\nexit\n' | timeout 20 tsql -S plain -U sa -P wrong 2>&1 || true)
expect "a wrong password is 18456" "$out" '18456|Login failed'
# Windows authentication: a DOMAIN\user login makes tsql speak NTLMv2 in LOGIN7's SSPI.
ntlm() { # user, password, sql -> output
  printf '%s\ngo\nexit\n' "$3" | timeout 20 tsql -S tls -U "$1" -P "$2" 2>&1 || true
}
out=$(ntlm 'CONTOSO\dba' 'Dba!Windows#Pass1' "SELECT SUSER_SNAME() AS who")
expect "a Windows login over NTLM" "$out" 'CONTOSO\\dba'
out=$(ntlm 'CONTOSO\dba' 'wrong' "SELECT 1")
expect "a wrong Windows password is 18452" "$out" '18452|untrusted domain'
out=$(ntlm 'CONTOSO\nobody' 'Dba!Windows#Pass1' "SELECT 1")
expect "an unknown Windows account is 18452" "$out" '18452|untrusted domain'
exit $fail
