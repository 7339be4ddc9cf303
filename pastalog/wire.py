"""The batch format of ``POST /api/v1/points`` (``application/vnd.pastalog.batch``).

::

    b"PLB1" | uint32 LE header length H | H bytes of UTF-8 JSON header
    then, for each series in the header, n int64 steps, n float64 values,
    n float64 unix times (all little-endian)

The header is ``{"batch": "<id>", "series": [["model", "name", n], ...]}``.

Histograms (``POST /api/v1/histograms``) use the same framing with the header
``{"batch": "<id>", "histograms": [[model, name, step, time, nbins, count, min, max,
sum, sumsq, nan, posinf, neginf], ...]}`` (``null`` for a NaN ``min``/``max``, or a
``step``/``time`` to be given by the server), followed for each histogram by
``nbins + 1`` float64 edges and ``nbins`` float64 counts (``nbins`` 0: no arrays).
Standard library only: the client imports this module.
"""
import json
import struct
import sys
from array import array

__all__ = ["CONTENT_TYPE", "HISTOGRAM_FIELDS", "MAGIC", "decode_batch", "decode_histograms",
           "encode_batch", "encode_histograms"]

MAGIC = b"PLB1"
CONTENT_TYPE = "application/vnd.pastalog.batch"
_LITTLE = sys.byteorder == "little"


def _le_bytes(arr):
    if not _LITTLE:  # pragma: no cover - big-endian hosts
        arr = array(arr.typecode, arr)
        arr.byteswap()
    return arr.tobytes()


def encode_batch(batch_id, series):
    """Encode series into one request body.

    Parameters
    ----------
    batch_id : str
        An id unique to this batch; the server ignores a batch it has stored before.
    series : list of (model, name, steps, values, times)
        ``steps`` an ``array('q')``, ``values`` and ``times`` ``array('d')`` (or lists).

    Returns
    -------
    bytes

    Examples
    --------
    >>> body = encode_batch("b1", [("m", "loss", [0, 1], [2.5, 2.0], [1.0, 2.0])])
    >>> decode_batch(body)[1][0][:2]
    ('m', 'loss')
    """
    head = []
    parts = []
    for model, name, steps, values, times in series:
        n = len(steps)
        if len(values) != n or len(times) != n:
            raise ValueError(f"series {name!r}: steps, values and times differ in length")
        head.append([model, name, n])
        parts.append(_le_bytes(steps if isinstance(steps, array) else array("q", steps)))
        parts.append(_le_bytes(values if isinstance(values, array) else array("d", values)))
        parts.append(_le_bytes(times if isinstance(times, array) else array("d", times)))
    header = json.dumps({"batch": batch_id, "series": head}, ensure_ascii=False).encode()
    return b"".join([MAGIC, struct.pack("<I", len(header)), header, *parts])


def _read_header(body, key):
    """``(view, header, batch id, offset of the arrays)`` of a PLB1 body whose header
    has a ``key`` list."""
    view = memoryview(body)
    if len(view) < 8 or bytes(view[:4]) != MAGIC:
        raise ValueError("body does not start with the PLB1 magic")
    (hlen,) = struct.unpack("<I", view[4:8])
    if 8 + hlen > len(view):
        raise ValueError(f"header length {hlen} runs past the end of the body")
    try:
        header = json.loads(bytes(view[8 : 8 + hlen]).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"header is not UTF-8 JSON: {exc}") from exc
    except RecursionError:
        raise ValueError("header is nested too deeply") from None
    if not isinstance(header, dict) or not isinstance(header.get(key), list):
        raise ValueError(f"header must be an object with a {key!r} list")
    batch_id = header.get("batch")
    if batch_id is not None and not isinstance(batch_id, str):
        raise ValueError("header 'batch' must be a string")
    return view, header, batch_id, 8 + hlen


def decode_batch(body):
    """Decode a body made by :func:`encode_batch`.

    Returns
    -------
    (batch_id, [(model, name, steps_bytes, values_bytes, times_bytes), ...])
        The arrays stay as little-endian ``bytes`` (or memoryview slices) so that
        the server can map them without copying.

    Raises
    ------
    ValueError
        When the body is truncated, too long or its header is not as described.
    """
    view, header, batch_id, pos = _read_header(body, "series")
    out = []
    for i, entry in enumerate(header["series"]):
        if (
            not isinstance(entry, list)
            or len(entry) != 3
            or not isinstance(entry[2], int)
            or isinstance(entry[2], bool)
            or entry[2] < 0
        ):
            raise ValueError(f"header series[{i}] must be [model, name, count]")
        model, name, n = entry
        end = pos + 24 * n
        if end > len(view):
            raise ValueError(f"series[{i}] ({name!r}) runs past the end of the body")
        out.append((model, name, view[pos : pos + 8 * n], view[pos + 8 * n : pos + 16 * n],
                    view[pos + 16 * n : end]))
        pos = end
    if pos != len(view):
        raise ValueError(f"{len(view) - pos} bytes after the last series")
    return batch_id, out


