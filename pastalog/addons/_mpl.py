"""Matplotlib, imported on demand, drawn off-screen (Agg), never through pyplot.

Figures are built from :class:`matplotlib.figure.Figure` with an Agg canvas,
so nothing here touches pyplot's global state or the user's backend, and a
figure is freed as soon as it is rendered.
"""

import numpy as np

__all__ = ["new_figure", "render"]


def new_figure(width, height, dpi=100):
    """A detached Agg figure of ``width`` x ``height`` inches.

    Raises ImportError naming the ``images`` extra when matplotlib is missing.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(
            "this add-on draws with matplotlib, which is not installed: "
            "pip install 'pastalog[images]'"
        ) from exc
    fig = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def render(fig):
    """Draw ``fig`` and return it as a ``(H, W, 3)`` uint8 array; frees it."""
    try:
        fig.canvas.draw()
        rgba = np.asarray(fig.canvas.buffer_rgba())
        return np.array(rgba[..., :3], dtype=np.uint8)
    finally:
        fig.clear()
