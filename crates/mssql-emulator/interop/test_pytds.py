"""python-tds (a TDS client nobody here wrote) against the emulator binary, plain and TLS."""
import hashlib
import os
import tempfile
import time
import unittest
from unittest import mock

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


# RESTORE FILELISTONLY's result set as restore-statements-filelistonly-transact-sql.md lists it.
FILELISTONLY_COLUMNS = [
    "LogicalName", "PhysicalName", "Type", "FileGroupName", "Size", "MaxSize", "FileID", "CreateLSN",
    "DropLSN", "UniqueID", "ReadOnlyLSN", "ReadWriteLSN", "BackupSizeInBytes", "SourceBlockSize",
    "FileGroupID", "LogGroupGUID", "DifferentialBaseLSN", "DifferentialBaseGUID", "IsReadOnly",
    "IsPresent", "TDEThumbprint", "SnapshotURL",
]
DESK = "Desk!Pass#2026x"


class ObjectPermissionsAndEncryptedBackups(unittest.TestCase):
    """Permissions on one securable (GRANT ... ON CERTIFICATE::, ON OBJECT:: in msdb) as
    sys.database_permissions shows them, and what they open: CERTPRIVATEKEY only with CONTROL
    on the certificate, an encrypted backup's file list only with VIEW DEFINITION on its
    certificate. RESTORE FILELISTONLY's documented columns."""

    @classmethod
    def setUpClass(cls):
        cls.emu = Emulator()

    @classmethod
    def tearDownClass(cls):
        cls.emu.stop()

    def connect(self, user="sa", password=SA_PASSWORD):
        return pytds.connect(server=self.emu.host, port=self.emu.port, user=user, password=password,
                             database="master", autocommit=True, login_timeout=10)

    def thumbprint(self, cur, certificate):
        cur.execute("USE master; SELECT thumbprint FROM sys.certificates WHERE name = N'%s'" % certificate)
        return bytes(cur.fetchone()[0])

    def test_object_grants_show_in_sys_database_permissions(self):
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute("USE master; CREATE CERTIFICATE PyGrantCert WITH SUBJECT = 'pytds grant'; "
                        "CREATE LOGIN pygrantee WITH PASSWORD = '%s'; CREATE USER pygrantee FOR LOGIN pygrantee; "
                        "GRANT CONTROL ON CERTIFICATE::PyGrantCert TO pygrantee" % DESK)
            cur.execute("SELECT p.class, p.class_desc, p.permission_name, p.state_desc, c.name "
                        "FROM sys.database_permissions AS p "
                        "JOIN sys.database_principals AS u ON u.principal_id = p.grantee_principal_id "
                        "JOIN sys.certificates AS c ON c.certificate_id = p.major_id "
                        "WHERE u.name = N'pygrantee' AND p.class = 25")
            self.assertEqual([tuple(r) for r in cur.fetchall()],
                             [(25, "CERTIFICATE", "CONTROL", "GRANT", "PyGrantCert")])
            cur.execute("USE msdb; CREATE USER pygrantee FOR LOGIN pygrantee; "
                        "GRANT SELECT ON OBJECT::dbo.backupset TO pygrantee")
            cur.execute("USE msdb; SELECT p.class, p.class_desc, p.permission_name, p.state_desc "
                        "FROM sys.database_permissions AS p "
                        "JOIN sys.database_principals AS u ON u.principal_id = p.grantee_principal_id "
                        "WHERE u.name = N'pygrantee' AND p.class <> 0")
            self.assertEqual([tuple(r) for r in cur.fetchall()], [(1, "OBJECT_OR_COLUMN", "SELECT", "GRANT")])
        with self.connect("pygrantee", DESK) as conn, conn.cursor() as cur:
            cur.execute("USE master; SELECT HAS_PERMS_BY_NAME('PyGrantCert', 'CERTIFICATE', 'CONTROL')")
            self.assertEqual(cur.fetchone()[0], 1)
            cur.execute("SELECT COUNT(*) FROM msdb.dbo.backupset")  # the granted table
            self.assertGreaterEqual(cur.fetchone()[0], 0)
            with self.assertRaises(pytds.Error) as e:  # and only that one
                cur.execute("SELECT COUNT(*) FROM msdb.dbo.backupmediafamily")
            self.assertEqual(e.exception.number, 229)

    def test_certprivatekey_needs_control_view_definition_only_sees_the_certificate(self):
        fetch = ("USE master; SELECT CERT_ID('PyKeyCert'), CERTENCODED(CERT_ID('PyKeyCert')), "
                 "CERTPRIVATEKEY(CERT_ID('PyKeyCert'), '%s')" % STRONG)
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute("USE master; CREATE CERTIFICATE PyKeyCert WITH SUBJECT = 'pytds private key'; "
                        "CREATE LOGIN pykeyholder WITH PASSWORD = '%s'; CREATE USER pykeyholder FOR LOGIN pykeyholder; "
                        "GRANT VIEW DEFINITION ON CERTIFICATE::PyKeyCert TO pykeyholder" % DESK)
            thumb = self.thumbprint(cur, "PyKeyCert")
        with self.connect("pykeyholder", DESK) as conn, conn.cursor() as cur:
            cur.execute(fetch)
            cert_id, der, pvk = cur.fetchone()
            self.assertIsNotNone(cert_id)  # it sees the certificate
            self.assertEqual(bytes(der)[0], 0x30)  # and its public part
            self.assertIsNone(pvk)  # but not its private key: NULL, no error
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute("USE master; GRANT CONTROL ON CERTIFICATE::PyKeyCert TO pykeyholder")
        with self.connect("pykeyholder", DESK) as conn, conn.cursor() as cur:
            cur.execute(fetch)
            cert_id, der, pvk = cur.fetchone()
            self.assertIsNotNone(pvk)
            der, pvk = bytes(der), bytes(pvk)
        # The key handed out is the certificate's: it makes a certificate with the same thumbprint.
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute("CREATE DATABASE pytds_keycheck")
            cur.execute("USE pytds_keycheck; CREATE MASTER KEY ENCRYPTION BY PASSWORD = '%s'; "
                        "CREATE CERTIFICATE copied FROM BINARY = 0x%s WITH PRIVATE KEY "
                        "(BINARY = 0x%s, DECRYPTION BY PASSWORD = '%s')" % (STRONG, der.hex(), pvk.hex(), STRONG))
            cur.execute("USE pytds_keycheck; SELECT thumbprint, pvt_key_encryption_type FROM sys.certificates "
                        "WHERE name = 'copied'")
            copied, protection = cur.fetchone()
            self.assertEqual(bytes(copied), thumb)
            self.assertEqual(protection, "MK")
            cur.execute("USE master; DROP DATABASE pytds_keycheck")

    def test_filelistonly_of_an_encrypted_backup_needs_view_definition_on_its_certificate(self):
        encrypted = BACKUP + r"\pytds-encrypted.bak"
        plain = BACKUP + r"\pytds-plain.bak"
        read = "RESTORE FILELISTONLY FROM DISK = N'%s'"
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute("USE master; CREATE CERTIFICATE PyBackupCert WITH SUBJECT = 'pytds backup encryption'; "
                        "CREATE DATABASE PyEncrypted")
            cur.execute("BACKUP DATABASE PyEncrypted TO DISK = N'%s' WITH FORMAT, "
                        "ENCRYPTION (ALGORITHM = AES_256, SERVER CERTIFICATE = PyBackupCert)" % encrypted)
            cur.execute("BACKUP DATABASE PyEncrypted TO DISK = N'%s' WITH FORMAT" % plain)
            cur.execute("USE master; CREATE LOGIN pyrestorer WITH PASSWORD = '%s'; "
                        "CREATE USER pyrestorer FOR LOGIN pyrestorer; "
                        "ALTER SERVER ROLE dbcreator ADD MEMBER pyrestorer" % DESK)
            thumb = self.thumbprint(cur, "PyBackupCert")
        with self.connect("pyrestorer", DESK) as conn, conn.cursor() as cur:
            cur.execute(read % plain)  # CREATE DATABASE is enough for a backup that is not encrypted
            self.assertEqual(len(cur.fetchall()), 2)
            with self.assertRaises(pytds.Error) as e:
                cur.execute(read % encrypted)
            self.assertEqual([m[1].number for m in cur.messages], [33111, 3013])
            self.assertIn("Cannot find server certificate with thumbprint '0x%s'." % thumb.hex().upper(),
                          str(e.exception))
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute("USE master; GRANT VIEW DEFINITION ON CERTIFICATE::PyBackupCert TO pyrestorer")
        with self.connect("pyrestorer", DESK) as conn, conn.cursor() as cur:
            cur.execute(read % encrypted)
            rows = cur.fetchall()
            at = {d[0]: i for i, d in enumerate(cur.description)}
            self.assertEqual([r[at["LogicalName"]] for r in rows], ["PyEncrypted", "PyEncrypted_log"])

    def test_filelistonly_has_the_documented_columns_in_order(self):
        path = BACKUP + r"\pytds-filelist.bak"
        tde = BACKUP + r"\pytds-payroll.bak"
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute("CREATE DATABASE PyFiles")
            cur.execute("BACKUP DATABASE PyFiles TO DISK = N'%s' WITH FORMAT" % path)
            cur.execute("RESTORE FILELISTONLY FROM DISK = N'%s'" % path)
            rows = cur.fetchall()
            self.assertEqual([d[0] for d in cur.description], FILELISTONLY_COLUMNS)
            at = {n: i for i, n in enumerate(FILELISTONLY_COLUMNS)}
            self.assertEqual([r[at["LogicalName"]] for r in rows], ["PyFiles", "PyFiles_log"])
            self.assertEqual([r[at["Type"]] for r in rows], ["D", "L"])
            self.assertEqual([r[at["FileID"]] for r in rows], [1, 2])
            self.assertEqual([r[at["IsPresent"]] for r in rows], [True, True])
            # What the emulator does not model is NULL (assumptions::UNMODELLED_FILELIST_COLUMNS);
            # TDEThumbprint too, for a database without TDE.
            for name in ("DropLSN", "ReadOnlyLSN", "ReadWriteLSN", "LogGroupGUID", "DifferentialBaseLSN",
                         "DifferentialBaseGUID", "TDEThumbprint", "SnapshotURL"):
                self.assertEqual([r[at[name]] for r in rows], [None, None], name)
            # A TDE database's backup names the certificate that protects its encryption key.
            thumb = self.thumbprint(cur, "TDE_Payroll")
            cur.execute("BACKUP DATABASE Payroll TO DISK = N'%s' WITH FORMAT" % tde)
            cur.execute("RESTORE FILELISTONLY FROM DISK = N'%s'" % tde)
            rows = cur.fetchall()
            self.assertEqual([d[0] for d in cur.description], FILELISTONLY_COLUMNS)
            data = [r for r in rows if r[at["Type"]] == "D"]
            self.assertEqual([bytes(r[at["TDEThumbprint"]]) for r in data], [thumb])


