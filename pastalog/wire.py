"""The batch format of ``POST /api/v1/points`` (``application/vnd.pastalog.batch``).

::

    b"PLB1" | uint32 LE header length H | H bytes of UTF-8 JSON header
    then, for each series in the header, n int64 steps, n float64 values,
    n float64 unix times (all little-endian)

The header is ``{"batch": "<id>", "series": [["model", "name", n], ...]}``. A client
that logs runs adds ``"session": "<id>"`` (its ``Log``'s session) and marks a series
whose steps are that session's implicit counters ``["model", "name", n, 1]``: the
server then continues the series after its stored last step (docs/API.md, Runs).
Standard library only: the client imports this module.
"""
import json
import struct
import sys
from array import array

__all__ = ["CONTENT_TYPE", "MAGIC", "decode_batch", "encode_batch", "strip_session"]

MAGIC = b"PLB1"
CONTENT_TYPE = "application/vnd.pastalog.batch"
_LITTLE = sys.byteorder == "little"


def _le_bytes(arr):
    if not _LITTLE:  # pragma: no cover - big-endian hosts
        arr = array(arr.typecode, arr)
        arr.byteswap()
    return arr.tobytes()


def encode_batch(batch_id, series, session=None):
    """Encode series into one request body.

    Parameters
    ----------
    batch_id : str
        An id unique to this batch; the server ignores a batch it has stored before.
    series : list of (model, name, steps, values, times[, relative])
        ``steps`` an ``array('q')``, ``values`` and ``times`` ``array('d')`` (or lists);
        ``relative`` true: the steps are ``session``'s implicit counters.
    session : str, optional
        The client session the relative series belong to.

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
    for model, name, steps, values, times, *relative in series:
        n = len(steps)
        if len(values) != n or len(times) != n:
            raise ValueError(f"series {name!r}: steps, values and times differ in length")
        head.append([model, name, n, 1] if session is not None and relative and relative[0]
                    else [model, name, n])
        parts.append(_le_bytes(steps if isinstance(steps, array) else array("q", steps)))
        parts.append(_le_bytes(values if isinstance(values, array) else array("d", values)))
        parts.append(_le_bytes(times if isinstance(times, array) else array("d", times)))
    doc = {"batch": batch_id, "series": head}
    if session is not None:
        doc["session"] = session
    header = json.dumps(doc, ensure_ascii=False).encode()
    return b"".join([MAGIC, struct.pack("<I", len(header)), header, *parts])


def strip_session(body):
    """The same batch without its session and relative marks (for a server older than
    runs), or ``None`` when it has none.

    Examples
    --------
    >>> body = encode_batch("b", [("m", "s", [0], [1.0], [1.0], True)], session="x")
    >>> decode_batch(strip_session(body), with_session=True)[:2]
    ('b', None)
    """
    view = memoryview(body)
    (hlen,) = struct.unpack("<I", view[4:8])
    header = json.loads(bytes(view[8:8 + hlen]).decode("utf-8"))
    if "session" not in header:
        return None
    del header["session"]
    header["series"] = [entry[:3] for entry in header["series"]]
    head = json.dumps(header, ensure_ascii=False).encode()
    return b"".join([MAGIC, struct.pack("<I", len(head)), head, bytes(view[8 + hlen:])])


def decode_batch(body, with_session=False):
    """Decode a body made by :func:`encode_batch`.

    Returns
    -------
    (batch_id, [(model, name, steps_bytes, values_bytes, times_bytes), ...])
        The arrays stay as little-endian ``bytes`` (or memoryview slices) so that
        the server can map them without copying. With ``with_session``:
        ``(batch_id, session, [(model, name, steps, values, times, relative), ...])``.

    Raises
    ------
    ValueError
        When the body is truncated, too long or its header is not as described.
    """
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
    if not isinstance(header, dict) or not isinstance(header.get("series"), list):
        raise ValueError("header must be an object with a 'series' list")
    batch_id = header.get("batch")
    if batch_id is not None and not isinstance(batch_id, str):
        raise ValueError("header 'batch' must be a string")
    session = header.get("session")
    if session is not None and (not isinstance(session, str)
                                or not 0 < len(session) <= 64 or not session.isprintable()):
        raise ValueError("header 'session' must be a string of 1 to 64 printable characters")
    pos = 8 + hlen
    out = []
    for i, entry in enumerate(header["series"]):
        if (
            not isinstance(entry, list)
            or len(entry) not in (3, 4)
            or not isinstance(entry[2], int)
            or isinstance(entry[2], bool)
            or entry[2] < 0
            or len(entry) == 4 and entry[3] not in (0, 1)
        ):
            raise ValueError(f"header series[{i}] must be [model, name, count] or "
                             "[model, name, count, 0 or 1]")
        model, name, n = entry[:3]
        relative = len(entry) == 4 and entry[3] == 1 and entry[3] is not True
        end = pos + 24 * n
        if end > len(view):
            raise ValueError(f"series[{i}] ({name!r}) runs past the end of the body")
        piece = (model, name, view[pos : pos + 8 * n], view[pos + 8 * n : pos + 16 * n],
                 view[pos + 16 * n : end])
        out.append((*piece, relative) if with_session else piece)
        pos = end
    if pos != len(view):
        raise ValueError(f"{len(view) - pos} bytes after the last series")
    return (batch_id, session, out) if with_session else (batch_id, out)
