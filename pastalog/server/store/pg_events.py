"""What a PostgreSQL store tells the other servers: ``NOTIFY`` payloads on one channel.

A payload says *what changed*, never the data (PostgreSQL caps a payload at 8,000
bytes): ``{"o": origin, "p": [[model, series, seq_before, seq_after], ...]}`` for
points, ``{"o": origin, "i": [model, name, step, time, sha, width, height]}`` for an
image, ``{"o": origin, "h": id}`` for a histogram record. ``origin`` names the store
object (one per server) that wrote, so a server skips its own changes, which its hub has already published. A write notifies inside
its transaction: the notification is delivered when, and only if, it commits.

Examples
--------
>>> sizes = [len(p) for p in point_payloads("a1", [("m" * 256, "s", 0, 5)] * 90)]
>>> len(sizes), max(sizes) <= MAX_PAYLOAD
(4, True)
>>> decode(point_payloads("a1", [("m", "s", 0, 5)])[0])
{'o': 'a1', 'p': [['m', 's', 0, 5]]}
"""
import json

__all__ = ["CHANNEL", "MAX_PAYLOAD", "decode", "histogram_payload", "image_payload",
           "point_payloads"]

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


def histogram_payload(origin, rid):
    """The payload for one stored histogram record: its id (``{"o", "h": id}``); the
    record itself (up to 10,000 bins) would not fit, so the listener reads it."""
    return json.dumps({"o": origin, "h": int(rid)}, separators=(",", ":")).encode()


def decode(payload):
    """A payload back as a dict (``ValueError`` for one that is not ours)."""
    doc = json.loads(payload)
    if not isinstance(doc, dict) or "o" not in doc:
        raise ValueError(f"not a pastalog change: {payload[:80]!r}")
    return doc
