"""A run's config, tags and notes: flattening and the checks the client and server share.

Config values are numbers, strings, booleans, ``None`` or lists of those. A float that
is not finite is kept as the string ``"NaN"``, ``"Infinity"`` or ``"-Infinity"`` (as the
server writes non-finite numbers everywhere). The limits are in :mod:`pastalog.limits`.
Standard library only: the client imports this module.
"""
import math
import re

from .errors import InvalidValue
from .limits import (MAX_CONFIG_KEY, MAX_CONFIG_KEYS, MAX_CONFIG_LIST, MAX_CONFIG_STRING,
                     MAX_NOTES, MAX_TAG, MAX_TAGS)

__all__ = ["check_config", "check_notes", "check_tags", "flatten", "lenient_config"]

# Control characters, line separators and lone surrogates (as in names.py).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def flatten(data, prefix=""):
    """Nested dicts as one level, keys joined with ``/`` (``optimizer/lr``).

    Examples
    --------
    >>> flatten({"optimizer": {"lr": 0.1, "betas": [0.9, 0.99]}, "epochs": 3})
    {'optimizer/lr': 0.1, 'optimizer/betas': [0.9, 0.99], 'epochs': 3}
    """
    out = {}
    for key, value in data.items():
        name = f"{prefix}/{key}" if prefix else str(key)
        if isinstance(value, dict):
            out.update(flatten(value, name))
        else:
            out[name] = value
    return out


def _scalar(value, key, error):
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if -2**63 <= value < 2**63:
            return value
        raise error(f"config {key!r}: the integer {str(value)[:40]} is outside int64")
    if isinstance(value, str):
        if len(value) > MAX_CONFIG_STRING:
            raise error(f"config {key!r}: a string of {len(value):,} characters is over "
                        f"the limit of {MAX_CONFIG_STRING:,}")
        if _SURROGATE.search(value):
            raise error(f"config {key!r}: the string holds a lone surrogate, which UTF-8 "
                        "cannot carry")
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    item = getattr(value, "item", None)         # numpy scalars
    if item is not None and not isinstance(value, (list, tuple)):
        try:
            got = item()
        except (ValueError, TypeError, RuntimeError):
            got = value
        if got is not value and isinstance(got, (bool, int, float, str)):
            return _scalar(got, key, error)
    raise error(f"config {key!r}: {type(value).__name__} {str(value)[:40]!r} is not a "
                "number, string, boolean, None or a list of those")


def check_config(config, error=InvalidValue, flat=False):
    """Return ``config`` flattened and checked, or raise ``error`` naming the key.

    Parameters
    ----------
    config : dict
        Nested dicts are flattened with ``/`` (unless ``flat``: then values may not be
        dicts).
    error : exception class
        What to raise (the client raises ``InvalidValue``, the server ``BadRequest``).
    flat : bool
        The keys are already flat (the server's side).

    Returns
    -------
    dict

    Examples
    --------
    >>> check_config({"opt": {"lr": 0.1}, "layers": [64, 64], "x": float("nan")})
    {'opt/lr': 0.1, 'layers': [64, 64], 'x': 'NaN'}
    >>> check_config({"f": open})
    Traceback (most recent call last):
    ...
    pastalog.errors.InvalidValue: config 'f': builtin_function_or_method '<built-in function open>' is not a number, string, boolean, None or a list of those
    """
    if not isinstance(config, dict):
        raise error(f"config must be a dict, got {type(config).__name__}")
    if not flat:
        config = flatten(config)
    if len(config) > MAX_CONFIG_KEYS:
        raise error(f"config has {len(config):,} keys, over the limit of "
                    f"{MAX_CONFIG_KEYS:,} per run")
    out = {}
    for key, value in config.items():
        if not isinstance(key, str) or not key:
            raise error(f"config keys must be non-empty strings, got {key!r}")
        if len(key) > MAX_CONFIG_KEY:
            raise error(f"config key {key[:40]!r}... has {len(key)} characters, over the "
                        f"limit of {MAX_CONFIG_KEY}")
        bad = _CONTROL.search(key)
        if bad:
            raise error(f"config key {key!r} holds the control character {bad.group()!r}")
        if isinstance(value, (list, tuple)):
            if len(value) > MAX_CONFIG_LIST:
                raise error(f"config {key!r}: a list of {len(value):,} items is over the "
                            f"limit of {MAX_CONFIG_LIST:,}")
            out[key] = [_scalar(v, key, error) for v in value]
        elif isinstance(value, dict):
            raise error(f"config {key!r}: a dict value (keys are flat here)")
        else:
            out[key] = _scalar(value, key, error)
    return out


