"""Packing a chunk of points into compact, exact bytes.

Steps (int64) and wall times (float64 bit patterns) are delta-encoded; every
column is byte-shuffled (all first bytes, then all second bytes, ...). Steps and
times are zlib-compressed whole; values only in their three high byte planes (sign,
exponent, top of the mantissa), since deflating the noisy low planes of real
curves costs twenty times the time for a few percent. Lossless: NaN payloads, infinities and -0.0 come back bit for bit.
A training curve costs 8.7 to 11.1 bytes a point on disk (benchmarks/RESULTS.md (e)).
"""
import struct
import zlib

import numpy as np

__all__ = ["decode_floats", "decode_steps", "encode_floats", "encode_steps",
           "encode_times", "decode_times"]

_LEVEL = 1  # zlib level 1: most of the gain at a fraction of the time


def _shuffle(arr8):
    return zlib.compress(np.ascontiguousarray(arr8.view(np.uint8).reshape(-1, 8).T).tobytes(),
                         _LEVEL)


def _unshuffle(blob, dtype):
    raw = np.frombuffer(zlib.decompress(blob), dtype=np.uint8)
    return np.ascontiguousarray(raw.reshape(8, -1).T).view(dtype).reshape(-1)


def _delta(ints):
    out = np.empty_like(ints)
    if len(ints):
        out[0] = ints[0]
        np.subtract(ints[1:], ints[:-1], out=out[1:])
    return out


def encode_steps(steps):
    """Pack int64 steps (delta, shuffle, zlib)."""
    return _shuffle(_delta(np.asarray(steps, dtype="<i8")))


def decode_steps(blob):
    """Unpack what :func:`encode_steps` packed."""
    return np.cumsum(_unshuffle(blob, "<i8"), dtype=np.int64)


_HIGH_PLANES = 3


def encode_floats(values):
    """Pack float64 values: shuffle; zlib on the high byte planes, low ones raw."""
    planes = np.ascontiguousarray(
        np.asarray(values, dtype="<f8").view(np.uint8).reshape(-1, 8).T)
    high = zlib.compress(planes[8 - _HIGH_PLANES:].tobytes(), _LEVEL)
    return struct.pack("<I", len(high)) + high + planes[: 8 - _HIGH_PLANES].tobytes()


def decode_floats(blob):
    """Unpack what :func:`encode_floats` packed."""
    (hlen,) = struct.unpack_from("<I", blob)
    high = zlib.decompress(blob[4 : 4 + hlen])
    planes = np.frombuffer(bytes(blob[4 + hlen :]) + high, dtype=np.uint8)
    return np.ascontiguousarray(planes.reshape(8, -1).T).view("<f8").reshape(-1).astype(
        np.float64, copy=False)


def encode_times(times):
    """Pack float64 wall times exactly: delta of their bit patterns, shuffle, zlib."""
    return encode_steps(np.asarray(times, dtype="<f8").view("<i8"))


def decode_times(blob):
    """Unpack what :func:`encode_times` packed."""
    return decode_steps(blob).view(np.float64)
