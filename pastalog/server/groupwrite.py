"""Group commit: point writes that arrive while the writer is busy go in together.

The SQLite store has one writer. A request that finds it idle is written at once,
alone; those that arrive meanwhile wait in a queue, and when the writer frees, all of
them (up to ``max_points`` points, at least one request) go to
``Store.write_points_group`` as one group: one transaction, one commit. Each request is
answered when its group has committed, with its own outcome: its result, or the error
it would have got alone (raised in its own greenlet).
"""
import collections

import gevent
import gevent.event

__all__ = ["GROUP_POINTS", "GroupWriter"]

#: Points in one group at most (a single bigger request still goes, alone).
GROUP_POINTS = 400_000


def _points(series):
    return sum(len(s[3]) for s in series)


class GroupWriter:
    """``writer(series, batch_id, session)``: ``Store.write_points``, grouped.

    Parameters
    ----------
    run : callable
        ``run(fn, *args)`` runs ``fn`` on the store's writer (the server's writer
        thread) and returns what it returns.
    write_group : callable
        ``Store.write_points_group``: a list of ``(series, batch_id, session)`` in, one
        result or exception per request out.
    max_points : int
        Points in one group at most.

    Attributes
    ----------
    groups, requests : int
        Groups written and requests in them, so far.

    Examples
    --------
    >>> writer = GroupWriter(lambda fn, *a: fn(*a),
    ...                      lambda reqs: [{"points": len(r[0])} for r in reqs])
    >>> writer([("m", "loss", None, [1.0], None)])
    {'points': 1}
    """

    def __init__(self, run, write_group, max_points=GROUP_POINTS):
        self._run = run
        self._write_group = write_group
        self.max_points = max_points
        self._queue = collections.deque()
        self._busy = False
        self.groups = self.requests = 0

    def __call__(self, series, batch_id=None, session=None):
        done = gevent.event.AsyncResult()
        self._queue.append(((series, batch_id, session), _points(series), done))
        if not self._busy:
            self._busy = True
            gevent.spawn(self._drain)
        return done.get()

    def _take(self):
        group, total = [], 0
        while self._queue and (not group or total + self._queue[0][1] <= self.max_points):
            item = self._queue.popleft()
            group.append(item)
            total += item[1]
        return group

    def _drain(self):
        try:
            while self._queue:
                group = self._take()
                try:
                    outcomes = self._run(self._write_group, [item[0] for item in group])
                except Exception as exc:  # noqa: BLE001 (the writer failed: all are told)
                    outcomes = [exc] * len(group)
                self.groups += 1
                self.requests += len(group)
                for (_, _, done), outcome in zip(group, outcomes):
                    if isinstance(outcome, BaseException):
                        done.set_exception(outcome)
                    else:
                        done.set(outcome)
        finally:
            self._busy = False
