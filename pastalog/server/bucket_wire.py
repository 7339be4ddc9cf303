"""Chart answers in binary (``format=binary``): columns a browser maps without parsing.

A JSON answer of 50 models x 600 buckets is about 2.5 MB of digits that the server
formats and the page parses back, number by number; the overview of 500 runs asks for
ten of them. The binary answer carries the same columns as little-endian float64 that
the page views as ``Float64Array`` without a copy::

    b"PLK1" | uint32 LE header length H | H bytes of UTF-8 JSON header
    (padded with spaces so that 8 + H is a multiple of 8)
    then, for each result with "n", for each field in "fields", n float64 LE

The header is ``{"fields": [...], "results": [{"model", "series", "level", "width",
"count_total", "seq", "n"} or {"model", "series", "error"}, ...]}``. ``null`` of the
JSON answer (a bucket of NaN only) is NaN here. Steps are exact up to 2**53, the
largest step a store accepts.
"""
import struct

import numpy as np
import orjson

from ..errors import BadRequest

__all__ = ["BUCKET_FIELDS", "CONTENT_TYPE", "MAGIC", "decode", "encode", "parse_fields"]

MAGIC = b"PLK1"
CONTENT_TYPE = "application/vnd.pastalog.buckets"
#: The columns of a bucket answer (docs/API.md), in the order they are written.
BUCKET_FIELDS = ("x0", "x1", "s0", "s1", "count", "nans", "min", "max", "first", "last",
                 "mean", "t0", "t1")


def parse_fields(text):
    """The columns a ``fields=a,b,...`` parameter asks for (``x0`` always), in order.

    Examples
    --------
    >>> parse_fields("max,min")
    ('x0', 'min', 'max')
    >>> parse_fields(None) == BUCKET_FIELDS
    True
    >>> parse_fields("min,median")
    Traceback (most recent call last):
    ...
    pastalog.errors.BadRequest: unknown field 'median' in 'fields'; known: x0, x1, s0, s1, count, nans, min, max, first, last, mean, t0, t1
    """
    if text is None or text == "":
        return BUCKET_FIELDS
    asked = set(text.split(","))
    unknown = sorted(asked - set(BUCKET_FIELDS))
    if unknown:
        raise BadRequest(f"unknown field {unknown[0]!r} in 'fields'; known: "
                         + ", ".join(BUCKET_FIELDS))
    return tuple(f for f in BUCKET_FIELDS if f == "x0" or f in asked)


def encode(fields, results):
    """One binary answer: ``results`` are bucket answers (``buckets`` holding ``fields``)
    or error answers, as the JSON routes build them.

    Examples
    --------
    >>> cols = {"x0": np.array([0, 4]), "min": [1.5, None]}
    >>> body = encode(("x0", "min"), [{"model": "m", "series": "s", "level": 2, "width": 4,
    ...               "count_total": 8, "seq": 8, "buckets": cols}])
    >>> head, columns = decode(body)
    >>> head["results"][0]["n"], columns[0]["min"].tolist()
    (2, [1.5, nan])
    """
    heads, parts = [], []
    for r in results:
        if "buckets" not in r:
            heads.append(r)
            continue
        cols = r["buckets"]
        n = len(cols["x0"])
        heads.append({k: v for k, v in r.items() if k != "buckets"} | {"n": n})
        for f in fields:
            col = cols[f]
            if isinstance(col, list):           # a float column with nulls (NaN)
                col = [np.nan if x is None else x for x in col]
            parts.append(np.asarray(col, dtype="<f8").tobytes())
    header = orjson.dumps({"fields": list(fields), "results": heads})
    header += b" " * (-(8 + len(header)) % 8)
    return b"".join([MAGIC, struct.pack("<I", len(header)), header, *parts])


def decode(body):
    """``(header, [{field: ndarray} or None per result])`` of an :func:`encode` answer."""
    if body[:4] != MAGIC:
        raise ValueError("not a PLK1 answer")
    (hlen,) = struct.unpack("<I", body[4:8])
    head = orjson.loads(body[8:8 + hlen])
    pos, out = 8 + hlen, []
    for r in head["results"]:
        if "n" not in r:
            out.append(None)
            continue
        cols = {}
        for f in head["fields"]:
            cols[f] = np.frombuffer(body, "<f8", r["n"], pos)
            pos += 8 * r["n"]
        out.append(cols)
    return head, out
