"""Turning what a user logs as an image into PNG bytes (no Pillow needed for arrays)."""
import io
import os
import struct
import zlib

from .errors import InvalidValue
from .limits import PNG_SIGNATURE

__all__ = ["encode_png", "to_png"]

_COLOR_TYPES = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> PNG colour type


def _chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def encode_png(pixels):
    """Encode a uint8 array of shape (H, W) or (H, W, C), C in 1-4, as PNG bytes.

    Examples
    --------
    >>> import numpy as np
    >>> encode_png(np.zeros((2, 3), np.uint8))[:8] == PNG_SIGNATURE
    True
    """
    import numpy as np

    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    height, width, channels = pixels.shape
    rows = np.empty((height, width * channels + 1), dtype=np.uint8)
    rows[:, 0] = 0  # filter type "none" on every row
    rows[:, 1:] = pixels.reshape(height, width * channels)
    header = struct.pack(">IIBBBBB", width, height, 8, _COLOR_TYPES[channels], 0, 0, 0)
    return b"".join([PNG_SIGNATURE, _chunk(b"IHDR", header),
                     _chunk(b"IDAT", zlib.compress(rows.tobytes(), 6)), _chunk(b"IEND", b"")])


def _array_to_png(img):
    import numpy as np

    arr = np.asarray(img)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise InvalidValue(
            f"an image array must be HxW, HxWx3 or HxWx4, got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise InvalidValue(f"an image array must not be empty, got shape {arr.shape}")
    if arr.dtype == np.uint8:
        pixels = arr
    elif arr.dtype == np.bool_:
        pixels = arr.astype(np.uint8) * 255
    elif arr.dtype.kind in "iu":
        if arr.min() < 0 or arr.max() > 255:
            raise InvalidValue(
                f"integer image values must be within 0..255, got {arr.min()}..{arr.max()}; "
                "pass uint8, or floats in [0, 1]")
        pixels = arr.astype(np.uint8)
    elif arr.dtype.kind == "f":
        pixels = (np.clip(np.nan_to_num(arr, nan=0.0), 0.0, 1.0) * 255 + 0.5).astype(np.uint8)
    else:
        raise InvalidValue(f"image array dtype must be uint8 or float, got {arr.dtype}")
    return encode_png(np.ascontiguousarray(pixels))


def to_png(img):
    """Return PNG bytes for an image given in any of the forms ``Log.image`` accepts.

    Parameters
    ----------
    img : ndarray, PIL.Image.Image, matplotlib.figure.Figure, bytes or path
        Arrays are HxW, HxWx3 or HxWx4, uint8 or float in [0, 1].

    Returns
    -------
    bytes
    """
    if isinstance(img, (bytes, bytearray, memoryview)):
        data = bytes(img)
        if not data.startswith(PNG_SIGNATURE):
            raise InvalidValue("image bytes must be a PNG file (they lack the PNG signature)")
        return data
    if isinstance(img, (str, os.PathLike)):
        # Read now, on the caller's thread: the file may change or go once we return.
        try:
            with open(img, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            raise InvalidValue(f"cannot read image file {os.fspath(img)!r}: {exc.strerror}") from exc
        if data.startswith(PNG_SIGNATURE):
            return data
        return _pillow_to_png(_open_with_pillow(data, img))
    if hasattr(img, "savefig"):  # a matplotlib Figure
        buf = io.BytesIO()
        img.savefig(buf, format="png")
        return buf.getvalue()
    if hasattr(img, "save") and hasattr(img, "mode"):  # a PIL image
        return _pillow_to_png(img)
    if hasattr(img, "__array__") or hasattr(img, "shape"):
        return _array_to_png(img)
    raise InvalidValue(
        f"cannot log a {type(img).__name__} as an image: pass a numpy array, a PIL image, "
        "a matplotlib Figure, PNG bytes or a path")


def _open_with_pillow(data, path):
    try:
        from PIL import Image
    except ImportError:
        raise InvalidValue(f"{os.fspath(path)!r} is not a PNG; converting other formats needs "
                           "Pillow: pip install 'pastalog[images]'") from None
    try:
        return Image.open(io.BytesIO(data))
    except OSError as exc:
        raise InvalidValue(f"{os.fspath(path)!r} is not an image Pillow can read: {exc}") from exc


def _pillow_to_png(image):
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()
