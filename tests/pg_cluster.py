"""A throwaway PostgreSQL 15 cluster for the tests: ``initdb`` + ``pg_ctl`` in a temp dir.

PostgreSQL refuses to run as root, so when the tests run as root the cluster belongs
to the ``postgres`` user (``runuser -u postgres --``), in a directory it owns. It
listens on 127.0.0.1 only, on a free port, with ``fsync=on``; ``stop`` ends it by the
pid in its ``postmaster.pid``. Standard library only (the benchmarks use it too).
"""
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import uuid

__all__ = ["PgCluster", "pg_bindir"]


def pg_bindir():
    """The directory of ``initdb`` and ``pg_ctl`` (Debian keeps them off PATH)."""
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                  key=lambda d: int(d.split("/")[-2]) if d.split("/")[-2].isdigit() else 0)
    if not dirs and shutil.which("pg_ctl"):
        return os.path.dirname(os.path.realpath(shutil.which("pg_ctl")))
    if not dirs:
        raise RuntimeError("PostgreSQL is not installed: apt-get install postgresql "
                           "(make test does it)")
    return dirs[-1]


class PgCluster:
    """A PostgreSQL cluster of its own, on 127.0.0.1:``port``."""

    def __init__(self, port, root=None):
        self.port = port
        self.bindir = pg_bindir()
        self.root = root or tempfile.mkdtemp(prefix="pastalog-pg-")
        self.datadir = os.path.join(self.root, "data")
        self.logfile = os.path.join(self.root, "server.log")
        self.as_root = os.geteuid() == 0
        self.user = "postgres" if self.as_root else pwd.getpwuid(os.geteuid()).pw_name
        self.url = f"postgresql://{self.user}@127.0.0.1:{port}/postgres"

    def _run(self, *cmd, check=True, timeout=120):
        argv = [os.path.join(self.bindir, cmd[0]), *cmd[1:]]
        if self.as_root:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        return subprocess.run(argv, check=check, capture_output=True, text=True,
                              timeout=timeout, cwd=self.root)

    def start(self):
        if self.as_root:
            os.chmod(self.root, 0o755)
            pw = pwd.getpwnam("postgres")
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
        if not os.path.exists(self.datadir):
            self._run("initdb", "-D", self.datadir, "-U", self.user, "-A", "trust",
                      "-E", "UTF8", "--no-locale")
        self.pg_ctl_start()
        return self

    def pg_ctl_start(self):
        opts = (f"-c listen_addresses=127.0.0.1 -c port={self.port} -c fsync=on "
                f"-c unix_socket_directories={self.root} -c max_connections=200 "
                "-c shared_buffers=64MB")
        self._run("pg_ctl", "-D", self.datadir, "-l", self.logfile, "-o", opts, "-w",
                  "-t", "60", "start")

    def restart_immediate(self):
        """``pg_ctl restart -m immediate``: a crash as far as the clients can tell."""
        self._run("pg_ctl", "-D", self.datadir, "-m", "immediate", "-w", "-t", "60",
                  "-l", self.logfile, "restart")

    def pid(self):
        try:
            with open(os.path.join(self.datadir, "postmaster.pid")) as fh:
                return int(fh.readline())
        except (OSError, ValueError):
            return None

    def create_database(self, name=None):
        """A fresh database; returns its URL."""
        name = name or "t_" + uuid.uuid4().hex[:12]
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, name)
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{name}"

    def stop(self):
        pid = self.pid()
        if pid:
            try:
                os.kill(pid, signal.SIGQUIT)  # immediate: nothing here outlives the tests
            except ProcessLookupError:
                pid = None
            deadline = time.monotonic() + 30
            while pid and time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)
            else:
                if pid:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
        shutil.rmtree(self.root, ignore_errors=True)
