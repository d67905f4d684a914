"""python-tds (a TDS client nobody here wrote) against the emulator binary, plain and TLS."""
import hashlib
import os
import tempfile
import unittest

import pytds

from emulator import SA_PASSWORD, SCENARIO, Emulator

BACKUP = r"C:\Program Files\Microsoft SQL Server\MSSQL16.MSSQLSERVER\MSSQL\Backup"
STRONG = "Str0ng!Backup#Pass"


class PytdsAgainstTheEmulator(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.emu = Emulator()

    @classmethod
    def tearDownClass(cls):
        cls.emu.stop()

    def connect(self, **kw):
        args = dict(server=self.emu.host, port=self.emu.port, user="sa", password=SA_PASSWORD,
                    database="master", autocommit=True, login_timeout=10)
        args.update(kw)
        return pytds.connect(**args)

    def test_plaintext_select_and_sql_variant(self):
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute("SELECT 1 AS one, N'héllo' AS s, SERVERPROPERTY('Edition') AS edition, @@SERVERNAME")
            row = cur.fetchone()
            self.assertEqual(row[0], 1)
            self.assertEqual(row[1], "héllo")
            self.assertEqual(row[2], "Developer Edition (64-bit)")  # sql_variant decoded by pytds
            self.assertEqual(row[3], "SQLDEMO01")
            self.assertEqual([d[0] for d in cur.description], ["one", "s", "edition", ""])

    def test_full_tls_with_certificate_verification(self):
        with self.connect(server="localhost", cafile=self.emu.cert, validate_host=True) as conn, conn.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM sys.databases")
            self.assertGreaterEqual(cur.fetchone()[0], 8)

    def test_login_only_encryption(self):
        with self.connect(cafile=self.emu.cert, validate_host=False, enc_login_only=True) as conn, conn.cursor() as cur:
            cur.execute("SELECT 2")
            self.assertEqual(cur.fetchone()[0], 2)
            cur.execute("SELECT 3")
            self.assertEqual(cur.fetchone()[0], 3)

    def test_parameters_go_through_sp_executesql(self):
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute("SELECT %s + 1, %s, DATALENGTH(%s)", (41, "text", pytds.Binary(b"\x00\x01\x02")))
            self.assertEqual(cur.fetchone(), (42, "text", 3))

    def test_backup_writes_the_file_and_the_hash_matches(self):
        path = BACKUP + r"\pytds-smk.key"
        with self.connect(cafile=self.emu.cert, validate_host=False) as conn, conn.cursor() as cur:
            cur.execute("BACKUP SERVICE MASTER KEY TO FILE = '%s' ENCRYPTION BY PASSWORD = '%s'" % (path, STRONG))
            cur.execute("SELECT HASHBYTES('SHA2_256', BulkColumn) FROM OPENROWSET(BULK N'%s', SINGLE_BLOB) AS f" % path)
            server_hash = bytes(cur.fetchone()[0])
        with open(self.emu.host_path(path), "rb") as f:
            self.assertEqual(hashlib.sha256(f.read()).digest(), server_hash)

    def test_errors_carry_number_state_class_and_line(self):
        with self.connect() as conn, conn.cursor() as cur:
            path = BACKUP + r"\dup.key"
            sql = "BACKUP SERVICE MASTER KEY TO FILE = '%s' ENCRYPTION BY PASSWORD = '%s'" % (path, STRONG)
            cur.execute(sql)
            with self.assertRaises(pytds.Error) as e:
                cur.execute("\n" + sql)
            self.assertEqual(e.exception.number, 15240)
            self.assertEqual(e.exception.severity, 16)
            self.assertEqual(e.exception.line, 2)
            with self.assertRaises(pytds.Error) as e:
                cur.execute("SELECT * FROM sys.no_such_view")
            self.assertEqual(e.exception.number, 208)
            cur.execute("SELECT 5")  # the connection survives
            self.assertEqual(cur.fetchone()[0], 5)

    def test_informational_messages_arrive(self):
        with self.connect() as conn, conn.cursor() as cur:
            path = BACKUP + r"\info.key"
            cur.execute("BACKUP SERVICE MASTER KEY TO FILE = '%s' ENCRYPTION BY PASSWORD = '%s'" % (path, STRONG))
            cur.execute("RESTORE SERVICE MASTER KEY FROM FILE = '%s' DECRYPTION BY PASSWORD = '%s'" % (path, STRONG))
            texts = [str(m[1]) for m in cur.messages]
            self.assertTrue(any("The old and new master keys are identical" in t for t in texts), texts)

    def test_wrong_password_is_18456(self):
        with self.assertRaises(pytds.Error) as e:
            self.connect(password="wrong")
        self.assertEqual(e.exception.number, 18456)

    def test_appended_backup_sets_and_the_documented_columns(self):
        """Three sets in one file: msdb and the header tell them apart by position, with the
        documented column names and types; a compressed set cannot join them (3098)."""
        import decimal
        import uuid
        path = BACKUP + r"\pytds-appended.bak"
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute("CREATE DATABASE PyAppend")
            for _ in range(3):
                cur.execute("BACKUP DATABASE PyAppend TO DISK = N'%s'" % path)
            cur.execute("SELECT * FROM msdb.dbo.backupset WHERE database_name = N'PyAppend' ORDER BY position")
            names = [d[0] for d in cur.description]
            rows = cur.fetchall()
            self.assertEqual(names[:3], ["backup_set_id", "backup_set_uuid", "media_set_id"])
            self.assertEqual(names[9], "position")
            self.assertEqual(names[18], "time_zone")
            self.assertEqual(names[-2:], ["last_valid_restore_time", "compression_algorithm"])
            self.assertEqual(len(names), 65)
            at = {n: i for i, n in enumerate(names)}
            self.assertEqual([r[at["position"]] for r in rows], [1, 2, 3])
            self.assertEqual(len({r[at["media_set_id"]] for r in rows}), 1)
            self.assertIsInstance(rows[0][at["backup_size"]], decimal.Decimal)
            self.assertIsInstance(rows[0][at["backup_set_uuid"]], uuid.UUID)
            cur.execute("RESTORE HEADERONLY FROM DISK = N'%s'" % path)
            header = cur.fetchall()
            hnames = [d[0] for d in cur.description]
            self.assertEqual(len(hnames), 59)
            h = {n: i for i, n in enumerate(hnames)}
            self.assertEqual([r[h["Position"]] for r in header], [1, 2, 3])
            self.assertEqual([r[h["BackupSetGUID"]] for r in header], [r[at["backup_set_uuid"]] for r in rows])
            with self.assertRaises(pytds.Error) as e:
                cur.execute("BACKUP DATABASE PyAppend TO DISK = N'%s' WITH COMPRESSION" % path)
            # pytds raises the last message (3013) with every message's text joined.
            self.assertEqual(e.exception.number, 3013)
            self.assertIn("'COMPRESSION' was requested after the media was formatted", str(e.exception))

    def ntlm(self, user, password):
        # pyspnego's own NTLMv2 (protocol="ntlm": no Kerberos, no system library).
        from pytds.login import SpnegoAuth
        auth = SpnegoAuth(username=user, password=password, hostname="localhost",
                          service="MSSQLSvc", protocol="ntlm")
        return self.connect(user=None, password=None, auth=auth)

    def test_a_windows_login_over_ntlm(self):
        with self.ntlm("CONTOSO\\dba", "Dba!Windows#Pass1") as conn, conn.cursor() as cur:
            cur.execute("SELECT SUSER_SNAME(), IS_SRVROLEMEMBER('sysadmin')")
            self.assertEqual(cur.fetchone(), ("CONTOSO\\dba", 1))

    def test_a_wrong_windows_password_is_18452(self):
        with self.assertRaises(pytds.Error) as e:
            self.ntlm("CONTOSO\\dba", "Wrong!Pass#123")
        self.assertEqual(e.exception.number, 18452)

    def test_a_transaction_manager_request_is_answered(self):
        with self.connect(autocommit=False) as conn, conn.cursor() as cur:
            cur.execute("SELECT @@TRANCOUNT")
            self.assertEqual(cur.fetchone()[0], 1)
            conn.commit()


FILES_SCENARIO = """
[[logins]]
name = 'CONTOSO\\ops'                 # a DBA who is not a local administrator
windows = true
password = "Ops!Windows#Pass1"
grant = ["CONTROL SERVER", "ADMINISTER BULK OPERATIONS"]

[[logins]]
name = 'CONTOSO\\hostadmin'           # a DBA in the host's Administrators group
windows = true
password = "Adm!Windows#Pass1"
groups = ['BUILTIN\\Administrators']
grant = ["CONTROL SERVER", "ADMINISTER BULK OPERATIONS"]

[[acls]]
path = 'C:\\Keysafe'                    # what Keysafe applies, with the operator's read access
full = ['NT AUTHORITY\\SYSTEM', 'BUILTIN\\Administrators', 'NT SERVICE\\MSSQLSERVER']
read = ['CONTOSO\\ops']

[[acls]]
path = 'C:\\OpsOnly'                    # the operator's own folder: the service may not read it
full = ['CONTOSO\\ops']
"""


class FilesAreReadAsTheLoginsAccount(unittest.TestCase):
    """Who reads a file SQL Server wrote: the service account for a SQL login, the Windows
    account for a Windows login; certificate backups are for the service account only."""

    @classmethod
    def setUpClass(cls):
        with open(SCENARIO) as f:
            demo = f.read()
        demo = demo.replace("folders = ['c:\\temp_backups\\keys']", "folders = ['c:\\temp_backups\\keys', 'C:\\Keysafe', 'C:\\OpsOnly']\nshares = ['\\\\fileserver\\sqlkeys']", 1)
        cls.scenario = tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False)
        cls.scenario.write(demo + FILES_SCENARIO)
        cls.scenario.close()
        cls.emu = Emulator(scenario=cls.scenario.name)

    @classmethod
    def tearDownClass(cls):
        cls.emu.stop()
        os.unlink(cls.scenario.name)

    def sa(self):
        return pytds.connect(server=self.emu.host, port=self.emu.port, user="sa", password=SA_PASSWORD,
                             autocommit=True, login_timeout=10, cafile=self.emu.cert, validate_host=False)

    def windows(self, user, password):
        from pytds.login import SpnegoAuth
        auth = SpnegoAuth(username=user, password=password, hostname="localhost",
                          service="MSSQLSvc", protocol="ntlm")
        return pytds.connect(server=self.emu.host, port=self.emu.port, auth=auth, autocommit=True,
                             login_timeout=10, cafile=self.emu.cert, validate_host=False)

    def read(self, cur, path):
        cur.execute("SELECT HASHBYTES('SHA2_256', BulkColumn) FROM OPENROWSET(BULK N'%s', SINGLE_BLOB) AS f" % path)
        return bytes(cur.fetchone()[0])

    def denied(self, cur, path):
        with self.assertRaises(pytds.Error) as e:
            self.read(cur, path)
        self.assertEqual(e.exception.number, 4861)
        self.assertIn("Operating system error code 5(Access is denied.)", str(e.exception))

    def backup_smk(self, cur, path):
        cur.execute("BACKUP SERVICE MASTER KEY TO FILE = '%s' ENCRYPTION BY PASSWORD = '%s'" % (path, STRONG))

    def test_the_default_backup_folder_is_for_the_service_and_administrators(self):
        path = BACKUP + r"\files-default.key"
        with self.windows("CONTOSO\\ops", "Ops!Windows#Pass1") as conn, conn.cursor() as cur:
            self.backup_smk(cur, path)  # written by the service account
            self.denied(cur, path)  # read as CONTOSO\ops, whom setup's folder DACL leaves out
        with self.sa() as conn, conn.cursor() as cur:
            self.assertEqual(len(self.read(cur, path)), 32)  # a SQL login reads as the service
        with self.windows("CONTOSO\\hostadmin", "Adm!Windows#Pass1") as conn, conn.cursor() as cur:
            self.assertEqual(len(self.read(cur, path)), 32)  # Administrators may

    def test_xp_fileexist_looks_as_the_windows_account(self):
        sql = "EXEC master.dbo.xp_fileexist N'%s'"
        path = BACKUP + r"\xp-probe.key"
        with self.sa() as conn, conn.cursor() as cur:
            self.backup_smk(cur, path)
            cur.execute(sql % path)
            self.assertEqual(tuple(cur.fetchone()), (1, 0, 1))
        with self.windows("CONTOSO\\ops", "Ops!Windows#Pass1") as conn, conn.cursor() as cur:
            cur.execute(sql % path)
            self.assertEqual(tuple(cur.fetchone()), (0, 0, 0))  # setup's DACL leaves ops out
            cur.execute(sql % BACKUP)
            self.assertEqual(tuple(cur.fetchone()), (0, 1, 1))  # its parent is listable
            cur.execute(sql % r"C:\Keysafe")
            self.assertEqual(tuple(cur.fetchone()), (0, 1, 1))

    def test_a_folder_that_grants_the_operator_read_access(self):
        path = r"C:\Keysafe\files-granted.key"
        with self.windows("CONTOSO\\ops", "Ops!Windows#Pass1") as conn, conn.cursor() as cur:
            self.backup_smk(cur, path)
            self.assertEqual(len(self.read(cur, path)), 32)
        # A folder below C:\ that nobody protected inherits the drive's: Users may read.
        path = r"c:\temp_backups\keys\files-inherited.key"
        with self.windows("CONTOSO\\ops", "Ops!Windows#Pass1") as conn, conn.cursor() as cur:
            self.backup_smk(cur, path)
            self.assertEqual(len(self.read(cur, path)), 32)

    def test_certificate_backups_are_for_the_service_account_only(self):
        cer, pvk = r"C:\Keysafe\files-tde.cer", r"C:\Keysafe\files-tde.pvk"
        with self.windows("CONTOSO\\ops", "Ops!Windows#Pass1") as conn, conn.cursor() as cur:
            cur.execute("USE master; BACKUP CERTIFICATE TDE_Payroll TO FILE = '%s' WITH PRIVATE KEY "
                        "(FILE = '%s', ENCRYPTION BY PASSWORD = '%s')" % (cer, pvk, STRONG))
            self.denied(cur, cer)  # even in a folder that grants it read access
            self.denied(cur, pvk)
        with self.windows("CONTOSO\\hostadmin", "Adm!Windows#Pass1") as conn, conn.cursor() as cur:
            self.denied(cur, pvk)  # not even Administrators
        with self.sa() as conn, conn.cursor() as cur:
            self.assertEqual(len(self.read(cur, pvk)), 32)

    def test_certificates_travel_over_the_connection_whoever_reads(self):
        with self.windows("CONTOSO\\ops", "Ops!Windows#Pass1") as conn, conn.cursor() as cur:
            cur.execute("USE master; SELECT CERTENCODED(CERT_ID('TDE_Payroll')), "
                        "CERTPRIVATEKEY(CERT_ID('TDE_Payroll'), '%s')" % STRONG)
            der, pvk = (bytes(v) for v in cur.fetchone())
            self.assertEqual(der[0], 0x30)
            cur.execute("SELECT thumbprint FROM sys.certificates WHERE name = 'TDE_Payroll'")
            thumb = bytes(cur.fetchone()[0])
            cur.execute("CREATE DATABASE pytds_scratch")
            cur.execute("USE pytds_scratch; CREATE MASTER KEY ENCRYPTION BY PASSWORD = '%s'; "
                        "CREATE CERTIFICATE back FROM BINARY = 0x%s WITH PRIVATE KEY "
                        "(BINARY = 0x%s, DECRYPTION BY PASSWORD = '%s')" % (STRONG, der.hex(), pvk.hex(), STRONG))
            cur.execute("SELECT thumbprint FROM sys.certificates WHERE name = 'back'")
            self.assertEqual(bytes(cur.fetchone()[0]), thumb)
            cur.execute("USE master; DROP DATABASE pytds_scratch")

    def test_sql_server_reads_a_key_file_as_its_service_account_not_as_the_caller(self):
        made = r"C:\Keysafe\files-master.dmk"
        placed = r"C:\OpsOnly\files-master.dmk"
        with self.sa() as conn, conn.cursor() as cur:
            cur.execute("USE master; BACKUP MASTER KEY TO FILE = '%s' ENCRYPTION BY PASSWORD = '%s'" % (made, STRONG))
        with open(self.emu.host_path(made), "rb") as f, open(self.emu.host_path(placed), "wb") as g:
            g.write(f.read())
        with self.windows("CONTOSO\\ops", "Ops!Windows#Pass1") as conn, conn.cursor() as cur:
            self.assertEqual(len(self.read(cur, placed)), 32)  # the caller reads it
            cur.execute("CREATE DATABASE files_scratch")
            with self.assertRaises(pytds.Error) as e:  # SQL Server, as its service, may not
                cur.execute("USE files_scratch; RESTORE MASTER KEY FROM FILE = '%s' DECRYPTION BY PASSWORD = '%s' "
                            "ENCRYPTION BY PASSWORD = '%s'" % (placed, STRONG, STRONG))
            self.assertEqual(e.exception.number, 15317)
            cur.execute("USE files_scratch; RESTORE MASTER KEY FROM FILE = '%s' DECRYPTION BY PASSWORD = '%s' "
                        "ENCRYPTION BY PASSWORD = '%s'" % (made, STRONG, STRONG))
            cur.execute("USE master; DROP DATABASE files_scratch")

    def test_a_unc_path_needs_delegation_for_a_windows_login(self):
        path = r"\\fileserver\sqlkeys\files-unc.key"
        with self.sa() as conn, conn.cursor() as cur:
            self.backup_smk(cur, path)
            self.assertEqual(len(self.read(cur, path)), 32)
        with self.windows("CONTOSO\\hostadmin", "Adm!Windows#Pass1") as conn, conn.cursor() as cur:
            self.denied(cur, path)


