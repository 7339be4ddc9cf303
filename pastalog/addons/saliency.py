"""Saliency maps: where the gradient of a class score w.r.t. the input is big.

Framework-free: give it the input gradients a framework computed.
"""

import numpy as np

from .images import apply_colormap, hstack, image_grid, to_display, upscale

__all__ = ["saliency_grid", "saliency_maps"]


def saliency_maps(gradients):
    """Absolute input gradients, maximum over channels.

    Parameters
    ----------
    gradients : array_like
        ``(N, C, H, W)`` (channels first) or ``(N, H, W)``.

    Returns
    -------
    numpy.ndarray, shape (N, H, W)

    Examples
    --------
    >>> g = np.array([[[[-3.0]], [[2.0]]]])   # one example, two channels
    >>> saliency_maps(g).tolist()
    [[[3.0]]]
    """
    g = np.abs(np.asarray(gradients, dtype=np.float64))
    if g.ndim == 4:
        return g.max(axis=1)
    if g.ndim == 3:
        return g
    raise ValueError("saliency_maps needs (N, C, H, W) or (N, H, W), got shape %r" % (g.shape,))


def saliency_grid(X, maps, max_examples=16, min_size=84, ncols=None):
    """Pairs of (input, saliency map) tiled into one image.

    Each map is scaled to its own maximum and drawn with the ``heat`` colour
    map, right of its input.

    Parameters
    ----------
    X : array_like, (N, C, H, W) or (N, H, W)
        The inputs.
    maps : array_like, (N, H, W)
        From :func:`saliency_maps`.
    max_examples : int
        Show at most this many pairs (the first ones).
    min_size : int
        Enlarge (whole pixels) until each cell is at least this tall.
    ncols : int, optional
        Pairs per grid row.

    Returns
    -------
    numpy.ndarray, uint8, (H', W', 3)

    Examples
    --------
    >>> saliency_grid(np.zeros((3, 1, 8, 8)), np.ones((3, 8, 8)), min_size=8).dtype.name
    'uint8'
    """
    X = np.asarray(X)
    maps = np.asarray(maps, dtype=np.float64)
    if len(X) != len(maps) or len(X) == 0:
        raise ValueError("need as many maps as inputs (and some), got %d and %d" % (len(X), len(maps)))
    n = min(len(X), max(1, int(max_examples)))
    zoom = max(1, -(-int(min_size) // maps.shape[-2]))
    pairs = []
    for i in range(n):
        heat = apply_colormap(maps[i], "heat", lo=0.0)
        pairs.append(hstack([upscale(to_display(X[i]), zoom), upscale(heat, zoom)], pad=1))
    if ncols is None:
        ncols = int(np.ceil(np.sqrt(n)))
    return image_grid(np.stack(pairs), ncols=ncols, pad=4)
