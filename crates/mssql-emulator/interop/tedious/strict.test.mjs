// tedious (Node's TDS client, nobody here wrote it) against the emulator binary: TDS 8.0
// (encrypt: 'strict', TLS before PRELOGIN with ALPN tds/8.0) and the refusal of TDS 7.x
// under Force Strict Encryption.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import tedious from 'tedious';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..', '..', '..');
const BIN = process.env.EMULATOR_BIN ?? path.join(root, 'target', 'debug', 'mssql-emulator');
const SA = 'Interop!Sa#Pass1';

function start(tls) {
  const dir = mkdtempSync(path.join(tmpdir(), 'emu-tedious-'));
  const proc = spawn(BIN, ['--listen', '127.0.0.1:0', '--data-dir', dir, '--tls', tls, '--log', 'warn'], {
    env: { ...process.env, MSSQL_SA_PASSWORD: SA },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    proc.stdout.once('data', (d) => {
      const m = /listening on (.+):(\d+)/.exec(String(d));
      if (!m) return reject(new Error(`emulator did not start: ${d}`));
      resolve({ port: Number(m[2]), ca: readFileSync(path.join(dir, 'tls-cert.pem')), stop: () => proc.kill() });
    });
    proc.once('exit', (code) => reject(new Error(`emulator exited: ${code}`)));
  });
}

function query(port, options, sql) {
  return new Promise((resolve, reject) => {
    const c = new tedious.Connection({
      server: '127.0.0.1',
      authentication: { type: 'default', options: { userName: 'sa', password: SA } },
      options: { port, connectTimeout: 10000, ...options },
    });
    c.on('error', reject);
    c.on('connect', (err) => {
      if (err) return reject(err);
      const rows = [];
      const r = new tedious.Request(sql, (e) => {
        c.close();
        if (e) return reject(e);
        resolve({ rows });
      });
      r.on('row', (cols) => rows.push(cols.map((x) => x.value)));
      c.execSql(r);
    });
    c.connect();
  });
}

const strict = (ca) => ({ encrypt: 'strict', serverName: 'localhost', cryptoCredentialsDetails: { ca } });

test('strict encryption against an instance that also takes TDS 7.x', async () => {
  const emu = await start('on');
  try {
    const r = await query(emu.port, strict(emu.ca), 'SELECT @@SERVERNAME, 6 * 7');
    assert.deepEqual(r.rows, [['SQLPROD01', 42]]);
    const plain = await query(emu.port, { encrypt: true, trustServerCertificate: true }, 'SELECT 1');
    assert.deepEqual(plain.rows, [[1]]);
  } finally {
    emu.stop();
  }
});

test('force strict: TDS 8.0 served, TDS 7.x refused', async () => {
  const emu = await start('strict');
  try {
    const r = await query(emu.port, strict(emu.ca), "SELECT CONVERT(varchar(20), SERVERPROPERTY('ProductMajorVersion'))");
    assert.deepEqual(r.rows, [['16']]);
    await assert.rejects(query(emu.port, { encrypt: true, trustServerCertificate: true }, 'SELECT 1'));
    // Strict verifies the certificate: another CA is refused.
    await assert.rejects(
      query(emu.port, { encrypt: 'strict', serverName: 'localhost' }, 'SELECT 1'),
      /certificate/i,
    );
  } finally {
    emu.stop();
  }
});
