"""Import Theano and Lasagne, working around their known breakages in one place.

Every module of :mod:`pastalog.lasagne_addons` gets Theano and Lasagne through
:func:`require`; nothing else in pastalog patches them.  Each workaround is
applied only where it is needed, so the same code runs on an up-to-date setup
(e.g. Lasagne 0.2) untouched.
"""

import configparser
import logging
import os
import sys
import types

__all__ = ["require"]

_EXTRA_HINT = (
    "pastalog.lasagne_addons needs Theano and Lasagne: pip install 'pastalog[lasagne]' "
    "(Theano 1.0.5 runs on Python <= 3.11 with numpy < 1.24)"
)

_BLAS_NOTICE = "Using NumPy C-API based implementation for BLAS functions"


def _theanorc_sets_ldflags():
    # Theano reads THEANORC (os.pathsep-separated), default ~/.theanorc and
    # ~/.theanorc.txt; a user's own [blas] ldflags there must win too.
    default = os.pathsep.join(["~/.theanorc", "~/.theanorc.txt"])
    for path in os.environ.get("THEANORC", default).split(os.pathsep):
        parser = configparser.ConfigParser()
        try:
            parser.read(os.path.expanduser(path))
        except configparser.Error:
            continue
        if parser.has_option("blas", "ldflags"):
            return True
    return False


def _default_blas_ldflags():
    # (a) Theano 1.0.5 computes the default of `blas.ldflags` from
    # numpy.distutils.__config__.blas_opt_info, which numpy >= 1.22 no longer
    # has: `import theano` dies with an AttributeError.  An explicit empty
    # value skips that probe; Theano then serves gemm/gemv through numpy's own
    # BLAS (its C-API fallback), which is fast enough for these add-ons.
    # Only when the user has not chosen ldflags, in THEANO_FLAGS or a theanorc.
    flags = os.environ.get("THEANO_FLAGS", "")
    keys = [item.split("=", 1)[0].strip() for item in flags.split(",") if item.strip()]
    if "blas.ldflags" in keys or _theanorc_sets_ldflags():
        return
    os.environ["THEANO_FLAGS"] = ",".join(f for f in [flags.strip(","), "blas.ldflags="] if f)

    # ... and Theano then warns, once per process, that it uses that fallback:
    # an expected consequence of the line above, so keep it off the console.
    class _QuietBlasNotice(logging.Filter):
        def filter(self, record):
            return _BLAS_NOTICE not in record.getMessage()

    logging.getLogger("theano.tensor.blas").addFilter(_QuietBlasNotice())


def _downsample_shim(theano):
    # (b) Lasagne 0.1 does `from theano.tensor.signal import downsample` and
    # calls downsample.max_pool_2d(input, ds, ignore_border, st, padding, mode).
    # Theano 1.0 removed that module; its replacement pool.pool_2d takes the
    # same arguments as (input, ws, ignore_border, stride, pad, mode).  Provide
    # the old module only when it is missing (Lasagne 0.2 uses `pool` itself).
    try:
        from theano.tensor.signal import downsample  # noqa: F401
        return
    except ImportError:
        pass
    from theano.tensor.signal import pool

    def max_pool_2d(input, ds, ignore_border=None, st=None, padding=(0, 0), mode="max"):
        return pool.pool_2d(input, ws=ds, ignore_border=ignore_border, stride=st,
                            pad=padding, mode=mode)

    module = types.ModuleType("theano.tensor.signal.downsample")
    module.__doc__ = "pastalog's stand-in for the module Theano 1.0 removed (see _compat)."
    module.max_pool_2d = max_pool_2d
    sys.modules[module.__name__] = module
    theano.tensor.signal.downsample = module


def require():
    """Import and return ``(theano, theano.tensor, lasagne)``, patched to work.

    Returns
    -------
    tuple
        The modules ``theano``, ``theano.tensor`` and ``lasagne``.

    Raises
    ------
    ImportError
        Naming the extra to install when Theano or Lasagne is missing.

    Examples
    --------
    >>> theano, T, lasagne = require()
    >>> hasattr(lasagne.layers, "get_output")
    True
    """
    if "theano" not in sys.modules:
        _default_blas_ldflags()
    try:
        import theano
        import theano.tensor
        import theano.tensor.signal
    except ImportError as exc:
        raise ImportError(_EXTRA_HINT) from exc
    _downsample_shim(theano)
    try:
        import lasagne
    except ImportError as exc:
        raise ImportError(_EXTRA_HINT) from exc
    return theano, theano.tensor, lasagne
