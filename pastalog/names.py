"""The naming rule shared by the client and the server.

Names (model, series, image) are any non-empty Unicode text of at most 256
characters without control characters. ``/`` in a series name groups it.
"""
import re

from .errors import InvalidName

__all__ = ["MAX_NAME_LENGTH", "check_name"]

MAX_NAME_LENGTH = 256
# Control characters, line separators, and lone surrogates (not encodable as UTF-8).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def check_name(name, what="series name"):
    """Return ``name`` if it is a valid name, else raise ``InvalidName``.

    Parameters
    ----------
    name : str
        The candidate name.
    what : str
        What the name is for (``"model name"``, ``"series name"``), for the message.

    Returns
    -------
    str
        The same name.

    Examples
    --------
    >>> check_name("conv1/mean")
    'conv1/mean'
    >>> check_name("")
    Traceback (most recent call last):
    ...
    pastalog.errors.InvalidName: series name must be a non-empty string, got ''
    """
    if not isinstance(name, str) or not name:
        raise InvalidName(f"{what} must be a non-empty string, got {name!r}")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidName(
            f"{what} must be at most {MAX_NAME_LENGTH} characters, got {len(name)}: "
            f"{name[:40]!r}..."
        )
    bad = _CONTROL.search(name)
    if bad:
        raise InvalidName(
            f"{what} must not contain control characters, got {bad.group()!r} in {name!r}"
        )
    return name
