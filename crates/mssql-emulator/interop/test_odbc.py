"""Microsoft ODBC Driver 18 for SQL Server (through mssql-python) against the emulator binary.

Microsoft's own driver is the strictest client we can run here: where it disagrees with the
emulator, SQL Server is almost certainly on its side. Every statement Keysafe sends is here:
the batches a Keysafe inventory, status, coverage and plan send are recorded by the emulator
(--record-batches) and replayed through the driver.
"""
import hashlib
import json
import os
import subprocess
import tempfile
import time
import unittest

import mssql_python
from mssql_python import ddbc_bindings

from emulator import ROOT, SA_PASSWORD, Emulator

BACKUP = r"C:\Program Files\Microsoft SQL Server\MSSQL16.MSSQLSERVER\MSSQL\Backup"
STRONG = "Str0ng!Backup#Pass"
KEYSAFE = os.environ.get("KEYSAFE_BIN", os.path.join(ROOT, "target", "debug", "keysafe"))


def diagnostics(cur):
    """The driver's diagnostic records of the last statement: [(sqlstate, native, text)]."""
    out = []
    for state_native, text in ddbc_bindings.DDBCSQLGetAllDiagRecords(cur.hstmt):
        # "[42S02] (208)"
        state, native = state_native.strip("[").split("] (")
        out.append((state, int(native.rstrip(")")), text))
    return out