class PytdsAgainstAServerEastOfUtc(unittest.TestCase):
    """The server's local time where SQL Server uses it (GETDATE, msdb's history with its
    time_zone), UTC where it uses UTC (GETUTCDATE, sys.dm_database_encryption_keys)."""

    def test_local_time_and_the_offset_beside_it(self):
        scenario = tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False)
        scenario.write('[server]\nmachine_name = "SQLIST"\ntime_zone = "+05:30"\n')
        scenario.close()
        emu = Emulator(scenario=scenario.name)
        try:
            with pytds.connect(server=emu.host, port=emu.port, user="sa", password=SA_PASSWORD,
                               autocommit=True, login_timeout=10) as conn, conn.cursor() as cur:
                cur.execute("SELECT DATEDIFF(minute, GETUTCDATE(), GETDATE()), "
                            "DATEPART(TZOFFSET, SYSDATETIMEOFFSET())")
                diff, offset = cur.fetchone()
                self.assertIn(diff, (329, 330, 331))
                self.assertEqual(offset, 330)
                cur.execute("BACKUP DATABASE msdb TO DISK = N'%s\\tz.bak' WITH INIT" % BACKUP.replace("MSSQL16", "MSSQL16"))
                cur.execute("SELECT TOP 1 time_zone, position, DATEDIFF(minute, GETUTCDATE(), backup_start_date) "
                            "FROM msdb.dbo.backupset ORDER BY backup_set_id DESC")
                tz, position, ahead = cur.fetchone()
                self.assertEqual(tz, 22)  # 5:30 in 15-minute steps
                self.assertEqual(position, 1)
                self.assertIn(ahead, (329, 330, 331))
        finally:
            emu.stop()
            os.unlink(scenario.name)


class PytdsAgainstForcedEncryption(unittest.TestCase):
    def test_a_plaintext_client_is_refused_and_a_tls_client_served(self):
        emu = Emulator(tls="required", scenario=None)
        try:
            with self.assertRaises(Exception):
                pytds.connect(server=emu.host, port=emu.port, user="sa", password=SA_PASSWORD, autocommit=True, login_timeout=5)
            with pytds.connect(server=emu.host, port=emu.port, user="sa", password=SA_PASSWORD, autocommit=True,
                               cafile=emu.cert, validate_host=False) as conn, conn.cursor() as cur:
                cur.execute("SELECT 7")
                self.assertEqual(cur.fetchone()[0], 7)
        finally:
            emu.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