def lenient_config(config, limit=MAX_CONFIG_KEYS):
    """``config`` flattened into what :func:`check_config` accepts, for the callbacks.

    A framework's hyperparameters may hold anything (a class, a device, an enum): a
    value that is not a number, string, boolean or None becomes its ``repr`` (cut to
    ``MAX_CONFIG_STRING``), long lists are cut, over-long keys and keys past ``limit``
    are left out. Training never fails because of its config.

    Examples
    --------
    >>> lenient_config({"act": max, "opt": {"lr": 1e-3}, "x": ["a", None]})
    {'act': '<built-in function max>', 'opt/lr': 0.001, 'x': ['a', None]}
    """
    out = {}
    for key, value in flatten(dict(config)).items():
        if len(out) >= limit:
            break
        if not key or len(key) > MAX_CONFIG_KEY or _CONTROL.search(key):
            continue
        if isinstance(value, (list, tuple)):
            value = [_lenient(v) for v in value[:MAX_CONFIG_LIST]]
        else:
            value = _lenient(value)
        out[key] = value
    return out


def _lenient(value):
    try:
        return _scalar(value, "", InvalidValue)
    except InvalidValue:
        text = repr(value) if not isinstance(value, str) else value
        return _SURROGATE.sub("\ufffd", text)[:MAX_CONFIG_STRING]


def check_tags(tags, error=InvalidValue):
    """Return ``tags`` as a list of unique strings, checked, or raise ``error``.

    Examples
    --------
    >>> check_tags(["baseline", "<b>bold</b>", "baseline"])
    ['baseline', '<b>bold</b>']
    >>> check_tags(["a\\nb"])
    Traceback (most recent call last):
    ...
    pastalog.errors.InvalidValue: tag 'a\\nb' holds the control character '\\n'
    """
    if isinstance(tags, str) or not isinstance(tags, (list, tuple, set, frozenset)):
        raise error(f"tags must be a list of strings, got {type(tags).__name__} "
                    f"{str(tags)[:40]!r}")
    out = []
    for tag in tags:
        if not isinstance(tag, str) or not 0 < len(tag) <= MAX_TAG:
            raise error(f"each tag must be a string of 1 to {MAX_TAG} characters, got "
                        f"{str(tag)[:40]!r}")
        bad = _CONTROL.search(tag)
        if bad:
            raise error(f"tag {tag!r} holds the control character {bad.group()!r}")
        if tag not in out:
            out.append(tag)
    if len(out) > MAX_TAGS:
        raise error(f"{len(out)} tags is over the limit of {MAX_TAGS} per run")
    return out


def check_notes(notes, error=InvalidValue):
    """Return ``notes`` if it is a string within the limit, else raise ``error``.

    Examples
    --------
    >>> check_notes("lr warm-up <i>on</i>")
    'lr warm-up <i>on</i>'
    """
    if not isinstance(notes, str):
        raise error(f"notes must be a string, got {type(notes).__name__}")
    if len(notes) > MAX_NOTES:
        raise error(f"notes of {len(notes):,} characters are over the limit of "
                    f"{MAX_NOTES:,}")
    if _SURROGATE.search(notes):
        raise error("notes hold a lone surrogate, which UTF-8 cannot carry")
    return notes
