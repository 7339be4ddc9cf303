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


def post_runs(server, records):
    """POST run records (docs/API.md, Runs) straight to /api/v1/runs; asserts a 200."""
    status, body = server.post_json("/api/v1/runs", {"runs": list(records)})
    assert status == 200, body
    return body


def run_record(model, *, status="finished", config=None, tags=None, notes=None, start=1.7e9,
               end=None, session=None, provenance=None, error=None):
    """One run record as a client sends it: a "running" record at ``start``, then
    (unless running) the final one at ``end``. Returns a list of records."""
    first = {"model": model, "session": session or f"s-{model}", "time": start, "status": "running",
             "config": config or {}, "tags": tags or [], "notes": notes or ""}
    if provenance is not None:
        first["provenance"] = provenance
    out = [first]
    if status != "running":
        last = {"model": model, "session": first["session"], "time": end or start + 60, "status": status}
        if error is not None:
            last["error"] = error
        out.append(last)
    return out


def sweep(server, n, *, prefix="sweep", steps=50, series=("train_loss", "valid_acc"), seed=0):
    """A small hyper-parameter sweep: ``n`` finished runs with config lr/batch/optimizer/
    depth, tags, and series whose values depend on the config. Returns the configs."""
    import random
    rnd = random.Random(seed)
    records, configs = [], {}
    for i in range(n):
        model = f"{prefix}-{i:03d}"
        cfg = {"lr": [1e-4, 3e-4, 1e-3, 3e-3, 1e-2][i % 5], "batch": [32, 64, 128][i % 3],
               "optimizer": ["adam", "sgd"][i % 2], "model/depth": 2 + i % 4}
        configs[model] = cfg
        records += run_record(model, config=cfg, tags=["sweep", f"opt-{cfg['optimizer']}"],
                              start=1.7e9 + 100 * i, end=1.7e9 + 100 * i + 30 + i)
        quality = abs(math.log10(cfg["lr"]) + 3) + (0.3 if cfg["optimizer"] == "sgd" else 0) + rnd.random() * 0.2
        for name in series:
            if "loss" in name:
                vals = [(0.4 + quality) * (1 + 3 * math.exp(-k / 10)) for k in range(steps)]
            else:
                vals = [max(0.0, 0.95 - 0.25 * quality) * (1 - math.exp(-k / 8)) for k in range(steps)]
            post_points(server, model, name, range(steps), vals)
    post_runs(server, records)
    return configs


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
