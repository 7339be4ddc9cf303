"""Request and response helpers every route group uses: JSON answers, bodies, parameters.

Errors a client caused leave through :func:`fail` (an ``HTTPResponse`` with a JSON
``{"error": ...}`` body) or as ``BadRequest``/``InvalidName``, which the errors plugin
turns into a 400.
"""
import json
from typing import Any, NoReturn, Optional

import bottle

from ..errors import BadRequest, PayloadTooLarge
from ..limits import MAX_STEP
from .jsonio import dumps

__all__ = ["batch_id", "fail", "int_param", "json_body", "ok", "param", "read_body",
           "step_param"]


def fail(status: int, message: str) -> NoReturn:
    """Answer ``status`` with ``{"error": message}`` at once."""
    raise bottle.HTTPResponse(dumps({"error": message}), status,
                              {"Content-Type": "application/json"})


def ok(obj: Any, status: int = 200) -> bytes:
    """``obj`` as a JSON answer."""
    bottle.response.content_type = "application/json"
    bottle.response.status = status
    return dumps(obj)


def read_body(max_body: int) -> bytes:
    """The request body, at most ``max_body`` bytes (``PayloadTooLarge`` above)."""
    env = bottle.request.environ
    length = env.get("CONTENT_LENGTH") or ""
    stream = env["wsgi.input"]
    if length:
        try:
            size = int(length)
        except ValueError:
            fail(400, f"Content-Length is not a number: {length[:20]!r}")
        if size > max_body:
            raise PayloadTooLarge(
                f"request body of {size} bytes is over the cap of {max_body} bytes")
        return stream.read(size)
    data = stream.read(max_body + 1)
    if len(data) > max_body:
        raise PayloadTooLarge(f"request body is over the cap of {max_body} bytes")
    return data


def json_body(max_body: int) -> Any:
    """The request body parsed as JSON (NaN and Infinity allowed, as JavaScript writes)."""
    data = read_body(max_body)
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(f"body is not valid JSON: {exc}") from None
    except RecursionError:
        raise BadRequest("body is nested too deeply") from None


def param(name: str, required: bool = True) -> Optional[str]:
    """A text query parameter (400 when ``required`` and missing, or not UTF-8)."""
    value = bottle.request.query.getunicode(name)
    if value is None and bottle.request.query.get(name) is not None:
        fail(400, f"query parameter {name!r} is not UTF-8 text")
    if value is None and required:
        fail(400, f"query parameter {name!r} is required")
    return value


def int_param(name: str, lo: Optional[int] = None,
              hi: Optional[int] = None) -> Optional[int]:
    """An integer query parameter within ``[lo, hi]``, or ``None`` when absent."""
    raw = bottle.request.query.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        fail(400, f"query parameter {name!r} must be an integer, got {raw[:40]!r}")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        fail(400, f"query parameter {name!r} must be within [{lo}, {hi}], got {value}")
    return value


def step_param(name: str) -> Optional[int]:
    """A step query parameter: an integer within ±(2**53 - 1)."""
    value = int_param(name)
    if value is not None and not -MAX_STEP <= value <= MAX_STEP:
        fail(400, f"query parameter {name!r} must be within ±(2**53 - 1), the steps a "
                  f"browser shows exactly; got {value}")
    return value


def batch_id(value: Any) -> Optional[str]:
    """A client's batch id (1 to 128 printable ASCII characters), or ``None``."""
    if value is None:
        return None
    if (not isinstance(value, str) or not 0 < len(value) <= 128
            or not value.isprintable() or not value.isascii()):
        raise BadRequest("'batch' must be a string of 1 to 128 printable ASCII characters")
    return value
