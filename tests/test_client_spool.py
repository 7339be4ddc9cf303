"""A short write to the spool (the disk nearly full) loses nothing (issue #10.1).

The child process caps its own file size with ``RLIMIT_FSIZE``: the write that
crosses the cap is cut short by the kernel, exactly as on a nearly full disk, and
the ones after it fail with ``EFBIG`` (Python ignores ``SIGXFSZ``).
"""
import os
import subprocess
import sys

from helpers import ROOT, ServerProcess, free_port
from fault_helpers import read_series

SHORT_WRITER = r"""
import resource, sys, time, pastalog
port, spool, cap = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
resource.setrlimit(resource.RLIMIT_FSIZE, (cap, resource.RLIM_INFINITY))
log = pastalog.Log(port, "short", spool_dir=spool, max_memory_points=50, batch_points=100,
                   flush_interval=0.01)
for i in range(3000):
    log.write("loss", float(i))
    if i % 100 == 99:
        time.sleep(0.03)
time.sleep(0.3)
print("WRITTEN", flush=True)
sys.stdin.readline()
print("FLUSHED", log.flush(timeout=30), flush=True)
log.close()
"""


def test_a_short_spool_write_keeps_the_batch_in_memory(tmp_path):
    port = free_port()
    spool = tmp_path / "spool"
    proc = subprocess.Popen([sys.executable, "-c", SHORT_WRITER, str(port), str(spool),
                             "20000"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT)
    srv = None
    try:
        assert proc.stdout.readline().strip() == "WRITTEN", proc.stderr.read()
        files = [f for _, _, names in os.walk(spool) for f in names]
        assert files, "nothing was spooled: the test does not test the short write"
        srv = ServerProcess(tmp_path / "data", port=port).start()
        proc.stdin.write("go\n")
        proc.stdin.flush()
        flushed = proc.stdout.readline().strip()
        proc.stdin.close()
        assert proc.wait(timeout=30) == 0
        stderr = proc.stderr.read()
        assert flushed == "FLUSHED True", stderr
        assert read_series(srv, "short", "loss")[0] == list(range(3000)), stderr
        assert "corrupt" not in stderr and "truncated at" not in stderr, stderr
        assert "short write" in stderr and "in memory" in stderr, stderr
    finally:
        proc.kill()
        if srv:
            srv.stop()
