"""Helpers for the browser tests: posting points and images to a test server."""
import json
import math
import struct
import zlib
from urllib.parse import urlencode


def post_points(server, model, series, steps, values, times=None):
    """POST one series' points through /api/v1/points (JSON); NaN/Inf as strings."""
    def enc(v):
        if isinstance(v, float) and not math.isfinite(v):
            return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")
        return v
    entry = {"model": model, "name": series, "steps": list(steps), "values": [enc(v) for v in values]}
    if times is not None:
        entry["times"] = list(times)
    status, body = server.post_json("/api/v1/points", {"series": [entry]})
    assert status == 200, body
    return body


def post_png(server, model, name, step, png):
    q = urlencode({"model": model, "name": name, "step": step})
    status, body = server.request("POST", f"/api/v1/images?{q}", png, {"Content-Type": "image/png"})
    assert status == 200, body
    return body


def solid_png(width, height, rgb):
    """A tiny solid-colour PNG, made with zlib only."""
    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def dumps(x):
    return json.dumps(x)


def histogram_record(values, step, bins=64, time=None):
    """One histogram record of docs/API.md from raw values, binned with numpy over
    [min, max] of the finite ones; NaN and +-inf counted apart."""
    import numpy as np
    v = np.asarray(values, dtype=np.float64)
    finite = v[np.isfinite(v)]
    rec = {"step": step, "nan": int(np.isnan(v).sum()), "posinf": int(np.isposinf(v).sum()),
           "neginf": int(np.isneginf(v).sum()), "count": int(finite.size)}
    if finite.size:
        counts, edges = np.histogram(finite, bins=bins)
        rec.update(edges=edges.tolist(), counts=counts.astype(float).tolist(), min=float(finite.min()),
                   max=float(finite.max()), sum=float(finite.sum()), sumsq=float((finite * finite).sum()))
    else:
        rec.update(edges=[], counts=[], min=None, max=None, sum=0.0, sumsq=0.0)
    if time is not None:
        rec["time"] = time
    return rec


def post_histograms(server, model, name, records):
    """POST histogram records (of histogram_record) of one name through /api/v1/histograms."""
    status, body = server.post_json("/api/v1/histograms",
                                    {"histograms": [dict(r, model=model, name=name) for r in records]})
    assert status == 200, body
    return body


def log_histograms(server, model, name, items, bins=64):
    """Log ``(step, values)`` pairs with the real client (``Log.histogram``), flushed."""
    from pastalog import Log
    with Log(server.port, model) as log:
        for step, values in items:
            log.histogram(name, values, step=step, bins=bins)
        log.flush()