class OdbcAgainstTheEmulator(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.emu = Emulator()

    @classmethod
    def tearDownClass(cls):
        cls.emu.stop()

    def connect(self, encrypt="yes", trust="yes", password=SA_PASSWORD, extra=""):
        cs = ("Server=tcp:127.0.0.1,%d;UID=sa;PWD={%s};Database=master;Encrypt=%s;"
              "TrustServerCertificate=%s;%s" % (self.emu.port, password, encrypt, trust, extra))
        return mssql_python.connect(cs, autocommit=True, timeout=10)

    def one(self, conn, sql, *params):
        cur = conn.cursor()
        cur.execute(sql, *params)
        return cur.fetchone()

    def test_encrypt_no_yes_and_a_pinned_certificate(self):
        for enc in ("no", "yes"):
            with self.connect(encrypt=enc) as c:
                self.assertEqual(self.one(c, "SELECT 1 + 1")[0], 2)
        # TrustServerCertificate=no: the driver verifies the chain (OpenSSL's default paths,
        # which SSL_CERT_FILE names) and the name HostNameInCertificate gives.
        os.environ["SSL_CERT_FILE"] = self.emu.cert
        try:
            with self.connect(trust="no", extra="HostNameInCertificate=localhost") as c:
                self.assertEqual(self.one(c, "SELECT @@SERVERNAME")[0], "SQLDEMO01")
            with self.assertRaises(mssql_python.Error) as e:
                self.connect(trust="no", extra="HostNameInCertificate=not-this-server")
            self.assertIn("certificate", str(e.exception).lower())
        finally:
            del os.environ["SSL_CERT_FILE"]

    def test_a_wrong_password_is_refused_with_28000(self):
        with self.assertRaises(mssql_python.Error) as e:
            self.connect(password="Wrong!Pass#1")
        self.assertIn("Invalid authorization specification", str(e.exception))  # SQLSTATE 28000
        self.assertIn("Login failed for user 'sa'", str(e.exception))

    def test_errors_carry_number_state_and_line(self):
        with self.connect() as c:
            cur = c.cursor()
            with self.assertRaises(mssql_python.Error):
                cur.execute("SELECT 1 FROM sys.databases WHERE 1 = 0;\n\nSELECT * FROM sys.no_such_view")
                while cur.nextset():
                    pass
            d = diagnostics(cur)
            self.assertEqual(d[0][:2], ("42S02", 208), d)
            self.assertIn("Invalid object name 'sys.no_such_view'", d[0][2])
            self.assertEqual(self.one(c, "SELECT 5")[0], 5)  # the connection lives on

    def test_several_result_sets_in_one_batch(self):
        with self.connect() as c:
            cur = c.cursor()
            cur.execute("SELECT 1 AS a; SELECT name FROM sys.databases WHERE 1 = 0; SELECT N'x' AS b, 2 AS c")
            self.assertEqual([tuple(r) for r in cur.fetchall()], [(1,)])
            self.assertTrue(cur.nextset())
            self.assertEqual(cur.fetchall(), [])
            self.assertTrue(cur.nextset())
            self.assertEqual([tuple(r) for r in cur.fetchall()], [("x", 2)])
            self.assertEqual([d[0] for d in cur.description], ["b", "c"])
            self.assertFalse(cur.nextset())

    def test_parameters_go_through_prepared_statements_and_sp_executesql(self):
        with self.connect() as c:
            cur = c.cursor()
            sql = "SELECT ? + 1, ?, DATALENGTH(?)"
            for n in (41, 99, 7):  # prepared once (sp_prepexec), then executed (sp_execute)
                cur.execute(sql, (n, "text", b"\x00\x01\x02"))
                self.assertEqual(tuple(cur.fetchone()), (n + 1, "text", 3))
            cur.execute("SELECT name FROM sys.databases WHERE name = ?", ("Payroll",))
            self.assertEqual(cur.fetchone()[0], "Payroll")

    def test_values_over_8000_bytes(self):
        big = "é" * 9000
        blob = bytes(range(256)) * 40  # 10,240 bytes
        with self.connect() as c:
            row = self.one(c, "SELECT REPLICATE(CAST(N'é' AS nvarchar(max)), 9000), "
                              "CAST(REPLICATE(CAST('ab' AS varchar(max)), 6000) AS varbinary(max))")
            self.assertEqual(row[0], big)
            self.assertEqual(bytes(row[1]), b"ab" * 6000)
            row = self.one(c, "SELECT DATALENGTH(?), HASHBYTES('SHA2_256', ?)", (blob, blob))
            self.assertEqual(row[0], len(blob))
            self.assertEqual(bytes(row[1]), hashlib.sha256(blob).digest())

    def test_key_statements_and_the_server_side_hash(self):
        smk = BACKUP + r"\odbc-smk.key"
        with self.connect() as c:
            cur = c.cursor()
            cur.execute("BACKUP SERVICE MASTER KEY TO FILE = '%s' ENCRYPTION BY PASSWORD = '%s'" % (smk, STRONG))
            server_hash = bytes(self.one(c, "SELECT HASHBYTES('SHA2_256', BulkColumn) FROM "
                                            "OPENROWSET(BULK N'%s', SINGLE_BLOB) AS f" % smk)[0])
            with open(self.emu.host_path(smk), "rb") as f:
                self.assertEqual(hashlib.sha256(f.read()).digest(), server_hash)
            cur.execute("RESTORE SERVICE MASTER KEY FROM FILE = '%s' DECRYPTION BY PASSWORD = '%s'" % (smk, STRONG))
            texts = [m[1] for m in cur.messages]
            self.assertTrue(any("The old and new master keys are identical" in t for t in texts), cur.messages)

            dmk = BACKUP + r"\odbc-master.dmk"
            cur.execute("USE master; BACKUP MASTER KEY TO FILE = '%s' ENCRYPTION BY PASSWORD = '%s'" % (dmk, STRONG))
            cer, pvk = BACKUP + r"\odbc-tde.cer", BACKUP + r"\odbc-tde.pvk"
            cur.execute("BACKUP CERTIFICATE TDE_Payroll TO FILE = '%s' WITH PRIVATE KEY (FILE = '%s', "
                        "ENCRYPTION BY PASSWORD = '%s')" % (cer, pvk, STRONG))
            thumb = bytes(self.one(c, "SELECT thumbprint FROM sys.certificates WHERE name = 'TDE_Payroll'")[0])
            der, key = (bytes(v) for v in self.one(
                c, "SELECT CERTENCODED(CERT_ID('TDE_Payroll')), CERTPRIVATEKEY(CERT_ID('TDE_Payroll'), '%s')" % STRONG))
            self.assertEqual(hashlib.sha1(der).digest(), thumb)

            cur.execute("CREATE DATABASE odbc_scratch")
            cur.execute("USE odbc_scratch; RESTORE MASTER KEY FROM FILE = '%s' DECRYPTION BY PASSWORD = '%s' "
                        "ENCRYPTION BY PASSWORD = '%s'" % (dmk, STRONG, STRONG))
            cur.execute("OPEN MASTER KEY DECRYPTION BY PASSWORD = '%s'; "
                        "CREATE CERTIFICATE from_binary FROM BINARY = 0x%s WITH PRIVATE KEY "
                        "(BINARY = 0x%s, DECRYPTION BY PASSWORD = '%s')" % (STRONG, der.hex(), key.hex(), STRONG))
            cur.execute("DROP CERTIFICATE from_binary; CREATE CERTIFICATE from_file FROM FILE = '%s' WITH PRIVATE KEY "
                        "(FILE = '%s', DECRYPTION BY PASSWORD = '%s')" % (cer, pvk, STRONG))
            self.assertEqual(bytes(self.one(c, "SELECT thumbprint FROM sys.certificates WHERE name = 'from_file'")[0]), thumb)
            cur.execute("USE master; DROP DATABASE odbc_scratch")

    def test_database_backups_and_their_headers(self):
        bak = BACKUP + r"\odbc-payroll.bak"
        with self.connect() as c:
            cur = c.cursor()
            cur.execute("BACKUP DATABASE Payroll TO DISK = '%s' WITH INIT" % bak)
            cur.execute("RESTORE VERIFYONLY FROM DISK = '%s'" % bak)
            texts = [m[1] for m in cur.messages]
            self.assertTrue(any("is valid" in t for t in texts), cur.messages)
            cur.execute("RESTORE FILELISTONLY FROM DISK = '%s'" % bak)
            names = [d[0] for d in cur.description]
            self.assertIn("LogicalName", names)
            self.assertIn("TDEThumbprint", names)
            rows = cur.fetchall()
            self.assertGreaterEqual(len(rows), 2)
            cur.execute("RESTORE HEADERONLY FROM DISK = '%s'" % bak)
            row = cur.fetchone()
            cols = [d[0] for d in cur.description]
            self.assertEqual(row[cols.index("DatabaseName")], "Payroll")

    def test_kill_ends_the_other_session_with_an_error(self):
        victim = self.connect()
        with self.connect() as killer:
            spid = self.one(victim, "SELECT @@SPID")[0]
            killer.cursor().execute("KILL %d" % spid)
            started = time.monotonic()
            with self.assertRaises(mssql_python.Error) as e:
                self.one(victim, "SELECT 1")
            self.assertLess(time.monotonic() - started, 10)  # an error, not a hang
            self.assertIn("Communication link failure", str(e.exception))  # SQLSTATE 08S01
            with self.assertRaises(mssql_python.Error):
                victim.close()  # the driver reports the dead link on close too
            cur = killer.cursor()
            with self.assertRaises(mssql_python.Error) as e:
                cur.execute("KILL %d" % self.one(killer, "SELECT @@SPID")[0])
            self.assertIn("Cannot use KILL to kill your own process.", str(e.exception))
            with self.assertRaises(mssql_python.Error) as e:
                cur.execute("KILL %d" % spid)
            self.assertIn("Process ID %d is not an active process ID." % spid, str(e.exception))


class OdbcStrictEncryption(unittest.TestCase):
    """TDS 8.0: TLS before PRELOGIN (ODBC 18's Encrypt=strict), against an instance that
    accepts it beside TDS 7.x and one that forces it (Force Strict Encryption)."""

    def connect(self, emu, extra):
        cs = "Server=tcp:127.0.0.1,%d;UID=sa;PWD={%s};Database=master;%s" % (emu.port, SA_PASSWORD, extra)
        return mssql_python.connect(cs, autocommit=True, timeout=10)

    def test_strict_with_the_certificate_pinned_both_ways(self):
        for mode in ("on", "strict"):
            emu = Emulator(tls=mode)
            try:
                for extra in ("Encrypt=strict;ServerCertificate=%s" % emu.cert,
                              "Encrypt=strict;HostNameInCertificate=localhost;ServerCertificate=%s" % emu.cert):
                    with self.connect(emu, extra) as c:
                        cur = c.cursor()
                        cur.execute("BACKUP SERVICE MASTER KEY TO FILE = '%s' ENCRYPTION BY PASSWORD = '%s'"
                                    % (BACKUP + r"\strict-%s-%d.key" % (mode, len(extra)), STRONG))
                        cur.execute("SELECT @@SERVERNAME")
                        self.assertEqual(cur.fetchone()[0], "SQLDEMO01", mode)
                # Strict always verifies: TrustServerCertificate does not skip it.
                with self.assertRaises(mssql_python.Error) as e:
                    self.connect(emu, "Encrypt=strict;TrustServerCertificate=yes")
                self.assertIn("certificate verify failed", str(e.exception))
            finally:
                emu.stop()

    def test_force_strict_refuses_tds7_clients(self):
        emu = Emulator(tls="strict")
        try:
            for extra in ("Encrypt=yes;TrustServerCertificate=yes", "Encrypt=no"):
                with self.assertRaises(mssql_python.Error) as e:
                    self.connect(emu, extra)
                self.assertIn("Communication link failure", str(e.exception), extra)
        finally:
            emu.stop()

    def test_an_instance_older_than_2022_has_no_tds8(self):
        scenario = tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False)
        scenario.write('[server]\nmachine_name = "SQL2019"\nversion = 2019\n')
        scenario.close()
        emu = Emulator(scenario=scenario.name)
        try:
            with self.assertRaises(mssql_python.Error):
                self.connect(emu, "Encrypt=strict;ServerCertificate=%s" % emu.cert)
            with self.connect(emu, "Encrypt=yes;TrustServerCertificate=yes") as c:
                self.assertEqual(c.cursor().execute("SELECT 1").fetchone()[0], 1)
        finally:
            emu.stop()
            os.unlink(scenario.name)


