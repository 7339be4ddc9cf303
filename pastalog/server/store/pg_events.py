"""What a PostgreSQL store tells the other servers: ``NOTIFY`` payloads on one channel.

A payload says *what changed*, never the data (PostgreSQL caps a payload at 8,000
bytes): ``{"o": origin, "p": [[model, series, seq_before, seq_after], ...]}`` for
points, ``{"o": origin, "i": [model, name, step, time, sha, width, height]}`` for an
image, ``{"o": origin, "r": [model, ...]}`` for run records, ``{"o": origin, "h": [id,
...]}`` for histogram records. ``origin`` names the store object (one per server)
that wrote, so a server skips its own changes, which its hub has already published.
A write notifies inside its transaction: the notification is delivered when, and only
if, it commits.

Examples
--------
>>> sizes = [len(p) for p in point_payloads("a1", [("m" * 256, "s", 0, 5)] * 90)]
>>> len(sizes), max(sizes) <= MAX_PAYLOAD
(4, True)
>>> decode(point_payloads("a1", [("m", "s", 0, 5)])[0])
{'o': 'a1', 'p': [['m', 's', 0, 5]]}
"""
import json

__all__ = ["CHANNEL", "MAX_PAYLOAD", "decode", "histogram_payloads", "image_payload",
           "point_payloads", "run_payload"]

CHANNEL = "pastalog_changes"
#: Bytes of one payload at most (PostgreSQL's limit is 8,000, less some room).
MAX_PAYLOAD = 7900


def point_payloads(origin, changes):
    """Payloads (bytes, each at most ``MAX_PAYLOAD``) for ``(model, series, before, after)``
    changes; a model and series name are 256 characters at most, so each fits."""
    out, part, size = [], [], 0
    head = len(json.dumps({"o": origin, "p": []}).encode())
    for change in changes:
        text = json.dumps(list(change), ensure_ascii=False).encode()
        if part and head + size + len(text) + 1 > MAX_PAYLOAD:
            out.append(_encode(origin, part))
            part, size = [], 0
        part.append(list(change))
        size += len(text) + 1
    if part:
        out.append(_encode(origin, part))
    return out


def _encode(origin, part):
    return json.dumps({"o": origin, "p": part}, ensure_ascii=False,
                      separators=(",", ":")).encode()


def image_payload(origin, record):
    """The payload for one stored image (its record as ``write_image`` returns it)."""
    return json.dumps({"o": origin, "i": [record[k] for k in (
        "model", "name", "step", "time", "sha", "width", "height")]},
        ensure_ascii=False, separators=(",", ":")).encode()


def histogram_payloads(origin, ids):
    """Payloads for stored histogram records: their ids (``{"o", "h": [id, ...]}``, at
    most ``MAX_PAYLOAD`` bytes each); a record itself (up to 10,000 bins) would not fit,
    so the listener reads it.

    Examples
    --------
    >>> sizes = [len(p) for p in histogram_payloads("a1", range(10**6, 10**6 + 2000))]
    >>> len(sizes), max(sizes) <= MAX_PAYLOAD
    (3, True)
    """
    out, part, size = [], [], len(origin) + 20
    for rid in ids:
        text = str(int(rid))
        if part and size + len(text) + 1 > MAX_PAYLOAD:
            out.append(json.dumps({"o": origin, "h": part}, separators=(",", ":")).encode())
            part, size = [], len(origin) + 20
        part.append(int(rid))
        size += len(text) + 1
    if part:
        out.append(json.dumps({"o": origin, "h": part}, separators=(",", ":")).encode())
    return out


def run_payload(origin, models):
    """The payload for run records of ``models`` (names; as many as fit, the rest
    dropped: a page re-reads runs when it reconnects)."""
    out, size = [], 40
    for model in models:
        size += len(json.dumps(model, ensure_ascii=False).encode()) + 1
        if size > MAX_PAYLOAD:
            break
        out.append(model)
    return json.dumps({"o": origin, "r": out}, ensure_ascii=False,
                      separators=(",", ":")).encode()


def decode(payload):
    """A payload back as a dict (``ValueError`` for one that is not ours)."""
    doc = json.loads(payload)
    if not isinstance(doc, dict) or "o" not in doc:
        raise ValueError(f"not a pastalog change: {payload[:80]!r}")
    return doc