class PytdsAgainstAServerEastOfUtc(unittest.TestCase):
    """The server's local time where SQL Server uses it (GETDATE, msdb's history with its
    time_zone), UTC where it uses UTC (GETUTCDATE, sys.dm_database_encryption_keys)."""

    @classmethod
    def setUpClass(cls):
        cls.scenario = tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False)
        cls.scenario.write('[server]\nmachine_name = "SQLIST"\ntime_zone = "+05:30"\n')
        cls.scenario.close()
        cls.emu = Emulator(scenario=cls.scenario.name)

    @classmethod
    def tearDownClass(cls):
        cls.emu.stop()
        os.unlink(cls.scenario.name)

    def connect(self):
        return pytds.connect(server=self.emu.host, port=self.emu.port, user="sa", password=SA_PASSWORD,
                             autocommit=True, login_timeout=10)

    def test_local_time_and_the_offset_beside_it(self):
        with self.connect() as conn, conn.cursor() as cur:
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

    def test_encryption_key_dates_are_utc_while_getdate_is_local(self):
        key = ("SELECT DATEDIFF(second, create_date, GETUTCDATE()), DATEDIFF(second, set_date, GETUTCDATE()), "
               "DATEDIFF(minute, set_date, GETDATE()), create_date, set_date, modify_date, encryptor_thumbprint "
               "FROM sys.dm_database_encryption_keys WHERE database_id = DB_ID('TzKeys')")
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute("USE master; CREATE MASTER KEY ENCRYPTION BY PASSWORD = '%s'; "
                        "CREATE CERTIFICATE TzFirst WITH SUBJECT = 'first'; "
                        "CREATE CERTIFICATE TzSecond WITH SUBJECT = 'second'; "
                        "CREATE DATABASE TzKeys" % STRONG)
            cur.execute("USE TzKeys; CREATE DATABASE ENCRYPTION KEY WITH ALGORITHM = AES_256 "
                        "ENCRYPTION BY SERVER CERTIFICATE TzFirst")
            cur.execute(key)
            created_lag, set_lag, local_ahead, created, set_at, modified, _ = cur.fetchone()
            self.assertTrue(0 <= created_lag < 60, created_lag)  # UTC: just behind GETUTCDATE()
            self.assertTrue(0 <= set_lag < 60, set_lag)
            self.assertIn(local_ahead, (330, 331))  # GETDATE() is 5:30 ahead of it
            # Changing the encryptor moves set_date and modify_date (assumptions::DEK_ENCRYPTOR_CHANGE_SETS_DATE),
            # still in UTC; create_date stays.
            time.sleep(0.05)
            cur.execute("USE TzKeys; ALTER DATABASE ENCRYPTION KEY ENCRYPTION BY SERVER CERTIFICATE TzSecond")
            cur.execute("USE master; SELECT thumbprint FROM sys.certificates WHERE name = 'TzSecond'")
            second = bytes(cur.fetchone()[0])
            cur.execute(key)
            created_lag, set_lag, local_ahead, created2, set2, modified2, encryptor = cur.fetchone()
            self.assertEqual(bytes(encryptor), second)
            self.assertEqual(created2, created)
            self.assertGreater(set2, set_at)
            self.assertGreater(modified2, modified)
            self.assertTrue(0 <= set_lag < 60, set_lag)
            self.assertIn(local_ahead, (330, 331))