class KeysafeTrafficReplayedThroughOdbc(unittest.TestCase):
    """Runs the keysafe CLI's read-only commands against an emulator that records every
    batch, then sends each recorded batch again through the ODBC driver: every result set
    Keysafe's inventory, status, coverage and plan ask for must decode there too."""

    def test_every_recorded_batch_decodes_through_odbc(self):
        if not os.path.exists(KEYSAFE):
            self.skipTest("build the keysafe CLI first (cargo build): %s" % KEYSAFE)
        record = tempfile.NamedTemporaryFile(suffix=".jsonl", delete=False).name
        emu = Emulator(extra=["--record-batches", record])
        try:
            env = dict(os.environ, KS_PW="Operat0r!Pass#1", KEYSAFE_HOME=tempfile.mkdtemp())
            common = ["--server", "127.0.0.1,%d" % emu.port, "--login", "keysafe_operator",
                      "--login-password-env", "KS_PW", "--ca-file", emu.cert, "--host-name-in-certificate", "localhost"]
            for cmd in (["inventory", "--json"], ["status"], ["coverage", "--json"],
                        ["backup", "all", "--plan", "--copy-to", tempfile.mkdtemp()]):
                r = subprocess.run([KEYSAFE] + cmd + common, env=env, capture_output=True, timeout=60, text=True)
                self.assertIn(r.returncode, (0, 1), r.stderr)  # 1: keys need attention
            with open(record) as f:
                batches = [json.loads(line) for line in f]
            self.assertGreaterEqual(len(batches), 8, batches)
            cs = ("Server=tcp:127.0.0.1,%d;UID=keysafe_operator;PWD={Operat0r!Pass#1};Encrypt=yes;"
                  "TrustServerCertificate=yes" % emu.port)
            with mssql_python.connect(cs, autocommit=True) as conn:
                for b in batches:
                    cur = conn.cursor()
                    cur.execute("USE [%s]" % b["database"].replace("]", "]]"))
                    if b["errors"]:
                        # Keysafe meets some errors on purpose (coverage reads the thumbprint
                        # SQL Server names in its 33111): the driver must raise the same one.
                        with self.assertRaises(mssql_python.Error) as e:
                            cur.execute(b["sql"])
                            while cur.nextset():
                                pass
                        self.assertIn(b["errors"][0], str(e.exception))
                        continue
                    cur.execute(b["sql"])
                    sets = 0
                    while True:
                        if cur.description:
                            cur.fetchall()
                            sets += 1
                        if not cur.nextset():
                            break
                    self.assertEqual(sets, b["result_sets"], b["sql"])
        finally:
            emu.stop()
            os.unlink(record)


if __name__ == "__main__":
    unittest.main(verbosity=2)
