"""``python -m benchmarks.histogram_bench``: what ``Log.histogram`` costs the caller.

The issue's target: at most 1 ms on the caller's thread for 1,000,000 float32 values
with numpy. Measured against a real server (``util.Server``), each call timed alone:

- ``paced``: one call every 20 ms (a training step's pace; the sender bins each copy
  before the next call comes): the caller pays the check and a copy;
- ``back to back``: calls with nothing in between, so copies pile up past
  ``MAX_PENDING_BYTES`` (64 MiB) and the caller then bins them itself: the bound's price;
- the harness: a bare ``ndarray.copy()`` of the same array (the floor; back to back
  and paced, where the array has left the cache between calls), and the
  sender's binning of one copy (``summarize``) on the caller's thread, i.e. what binning
  at the call would cost;
- a peer when importable: ``torch.utils.tensorboard.SummaryWriter.add_histogram`` (it
  bins on the caller's thread) to a temporary directory;
- ``--huge``: one call with 10**8 float32 values (400 MB; past the bound, so binned at
  the call, ``CHUNK`` values at a time): its time and the process's extra peak memory.

Prints one line a measurement (median and p99 in ms) and writes its section of
RESULTS.md (``--no-report``: print only).
"""
import argparse
import os
import statistics
import tempfile
import time

import numpy as np

from .util import ROOT, Server, pct, write_section

SECTION = "## Histograms: `Log.histogram` on the caller's thread (issue 15)"

N_VALUES = 1_000_000


def timed(fn, calls, pause=0.0):
    """Seconds each call of ``fn(i)`` took, sorted."""
    out = []
    for i in range(calls):
        t0 = time.perf_counter()
        fn(i)
        out.append(time.perf_counter() - t0)
        if pause:
            time.sleep(pause)
    return sorted(out)


def line(label, times):
    slow = sum(t > 0.005 for t in times)
    return (f"{label:<56} median {statistics.median(times) * 1e3:7.3f} ms   "
            f"p99 {pct(times, 0.99) * 1e3:7.3f} ms   ({len(times)} calls, {slow} over 5 ms)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--huge", action="store_true", help="also one call of 10**8 values")
    parser.add_argument("--no-report", action="store_true", help="print only; leave RESULTS.md")
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "RESULTS.md"))
    args = parser.parse_args(argv)

    import pastalog
    from pastalog._histogram import summarize

    x = np.random.default_rng(0).standard_normal(N_VALUES).astype(np.float32)
    results = []
    results.append(line("harness: x.copy() (the floor)", timed(lambda i: x.copy(),
                                                                 args.calls)))
    results.append(line("harness: x.copy(), paced (1 call / 20 ms: cache cold)",
                        timed(lambda i: x.copy(), args.calls, pause=0.02)))
    results.append(line("harness: summarize(x) (binning at the call)",
                        timed(lambda i: summarize(x), max(30, args.calls // 10))))
    with tempfile.TemporaryDirectory() as tmp, Server(f"{tmp}/data") as server:
        log = pastalog.Log(server.url, "hist-bench", spool_dir=False)
        log.histogram("warm", x)
        log.flush(timeout=60)
        paced = timed(lambda i: log.histogram("paced", x, step=i), args.calls, pause=0.02)
        log.flush(timeout=120)
        burst = timed(lambda i: log.histogram("burst", x, step=i), args.calls)
        delivered = log.flush(timeout=300)
        log.close()
        stored = server.get_json("/api/v1/histograms?model=hist-bench&name=burst")[1]
    results.append(line("pastalog Log.histogram, paced (1 call / 20 ms)", paced))
    results.append(line("pastalog Log.histogram, back to back", burst))
    results.append(f"back to back: delivered {delivered}, stored {stored['total']} records")
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        results.append("peer: torch.utils.tensorboard not importable; skipped")
    else:
        with tempfile.TemporaryDirectory() as tmp:
            writer = SummaryWriter(tmp)
            peer = timed(lambda i: writer.add_histogram("w", x, i), max(30, args.calls // 10))
            writer.close()
        results.append(line("peer: tensorboard SummaryWriter.add_histogram", peer))
    if args.huge:
        results.append(huge())
    print(f"Log.histogram of {N_VALUES:,} float32 values, caller's thread:")
    for text in results:
        print("  " + text)
    if not args.no_report:
        met = statistics.median(paced) <= 1e-3
        write_section(SECTION, "\n".join([
            SECTION, "",
            f"`python -m benchmarks.histogram_bench` ({time.strftime('%Y-%m-%d %H:%M')}, load "
            f"average {os.getloadavg()[0]:.1f}): one `Log.histogram` of {N_VALUES:,} float32 "
            "values against a real server, each call timed alone; the caller checks and copies, "
            "the sender thread bins.", "", "```", *results, "```", "",
            f"The issue's bar, a median of at most 1 ms at a training step's pace (paced): "
            f"{'met' if met else 'NOT met'} ({statistics.median(paced) * 1e3:.3f} ms).", ""]),
            args.out)
        print(f"wrote {args.out}")


def huge(n=10**8):
    """One ``Log.histogram`` of ``n`` float32 values: seconds and extra peak memory."""
    import pastalog
    from .util import proc_status_kb

    big = np.random.default_rng(1).standard_normal(n, dtype=np.float32)
    sent = []
    log = pastalog.Log(8120, "huge", spool_dir=False,
                       transport=lambda path, body, ctype: sent.append(len(body)) or (200, b"{}"))
    before = proc_status_kb(os.getpid(), "VmRSS")
    t0 = time.perf_counter()
    log.histogram("w", big)
    took = time.perf_counter() - t0
    log.flush(timeout=60)
    extra = proc_status_kb(os.getpid(), "VmHWM") - before
    log.close()
    return (f"10**8 float32 in one call: {took:.2f} s on the caller's thread (binned at the "
            f"call), peak memory {extra / 1024:.0f} MiB above the array's own "
            f"{big.nbytes >> 20} MiB")


if __name__ == "__main__":
    main()