class PytdsAgainstALinuxHostWithTz(unittest.TestCase):
    """SQL Server on Linux takes its time zone from TZ first; on Windows it is the host's (the
    scenario's time_zone, UTC when absent), whatever TZ says."""

    LINUX = os.path.join(os.path.dirname(SCENARIO), "linux-2019.toml")

    def offsets(self, scenario, tz):
        with mock.patch.dict(os.environ, {"TZ": tz}):
            emu = Emulator(scenario=scenario)
        try:
            with pytds.connect(server=emu.host, port=emu.port, user="sa", password=SA_PASSWORD,
                               autocommit=True, login_timeout=10) as conn, conn.cursor() as cur:
                cur.execute("SELECT DATEDIFF(minute, GETUTCDATE(), GETDATE()), "
                            "DATEPART(TZOFFSET, SYSDATETIMEOFFSET())")
                diff, offset = cur.fetchone()
                cur.execute("SELECT host_platform FROM sys.dm_os_host_info")
                return diff, offset, cur.fetchone()[0]
        finally:
            emu.stop()

    def test_tz_sets_a_linux_servers_local_time(self):
        self.assertEqual(self.offsets(self.LINUX, "Asia/Kolkata"), (330, 330, "Linux"))
        self.assertEqual(self.offsets(self.LINUX, "UTC"), (0, 0, "Linux"))

    def test_tz_does_not_move_a_windows_server(self):
        self.assertEqual(self.offsets(SCENARIO, "Asia/Kolkata"), (0, 0, "Windows"))


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
