"""Per-series locking in the PostgreSQL store: row locks against advisory locks.

Eight writers, each with a store of its own (as eight servers would have), write
batches of ``--points`` points as fast as they can for ``--seconds``:

- ``shared``: every batch goes to the same 4 series of one model (writers queue on
  the series: the lock's own cost shows);
- ``own``: each writer has its series (no waiting: the lock's overhead alone).

Prints points/s for ``lock="row"`` (``SELECT ... FOR UPDATE``) and
``lock="advisory"`` (``pg_advisory_xact_lock``).

Usage: ``python benchmarks/pg_locks.py postgresql://user@host:port/db``
"""
import sys
import threading
import time

import numpy as np

sys.path.insert(0, __file__.rsplit("/benchmarks/", 1)[0])

from pastalog.server.store.postgres import PostgresStore  # noqa: E402

WRITERS = 8


def run(url, lock, mode, seconds=4.0, points=200):
    stores = [PostgresStore(url, lock=lock, pool_size=1) for _ in range(WRITERS)]
    counts = [0] * WRITERS
    stop = time.monotonic() + seconds
    errors = []

    def work(k):
        values = np.random.default_rng(k).normal(size=points)
        try:
            while time.monotonic() < stop:
                batch = ([("shared", f"s{(k + j) % 4}", None, values, None) for j in range(2)]
                         if mode == "shared" else
                         [(f"own{k}-{lock}", f"s{j}", None, values, None) for j in range(2)])
                stores[k].write_points(batch)
                counts[k] += 2 * points
        except Exception as exc:   # noqa: BLE001 (reported)
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(WRITERS)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    for s in stores:
        s.close()
    if errors:
        raise errors[0]
    return sum(counts) / elapsed


def main(url):
    results = {}
    for mode in ("shared", "own"):
        for lock in ("row", "advisory", "row", "advisory"):   # twice, interleaved
            results.setdefault((mode, lock), []).append(run(url, lock, mode))
    print(f"{WRITERS} writers, batches of 2 series x 200 points, points/s (best of 2):")
    for (mode, lock), rates in results.items():
        print(f"  {mode:7s} {lock:9s} {max(rates):>10,.0f}")
    return results


if __name__ == "__main__":
    main(sys.argv[1])
