"""Image helpers for the add-ons: scaling, colour maps, grids and overlays.

Everything here works on numpy arrays and returns ``uint8`` RGB images of
shape ``(H, W, 3)``, the form :meth:`pastalog.Log.image` takes most cheaply.
No plotting library is needed.

The colour maps are piecewise-linear ramps between a few anchor colours:

- ``"heat"``: black, red, yellow, white (activations, saliency);
- ``"diverging"``: blue, white, red (signed values around zero, occlusion);
- ``"gray"``: black to white (inputs).
"""

import numpy as np

__all__ = [
    "COLORMAPS",
    "apply_colormap",
    "blend",
    "hstack",
    "image_grid",
    "normalize",
    "to_display",
    "upscale",
]

# Anchor colours of each map, spread evenly over [0, 1].
COLORMAPS = {
    "gray": [(0, 0, 0), (255, 255, 255)],
    "heat": [(0, 0, 0), (190, 20, 0), (255, 140, 0), (255, 235, 60), (255, 255, 255)],
    "diverging": [(30, 60, 200), (140, 170, 235), (255, 255, 255), (240, 140, 110), (200, 20, 20)],
}


def normalize(values, lo=None, hi=None):
    """Scale an array linearly to [0, 1].

    Parameters
    ----------
    values : array_like
        Any real array.  NaN and infinities become 0.
    lo, hi : float, optional
        The values that map to 0 and 1; by default the array's finite minimum
        and maximum.  Values outside are clipped.

    Returns
    -------
    numpy.ndarray
        A float64 array of the same shape.  A constant array maps to zeros.

    Examples
    --------
    >>> normalize([2.0, 3.0, 4.0]).tolist()
    [0.0, 0.5, 1.0]
    >>> normalize([5.0, 5.0]).tolist()
    [0.0, 0.0]
    """
    a = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(a)
    a = np.where(finite, a, 0.0)
    if lo is None:
        lo = float(a[finite].min()) if finite.any() else 0.0
    if hi is None:
        hi = float(a[finite].max()) if finite.any() else 0.0
    if hi <= lo:
        return np.zeros_like(a)
    return np.clip((a - lo) / (hi - lo), 0.0, 1.0)


def apply_colormap(values, cmap="heat", lo=None, hi=None):
    """Colour a 2-D array with one of :data:`COLORMAPS`.

    Parameters
    ----------
    values : array_like, shape (H, W)
        The values to colour; scaled with :func:`normalize` (``lo``, ``hi``).
    cmap : str
        A key of :data:`COLORMAPS`.
    lo, hi : float, optional
        Passed to :func:`normalize`.

    Returns
    -------
    numpy.ndarray, shape (H, W, 3), uint8

    Examples
    --------
    >>> img = apply_colormap([[0.0, 1.0]], cmap="gray")
    >>> img.shape, img.dtype.name
    ((1, 2, 3), 'uint8')
    >>> img[0, 0].tolist(), img[0, 1].tolist()
    ([0, 0, 0], [255, 255, 255])
    """
    if cmap not in COLORMAPS:
        raise ValueError("cmap must be one of %s, not %r" % (sorted(COLORMAPS), cmap))
    a = np.asarray(values)
    if a.ndim != 2:
        raise ValueError("apply_colormap needs a 2-D array, got shape %r" % (a.shape,))
    t = normalize(a, lo, hi)
    anchors = np.asarray(COLORMAPS[cmap], dtype=np.float64)
    xs = np.linspace(0.0, 1.0, len(anchors))
    rgb = np.stack([np.interp(t, xs, anchors[:, c]) for c in range(3)], axis=-1)
    return np.round(rgb).astype(np.uint8)


def to_display(image, cmap="gray"):
    """Turn one network input into an RGB picture.

    Parameters
    ----------
    image : array_like
        ``(H, W)``, or channels first ``(C, H, W)`` as Lasagne and Theano
        use them.  One channel is drawn with ``cmap``; three channels as RGB
        (each image scaled to [0, 1] as a whole); any other count shows the
        first channel.  A flat vector is drawn as a square when its length
        is a perfect square (784 as 28x28), else as a one-pixel-high strip.
    cmap : str
        Colour map for one-channel images.

    Returns
    -------
    numpy.ndarray, shape (H, W, 3), uint8

    Examples
    --------
    >>> to_display(np.zeros((1, 4, 5))).shape
    (4, 5, 3)
    >>> to_display(np.ones((3, 2, 2))).dtype.name
    'uint8'
    >>> to_display(np.ones(64)).shape, to_display(np.ones(10)).shape
    ((8, 8, 3), (1, 10, 3))
    """
    a = np.asarray(image, dtype=np.float64)
    if a.ndim == 1:
        side = int(round(np.sqrt(a.size)))
        a = a.reshape(side, side) if side * side == a.size else a[None, :]
    if a.ndim == 3 and a.shape[0] == 3:
        return np.round(normalize(a).transpose(1, 2, 0) * 255).astype(np.uint8)
    if a.ndim == 3:
        a = a[0]
    if a.ndim != 2:
        raise ValueError("to_display needs (H, W) or (C, H, W), got shape %r" % (a.shape,))
    return apply_colormap(a, cmap)


