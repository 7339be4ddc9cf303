"""Layer activations: statistics, feature-map grids and unit heat strips.

Framework-free: give it the numpy arrays a layer produced for a batch.
"""

import numpy as np

from .images import apply_colormap, image_grid, upscale

__all__ = [
    "STAT_NAMES",
    "activation_image",
    "activation_stats",
    "feature_map_grid",
    "layer_label",
    "unit_heat_strip",
]

#: The statistics :func:`activation_stats` returns, in order.
STAT_NAMES = ("mean", "std", "min", "max", "zero_fraction")


def activation_stats(activations):
    """Summary statistics of one layer's output over a batch.

    Parameters
    ----------
    activations : array_like
        Any shape, usually ``(batch, ...)``.

    Returns
    -------
    dict
        ``mean``, ``std``, ``min``, ``max`` and ``zero_fraction`` (the share
        of exact zeros: a high value after a ReLU means dead units), as
        Python floats.

    Examples
    --------
    >>> s = activation_stats([[0.0, 1.0], [0.0, 3.0]])
    >>> s["mean"], s["max"], s["zero_fraction"]
    (1.0, 3.0, 0.5)
    """
    a = np.asarray(activations, dtype=np.float64)
    if a.size == 0:
        raise ValueError("activation_stats needs a non-empty array, got shape %r" % (a.shape,))
    return {
        "mean": float(a.mean()),
        "std": float(a.std()),
        "min": float(a.min()),
        "max": float(a.max()),
        "zero_fraction": float(np.count_nonzero(a == 0) / a.size),
    }


def layer_label(layer, index):
    """The name a layer's series and images are logged under.

    Parameters
    ----------
    layer : object
        A layer of any framework; its ``name`` attribute is used when set.
    index : int
        The layer's position in its network, used with the class name
        otherwise.

    Returns
    -------
    str

    Examples
    --------
    >>> class DenseLayer: name = None
    >>> layer_label(DenseLayer(), 3)
    'DenseLayer3'
    >>> named = DenseLayer(); named.name = "fc1"
    >>> layer_label(named, 3)
    'fc1'
    """
    name = getattr(layer, "name", None)
    if name:
        return str(name)
    return "%s%d" % (type(layer).__name__, index)


def _cell_scale(size, target=48):
    # An integer zoom that brings a small map near `target` pixels.
    return max(1, int(target // max(1, size)))


def feature_map_grid(maps, cmap="heat", max_maps=64, ncols=None):
    """Tile one example's feature maps, each scaled to its own range.

    Parameters
    ----------
    maps : array_like, shape (C, H, W)
        A convolutional layer's output for one example.
    cmap : str
        Colour map (see :mod:`pastalog.addons.images`).
    max_maps : int
        Show at most this many channels (the first ones).
    ncols : int, optional
        Grid columns; about ``sqrt(C)`` by default.

    Returns
    -------
    numpy.ndarray, (H', W', 3) uint8

    Examples
    --------
    >>> feature_map_grid(np.random.rand(4, 6, 6)).dtype.name
    'uint8'
    """
    m = np.asarray(maps, dtype=np.float64)
    if m.ndim != 3:
        raise ValueError("feature_map_grid needs (C, H, W), got shape %r" % (m.shape,))
    m = m[: max(1, int(max_maps))]
    zoom = _cell_scale(max(m.shape[1:]))
    tiles = np.stack([upscale(apply_colormap(c, cmap), zoom) for c in m])
    return image_grid(tiles, ncols=ncols, pad=2)


def unit_heat_strip(activations, cmap="heat", max_units=512, max_rows=64):
    """Draw a dense layer's ``(batch, units)`` output: one row per example.

    The whole strip shares one colour scale, so dead units show as dark
    columns and saturated ones as bright columns.

    Parameters
    ----------
    activations : array_like, shape (N, U)
    cmap : str
    max_units, max_rows : int
        Crop to at most this many units (columns) and examples (rows).

    Returns
    -------
    numpy.ndarray, uint8
        ``(rows * zoom_y, units * zoom_x, 3)``, zooms chosen to make it about
        256 px wide and 128 px tall (at least 2 px a cell).

    Examples
    --------
    >>> unit_heat_strip(np.random.rand(8, 10)).shape
    (128, 250, 3)
    """
    a = np.asarray(activations, dtype=np.float64)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2:
        raise ValueError("unit_heat_strip needs (N, U), got shape %r" % (a.shape,))
    a = a[:max_rows, :max_units]
    # Legible at a glance: about 256 px wide and 128 px tall, whole pixels.
    zoom_x = max(2, 256 // max(1, a.shape[1]))
    zoom_y = max(2, 128 // max(1, a.shape[0]))
    img = apply_colormap(a, cmap)
    return img.repeat(zoom_y, axis=0).repeat(zoom_x, axis=1)


def activation_image(activations):
    """Pick the picture for a layer's batch output, by its shape.

    Parameters
    ----------
    activations : array_like
        ``(N, C, H, W)``: feature maps of the first example;
        ``(N, U)``: unit heat strip over the batch;
        ``(N, C, L)``: the first example's channels as a strip.

    Returns
    -------
    (str, numpy.ndarray) or None
        An image kind (``"feature_maps"`` or ``"units"``) and the picture,
        or None for shapes with nothing useful to draw.

    Examples
    --------
    >>> activation_image(np.ones((2, 3, 5, 5)))[0]
    'feature_maps'
    >>> activation_image(np.ones((2, 7)))[0]
    'units'
    """
    a = np.asarray(activations)
    if a.ndim == 4 and a.shape[0] > 0:
        return "feature_maps", feature_map_grid(a[0])
    if a.ndim == 2 and a.size:
        return "units", unit_heat_strip(a)
    if a.ndim == 3 and a.shape[0] > 0:
        return "units", unit_heat_strip(a[0])
    return None
