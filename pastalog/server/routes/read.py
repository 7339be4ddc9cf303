"""Reading: models, one model, a series (raw or bucketed), one series of many models."""
import bottle
import numpy as np

from .. import bucket_wire
from ..http import fail, int_param, ok, param, step_param
from ..jsonio import finite_or_text
from ..store.base import RAW_LIMIT
from ..store.rows import SERIES_PAGE

__all__ = ["MAX_BUCKETS", "MAX_MODELS_PER_QUERY", "MODELS_PAGE", "bucket_columns", "register"]

MAX_BUCKETS = 100_000
MAX_MODELS_PER_QUERY = 200
#: Models in one listing unless ``limit`` says otherwise (at most ``10 * MODELS_PAGE``).
MODELS_PAGE = 1000


def bucket_columns(agg, level):
    """The store's aggregates as the columnar ``buckets`` object of docs/API.md."""
    cells = agg["cell"].astype(np.int64)
    count = agg["count"].astype(np.int64)
    nans = agg["nans"].astype(np.int64)
    real = count - nans
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(real > 0, agg["vsum"] / np.maximum(real, 1), np.nan)
    if level > 60:  # the top levels' bounds overflow int64 arithmetic: use Python ints
        starts = [c << level for c in cells.tolist()]
        ends = [((c + 1) << level) - 1 for c in cells.tolist()]
    else:
        starts, ends = cells << level, ((cells + 1) << level) - 1
    return {
        "x0": starts, "x1": ends,
        "s0": agg["fstep"].astype(np.int64), "s1": agg["lstep"].astype(np.int64),
        "count": count, "nans": nans,
        "min": _null_for_nan(agg["vmin"]), "max": _null_for_nan(agg["vmax"]),
        "first": agg["first"], "last": agg["last"], "mean": mean,
        "t0": agg["t0"], "t1": agg["t1"],
    }


def _null_for_nan(arr):
    """Floats with NaN (no non-NaN value in the bucket) as null; as is when all finite."""
    if np.isfinite(arr).all():
        return arr  # the common case: orjson writes the array itself
    return [None if x != x else finite_or_text(x) for x in arr.tolist()]


def register(app, ctx):
    """Add the read routes."""
    store = ctx.store

    @app.get("/api/v1/models")
    def models():
        # (parameters are read here: bottle's request is bound to this greenlet, not to
        # the read thread)
        limit = int_param("limit", 1, 10 * MODELS_PAGE) or MODELS_PAGE
        after, contains = param("after", False), param("q", False)
        found = ctx.read(lambda: store.models(limit=limit + 1, after=after, contains=contains))
        more = len(found) > limit
        found = found[:limit]
        return ok({"models": found, "next": found[-1]["name"] if more else None})

    @app.get("/api/v1/models/<model:path>")
    def one_model(model):
        series_limit = int_param("series_limit", 1, 10 * SERIES_PAGE) or SERIES_PAGE
        series_after = param("series_after", False)
        found = ctx.read(lambda: store.model(model, series_limit=series_limit,
                                             series_after=series_after))
        if found is None:
            fail(404, f"no model named {model!r}")
        return ok(found)

    def bucket_answer(model, name, buckets, x0, x1, fields):
        result = ctx.read(store.read_buckets, model, name, buckets, x0, x1)
        if result is None:
            return None
        cols = bucket_columns(result["agg"], result["level"])
        return {"model": model, "series": name, "level": result["level"],
                "width": 2 ** result["level"], "count_total": result["count_total"],
                "seq": result["seq"], "buckets": {f: cols[f] for f in fields}}

    def chart_format():
        """``(fields, binary)``: the columns asked for and whether in binary."""
        fields = bucket_wire.parse_fields(param("fields", False))
        fmt = param("format", False) or "json"
        if fmt not in ("json", "binary"):
            fail(400, f"format must be 'json' or 'binary', got {fmt!r}")
        return fields, fmt == "binary"

    def binary(fields, results):
        bottle.response.content_type = bucket_wire.CONTENT_TYPE
        return bucket_wire.encode(fields, results)

    @app.get("/api/v1/series")
    def series():
        model, name = param("model"), param("series")
        x0, x1 = step_param("x0"), step_param("x1")
        buckets = int_param("buckets", 1, MAX_BUCKETS)
        if buckets is None:
            limit = int_param("limit", 1, RAW_LIMIT) or RAW_LIMIT
            after = param("after", False)
            found = ctx.read(lambda: store.read_series(model, name, x0, x1, limit=limit,
                                                       after=after))
            found = found and {"model": model, "series": name, **found}
        else:
            fields, as_binary = chart_format()
            found = bucket_answer(model, name, buckets, x0, x1, fields)
            if found is not None and as_binary:
                return binary(fields, [found])
        if found is None:
            fail(404, f"model {model!r} has no series {name!r}")
        return ok(found)

    @app.get("/api/v1/buckets")
    def many_buckets():
        """One series of many models at once: what the overview draws on load."""
        name = param("series")
        models = bottle.request.query.getall("model")
        if len(models) > MAX_MODELS_PER_QUERY:
            fail(400, f"at most {MAX_MODELS_PER_QUERY} 'model' parameters, got {len(models)}")
        x0, x1 = step_param("x0"), step_param("x1")
        buckets = int_param("buckets", 1, MAX_BUCKETS) or 1000
        fields, as_binary = chart_format()
        results = []
        for raw in models:
            model = raw.encode("latin-1").decode("utf-8", "replace")  # bottle's WSGI decoding
            found = bucket_answer(model, name, buckets, x0, x1, fields)
            results.append(found or {"model": model, "series": name,
                                     "error": f"model {model!r} has no series {name!r}"})
        if as_binary:
            return binary(fields, results)
        return ok({"series": name, "results": results})
