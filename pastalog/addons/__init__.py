"""Framework-free parts of pastalog's visualization add-ons.

Plain numpy (and matplotlib where it earns it, rendered off-screen): layer
statistics, the occlusion loop, confusion counts, image grids and colour maps,
and the ``report_*`` functions that log them.  The framework bindings
(:mod:`pastalog.lasagne_addons`) compute arrays and call these.

Modules: :mod:`~pastalog.addons.images`, :mod:`~pastalog.addons.activations`,
:mod:`~pastalog.addons.occlusion`, :mod:`~pastalog.addons.saliency`,
:mod:`~pastalog.addons.confusion`, :mod:`~pastalog.addons.report`.
"""

from .report import (
    check_log,
    report_activations,
    report_confusion,
    report_occlusion,
    report_saliency,
    write_scalars,
)

__all__ = [
    "check_log",
    "report_activations",
    "report_confusion",
    "report_occlusion",
    "report_saliency",
    "write_scalars",
]
