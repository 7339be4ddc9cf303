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