def upscale(image, factor):
    """Enlarge an image by an integer factor (nearest neighbour: crisp pixels).

    Parameters
    ----------
    image : numpy.ndarray
        ``(H, W)`` or ``(H, W, C)``.
    factor : int
        At least 1.

    Returns
    -------
    numpy.ndarray
        ``(H * factor, W * factor[, C])``, same dtype.

    Examples
    --------
    >>> upscale(np.array([[1, 2]]), 2).tolist()
    [[1, 1, 2, 2], [1, 1, 2, 2]]
    """
    factor = int(factor)
    if factor < 1:
        raise ValueError("factor must be an integer >= 1, not %r" % (factor,))
    a = np.asarray(image)
    return a.repeat(factor, axis=0).repeat(factor, axis=1)


def blend(base, overlay, alpha=0.5):
    """Mix two RGB images: ``(1 - alpha) * base + alpha * overlay``.

    Parameters
    ----------
    base, overlay : numpy.ndarray, shape (H, W, 3), uint8
    alpha : float or array_like of shape (H, W)
        Weight of ``overlay``, in [0, 1]; an array gives each pixel its own.

    Returns
    -------
    numpy.ndarray, shape (H, W, 3), uint8

    Examples
    --------
    >>> black = np.zeros((1, 2, 3), np.uint8)
    >>> white = np.full((1, 2, 3), 255, np.uint8)
    >>> blend(black, white, 0.5)[0, 0].tolist()
    [128, 128, 128]
    >>> blend(black, white, [[0.0, 1.0]])[0, :, 0].tolist()
    [0, 255]
    """
    b = np.asarray(base, dtype=np.float64)
    o = np.asarray(overlay, dtype=np.float64)
    if b.shape != o.shape:
        raise ValueError("blend needs equal shapes, got %r and %r" % (b.shape, o.shape))
    a = np.asarray(alpha, dtype=np.float64)
    if a.ndim == 2:
        a = a[..., None]
    if not (np.all(a >= 0.0) and np.all(a <= 1.0)):
        raise ValueError("alpha must be in [0, 1], not %r" % (alpha,))
    return np.round((1.0 - a) * b + a * o).astype(np.uint8)


def hstack(images, pad=2, pad_value=255):
    """Put RGB images side by side, top-aligned, with a gap between them.

    Parameters
    ----------
    images : sequence of numpy.ndarray, each (H_i, W_i, 3) uint8
    pad : int
        Gap in pixels.
    pad_value : int
        Colour of the gap and of the fill below shorter images.

    Returns
    -------
    numpy.ndarray, shape (max H_i, sum W_i + gaps, 3), uint8

    Examples
    --------
    >>> a = np.zeros((2, 3, 3), np.uint8)
    >>> hstack([a, a], pad=1).shape
    (2, 7, 3)
    """
    images = [np.asarray(i) for i in images]
    if not images:
        raise ValueError("hstack needs at least one image, got none")
    height = max(i.shape[0] for i in images)
    width = sum(i.shape[1] for i in images) + pad * (len(images) - 1)
    out = np.full((height, width, 3), pad_value, dtype=np.uint8)
    x = 0
    for img in images:
        out[: img.shape[0], x : x + img.shape[1]] = img
        x += img.shape[1] + pad
    return out


def image_grid(images, ncols=None, pad=1, pad_value=255):
    """Tile equally sized RGB images into one grid image.

    Parameters
    ----------
    images : sequence or array of shape (N, H, W, 3), uint8
    ncols : int, optional
        Columns; by default about ``sqrt(N)``.
    pad : int
        Gap between cells, in pixels (also around the border).
    pad_value : int
        Colour of the gaps and of empty cells.

    Returns
    -------
    numpy.ndarray, uint8
        ``(rows * (H + pad) + pad, ncols * (W + pad) + pad, 3)``.

    Examples
    --------
    >>> tiles = np.zeros((5, 4, 4, 3), np.uint8)
    >>> image_grid(tiles, ncols=3, pad=1).shape
    (11, 16, 3)
    """
    tiles = np.asarray(images)
    if tiles.ndim != 4 or tiles.shape[-1] != 3 or len(tiles) == 0:
        raise ValueError(
            "image_grid needs a non-empty (N, H, W, 3) stack, got shape %r" % (tiles.shape,)
        )
    n, h, w, _ = tiles.shape
    if ncols is None:
        ncols = int(np.ceil(np.sqrt(n)))
    ncols = max(1, min(int(ncols), n))
    nrows = int(np.ceil(n / ncols))
    out = np.full(
        (nrows * (h + pad) + pad, ncols * (w + pad) + pad, 3), pad_value, dtype=np.uint8
    )
    for i in range(n):
        r, c = divmod(i, ncols)
        y, x = pad + r * (h + pad), pad + c * (w + pad)
        out[y : y + h, x : x + w] = tiles[i]
    return out
