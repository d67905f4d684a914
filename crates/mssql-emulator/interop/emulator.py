"""Starts the mssql-emulator binary for an interop test and stops it afterwards."""
import os
import subprocess
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BIN = os.environ.get("EMULATOR_BIN", os.path.join(ROOT, "target", "debug", "mssql-emulator"))
SA_PASSWORD = "Interop!Sa#Pass1"
SCENARIO = os.path.join(os.path.dirname(__file__), "..", "scenarios", "demo.toml")


class Emulator:
    def __init__(self, tls="on", scenario=SCENARIO, extra=()):
        self.dir = tempfile.mkdtemp(prefix="emu-interop-")
        args = [BIN, "--listen", "127.0.0.1:0", "--data-dir", self.dir, "--tls", tls, "--log", "warn"]
        if scenario:
            args += ["--scenario", scenario]
        args += list(extra)
        env = dict(os.environ, MSSQL_SA_PASSWORD=SA_PASSWORD)
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, env=env, text=True)
        line = self.proc.stdout.readline().strip()
        if not line.startswith("listening on "):
            self.proc.kill()
            raise RuntimeError("emulator did not start: %r" % line)
        self.addr = line[len("listening on "):]
        self.host, port = self.addr.rsplit(":", 1)
        self.port = int(port)
        self.cert = os.path.join(self.dir, "tls-cert.pem")

    def host_path(self, windows_path):
        drive, rest = windows_path.split(":", 1)
        return os.path.join(self.dir, "fs", drive.upper(), *[p for p in rest.split("\\") if p])

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
