"""What every SQL backend does with the rows it reads, written once.

A backend selects rows (chunks of packed points, aggregate cells, series rows); these
functions turn them into answers: a page of raw points with its ``next`` cursor, the
aggregate columns, a series' description.
"""
import numpy as np

from ...errors import BadRequest
from ...limits import check_step_range
from . import codec
from .pyramid import FIELDS

__all__ = ["columns", "decode_rows", "describe_times", "parse_cursor", "raw_page",
           "series_dict"]


def decode_rows(rows):
    """``(steps, values, times)`` of chunk rows ``(steps, vals, times)``, concatenated."""
    if not rows:
        return np.empty(0, np.int64), np.empty(0), np.empty(0)
    return (np.concatenate([codec.decode_steps(r[0]) for r in rows]),
            np.concatenate([codec.decode_floats(r[1]) for r in rows]),
            np.concatenate([codec.decode_times(r[2]) for r in rows]))


def raw_page(rows, x0, x1, limit, skip, count):
    """A page of raw points from chunk rows ``(id, step_min, steps, vals, times)``.

    ``rows`` come ordered by ``(step_min, id)`` (ids grow in arrival order) and are
    read only as far as the page needs. Points are in step order, ties in arrival
    order; ``skip`` points at step ``x0`` were read by the previous page.
    """
    parts = []
    final_below = None   # every point below this step has been read
    for cid, step_min, *blobs in rows:
        # unread chunks start at step_min or later: what is below it is final
        if parts and sum(int((p[2] < step_min).sum()) for p in parts) > limit + skip:
            final_below = step_min
            break
        steps, values, times = decode_rows([blobs])
        keep = (steps >= x0) & (steps <= x1)
        parts.append((np.full(int(keep.sum()), cid), np.flatnonzero(keep), steps[keep],
                      values[keep], times[keep]))
    ids, pos, steps, values, times = (np.concatenate([p[k] for p in parts])
                                      if parts else np.empty(0) for k in range(5))
    order = np.lexsort((pos, ids, steps))   # by step; ties in arrival order
    steps = steps[order].astype(np.int64)
    values, times = values[order].astype(np.float64), times[order].astype(np.float64)
    if final_below is not None:
        cut = np.searchsorted(steps, final_below, "left")
        steps, values, times = steps[:cut], values[:cut], times[:cut]
    if skip and len(steps) and steps[0] == x0:
        same = int(np.searchsorted(steps, x0, "right"))
        drop = min(skip, same)
        steps, values, times = steps[drop:], values[drop:], times[drop:]
    more = len(steps) > limit or final_below is not None
    # copies: a view would keep every decoded point alive with the page
    steps, values, times = steps[:limit].copy(), values[:limit].copy(), times[:limit].copy()
    cursor = None
    if more and len(steps):
        last = int(steps[-1])
        taken = int(len(steps) - np.searchsorted(steps, last, "left"))
        cursor = f"{last}:{taken + (skip if last == x0 else 0)}"
    return {"steps": steps, "values": values, "times": times, "seq": count,
            "next": cursor}


#: Series listed per model by ``models()`` and ``model()`` unless asked otherwise; a
#: model with more says ``series_next``, from which ``model(name, series_after=...)``
#: goes on (a listing costs what it shows, however many series a model has).
SERIES_PAGE = 1000


def models_sql(mark, like, after, contains, limit, collate=""):
    """``(sql, args)`` selecting ``(id, name, created)`` of a page of models by name.

    ``mark`` is the dialect's placeholder, ``like`` its case-insensitive LIKE; ``%`` and
    ``_`` in ``contains`` are text, not wildcards.
    """
    where, args = [], []
    if after is not None:
        where.append(f"name > {mark}")
        args.append(after)
    if contains:
        escaped = contains.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append(f"name {like} {mark} ESCAPE '\\'")
        args.append(f"%{escaped}%")
    sql = "SELECT id, name, created FROM models"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY name{collate}"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return sql, args


def series_page_sql(in_ids, mark, after, collate=""):
    """SQL for the first series of each model (``rn <= limit + 1``) and per-model totals.

    ``in_ids`` is the dialect's "model_id in these ids" (``IN (?, ?)``, ``= ANY(%s)``),
    ``mark`` its placeholder; the parameters are the ids, then ``after`` when given, then
    the limit + 1 (for the page), and the ids (for the totals).
    """
    since = f" AND name > {mark}" if after is not None else ""
    page = ("SELECT model_id, name, count, min_step, max_step, last_step, last_value, "
            "last_time FROM (SELECT model_id, name, count, min_step, max_step, last_step, "
            f"last_value, last_time, row_number() OVER (PARTITION BY model_id ORDER BY name"
            f"{collate}) AS rn FROM series WHERE model_id {in_ids}{since}) AS page "
            f"WHERE rn <= {mark} ORDER BY model_id, name{collate}")
    totals = (f"SELECT model_id, count(*), max(last_time) FROM series WHERE model_id {in_ids} "
              "GROUP BY model_id")
    return page, totals


def attach_series(out, page_rows, total_rows, limit):
    """Put each model's page of series, ``series_count`` and ``series_next`` into ``out``."""
    for mid, *rest in page_rows:
        out[mid]["series"].append(series_dict(rest))
    for mid, count, latest in total_rows:
        out[mid]["series_count"] = count
        out[mid]["_latest"] = latest
    for model in out.values():
        model.setdefault("series_count", 0)
        more = len(model["series"]) > limit
        del model["series"][limit:]
        model["series_next"] = model["series"][-1]["name"] if more else None


def describe_times(out):
    """Models (a dict by id) sorted by name, each with the latest time of its records."""
    for model in out.values():
        times = [s["last_time"] for s in model["series"] + model["images"]
                 + model.get("histograms", []) if s["last_time"] is not None]
        latest = model.pop("_latest", None)
        model["last_time"] = max(times + [model["last_time"]]
                                 + ([latest] if latest is not None else []))
    return sorted(out.values(), key=lambda m: m["name"])


def parse_cursor(after):
    """``(step, skip)`` from a ``next`` cursor (``"step:points already read at it"``)."""
    if after is None:
        return None, 0
    step, _, skip = str(after).partition(":")
    try:
        step, skip = int(step), int(skip)
    except ValueError:
        raise BadRequest(f"'after' must be a cursor from a 'next' field, got {after!r}") \
            from None
    if skip < 0 or not check_step_range(step) or skip > 2**62:
        raise BadRequest(f"'after' must be a cursor from a 'next' field, got {after!r}")
    return step, skip


def series_dict(row):
    """A series row ``(name, count, min, max, last step, last value, last time)`` as a dict."""
    name, count, smin, smax, last_step, last_value, last_time = row
    return {"name": name, "count": count, "first_step": smin, "last_step": smax,
            "last_value": float("nan") if last_value is None and count else last_value,
            "last_time": last_time}


def columns(rows):
    """Aggregate rows (``FIELDS``) as arrays; SQL NULL becomes NaN."""
    if not rows:
        return {name: np.empty(0) for name in FIELDS}
    out = {}
    for name, col in zip(FIELDS, zip(*rows)):
        # float64 turns SQL NULL (None) into NaN, which is what NULL means here.
        kind = np.int64 if name in ("cell", "count", "nans", "fstep", "lstep") else np.float64
        out[name] = np.array(col, dtype=kind)
    return out