#: The statistics of a histogram record, in the order of its header entry.
HISTOGRAM_FIELDS = ("count", "min", "max", "sum", "sumsq", "nan", "posinf", "neginf")


def _json_float(x):
    return None if x != x else x


def encode_histograms(batch_id, records):
    """Encode histogram records into one ``POST /api/v1/histograms`` body.

    Parameters
    ----------
    batch_id : str
    records : list of dict
        ``model``, ``name``, ``step``, ``time``, ``edges``, ``counts`` (sequences of
        float; an ``array('d')`` or a float64 numpy array is taken as is) and the
        statistics of ``HISTOGRAM_FIELDS``.

    Returns
    -------
    bytes

    Examples
    --------
    >>> rec = {"model": "m", "name": "w", "step": 3, "time": 1.0, "edges": [0.0, 0.5, 1.0],
    ...        "counts": [1.0, 1.0], "count": 2, "min": 0.0, "max": 1.0, "sum": 1.0,
    ...        "sumsq": 1.0, "nan": 0, "posinf": 0, "neginf": 0}
    >>> out = decode_histograms(encode_histograms("b1", [rec]))[1][0]
    >>> out["step"], out["counts"].tolist()
    (3, [1.0, 1.0])
    """
    head, parts = [], []
    for rec in records:
        nbins = len(rec["counts"])
        head.append([rec["model"], rec["name"], rec["step"], rec["time"], nbins]
                    + [_json_float(rec[k]) for k in HISTOGRAM_FIELDS])
        if nbins:
            for key in ("edges", "counts"):
                arr = rec[key]
                parts.append(_le_bytes(arr) if isinstance(arr, array)
                             else _le_bytes(array("d", arr)) if isinstance(arr, list)
                             else arr.astype("<f8").tobytes())
    header = json.dumps({"batch": batch_id, "histograms": head}, ensure_ascii=False,
                        allow_nan=False).encode()
    return b"".join([MAGIC, struct.pack("<I", len(header)), header, *parts])


def decode_histograms(body):
    """Decode a body made by :func:`encode_histograms`.

    Returns
    -------
    (batch_id, [dict, ...])
        Records as :func:`encode_histograms` takes them, ``edges`` and ``counts`` as
        ``array('d')``, the rest as sent (the server checks them).

    Raises
    ------
    ValueError
        When the body is truncated, too long or its header is not as described.
    """
    view, header, batch_id, pos = _read_header(body, "histograms")
    out = []
    for i, entry in enumerate(header["histograms"]):
        if not isinstance(entry, list) or len(entry) != 5 + len(HISTOGRAM_FIELDS):
            raise ValueError(f"header histograms[{i}] must be [model, name, step, time, "
                             f"nbins, {', '.join(HISTOGRAM_FIELDS)}]")
        nbins = entry[4]
        if not isinstance(nbins, int) or isinstance(nbins, bool) or nbins < 0:
            raise ValueError(f"header histograms[{i}]: nbins must be a whole number, "
                             f"got {nbins!r}")
        end = pos + (16 * nbins + 8 if nbins else 0)
        if end > len(view):
            raise ValueError(f"histograms[{i}] ({entry[1]!r}) runs past the end of the body")
        edges, counts = array("d"), array("d")
        if nbins:
            edges.frombytes(view[pos : pos + 8 * nbins + 8])
            counts.frombytes(view[pos + 8 * nbins + 8 : end])
        if not _LITTLE:  # pragma: no cover - big-endian hosts
            edges.byteswap()
            counts.byteswap()
        rec = dict(zip(("model", "name", "step", "time"), entry[:4]))
        rec.update(zip(HISTOGRAM_FIELDS, entry[5:]))
        rec["edges"], rec["counts"] = edges, counts
        out.append(rec)
        pos = end
    if pos != len(view):
        raise ValueError(f"{len(view) - pos} bytes after the last histogram")
    return batch_id, out
