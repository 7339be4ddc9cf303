"""A module-level API in the shape of W&B's and trackio's: ``init``, ``log``, ``finish``.

For scripts written for those libraries, so that ::

    import pastalog as wandb

    run = wandb.init(project="digits", config={"lr": 0.003})
    for step in range(100):
        wandb.log({"loss": 1.0 / (step + 1), "val": {"acc": 0.5}})
    wandb.finish()

runs unchanged.  A run is a pastalog model named after ``name`` (else
``project``); ``log`` follows W&B's step rule (one step per call, unless
``step=`` or ``commit=False``); nested dicts become ``/``-grouped series
(``val/acc``).  ``config`` is kept on the run (``run.config``,
``pastalog.config``) and is not sent to the server yet: the server has no
record of a run's config today.  Standard library only, like the client.
"""

import warnings
from typing import Any, Optional, Union

from ._config import flatten
from ._histogram import Histogram
from .client import Log

__all__ = ["Config", "Run", "current", "finish", "init", "log"]

# W&B's and trackio's init() options that mean nothing here; accepted so their
# scripts run unchanged (each is named in one warning when it is given).
_IGNORED_INIT_OPTIONS = frozenset({
    "anonymous", "dataset_id", "dir", "entity", "group", "id", "job_type", "mode", "notes",
    "reinit", "resume", "resume_from", "save_code", "settings", "space_id", "sync_tensorboard",
    "tags",
})

_state: "dict[str, Optional[Run]]" = {"run": None}


class Config(dict):
    """A run's configuration: a dict whose keys also read as attributes (``config.lr``).

    Examples
    --------
    >>> c = Config({"lr": 0.1})
    >>> c.batch_size = 32
    >>> c.update({"epochs": 3}, allow_val_change=True)
    >>> c.lr, c["batch_size"], sorted(c)
    (0.1, 32, ['batch_size', 'epochs', 'lr'])
    """

    def __getattr__(self, key):
        try:
            return self[key]
        except KeyError:
            raise AttributeError("config has no key %r" % (key,)) from None

    def __setattr__(self, key, value):
        self[key] = value

    def update(self, *args, allow_val_change=None, **kwargs):
        """``dict.update``; ``allow_val_change`` (W&B's) is accepted and ignored."""
        for arg in args:
            super().update(_as_dict(arg))
        super().update(kwargs)


def _as_dict(config):
    # W&B takes a dict, an argparse.Namespace or anything with __dict__.
    if config is None:
        return {}
    if isinstance(config, dict):
        return dict(config)
    if hasattr(config, "__dict__"):
        return dict(vars(config))
    raise TypeError("config must be a dict or an object with attributes (argparse.Namespace), "
                    "not %r" % (config,))


class Run:
    """One run: a :class:`pastalog.Log` under the run's name, its config and step.

    Made by :func:`init`.  Attributes: ``name`` (the model it logs as),
    ``project``, ``config`` (a :class:`Config`, not sent to the server yet),
    ``step`` (the step the next ``log`` without ``step=`` uses), ``summary``
    (each series' last value) and ``log_`` (the underlying :class:`pastalog.Log`).
    """

    def __init__(self, name, config=None, server=8120, project=None, **log_options):
        self.name, self.project = name, project
        self.config = Config(_as_dict(config))
        self.summary = {}
        self.step = 0
        self.log_ = Log(server, name, **log_options)
        self._finished = False

    def log(self, data, step=None, commit=None):
        """Log a dict of numbers (nested dicts become ``a/b`` series) at one step.

        As W&B does: without ``step`` the values go at ``run.step``, which then
        advances by one (unless ``commit=False``); with ``step`` they go at that
        step, and ``run.step`` moves there without advancing, so further calls
        at the same step add to it.

        Examples
        --------
        >>> class Recorder:
        ...     def __init__(self): self.points = []
        ...     def write_many(self, values, step=None): self.points.append((values, step))
        >>> run = Run.__new__(Run); run.step, run.summary, run.log_ = 0, {}, Recorder()
        >>> run._finished = False
        >>> run.log({"loss": 1.0}); run.log({"loss": 0.5, "val": {"acc": 0.9}})
        >>> run.log({"lr": 0.1}, step=10); run.log({"x": 1}, commit=False); run.log({"y": 2})
        >>> run.log_.points
        [({'loss': 1.0}, 0), ({'loss': 0.5, 'val/acc': 0.9}, 1), ({'lr': 0.1}, 10), ({'x': 1}, 10), ({'y': 2}, 10)]
        >>> run.step
        11
        """
        if self._finished:
            raise RuntimeError("run %r is finished: call pastalog.init() for a new one"
                               % (self.name,))
        if not isinstance(data, dict):
            raise TypeError("log takes a dict of numbers, not %r" % (data,))
        if step is None:
            at = self.step
            advance = commit is not False
        else:
            at = int(step)
            if at < self.step - 1 and commit is not False:
                warnings.warn("pastalog: step %d is behind the run's step %d; logged anyway"
                              % (at, self.step), stacklevel=2)
            self.step = max(self.step, at)
            advance = bool(commit)
        values = flatten(data)
        hists = {k: v for k, v in values.items() if isinstance(v, Histogram)}
        if hists:   # pastalog.Histogram values: histogram records at the same step
            values = {k: v for k, v in values.items() if k not in hists}
            for name, hist in hists.items():
                self.log_.histogram(name, hist, step=at)
        self.log_.write_many(values, step=at)
        self.summary.update(values)
        if advance:
            self.step = at + 1

    def watch(self, model, criterion=None, log="gradients", log_freq=1000, **ignored):
        """W&B's ``run.watch``: :func:`pastalog.torch.watch` every ``log_freq`` steps."""
        from .torch import watch

        return watch(model, self.log_, every=int(log_freq), what=log or "gradients")

    def finish(self, exit_code=None, quiet=None, timeout=30):
        """Send what is left (waiting up to ``timeout`` s) and close the run."""
        if self._finished:
            return
        self._finished = True
        try:
            self.log_.flush(timeout=timeout)
        finally:
            self.log_.close()
            if _state["run"] is self:
                _state["run"] = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.finish()

    def __repr__(self):
        return "<pastalog run %r, step %d>" % (self.name, self.step)


def init(name: Optional[str] = None, config: Any = None, server: Union[int, str] = 8120, *,
         project: Optional[str] = None, token: Optional[str] = None, **options: Any) -> "Run":
    """Start a run (finishing the one before, if any) and make it the current one.

    Parameters
    ----------
    name : str, optional
        The model name to log under; default ``project``, else ``"run"``.
    config : dict or argparse.Namespace, optional
        Kept on the run as ``run.config`` (and ``pastalog.config``); not sent
        to the server yet.
    server : int or str
        Port on this machine or URL, as :class:`pastalog.Log` takes it.
    project : str, optional
        W&B's and trackio's project; the name when ``name`` is not given.
    token : str, optional
        The server's token (or ``PASTALOG_TOKEN``).
    **options
        W&B/trackio options with no meaning here (``entity``, ``tags``,
        ``mode``, ...) are accepted with one warning; others raise TypeError.

    Returns
    -------
    Run

    Examples
    --------
    >>> run = init("demo", config={"lr": 0.1}, server=1)     # doctest: +SKIP
    >>> run.config.lr                                          # doctest: +SKIP
    0.1
    """
    unknown = sorted(set(options) - _IGNORED_INIT_OPTIONS)
    if unknown:
        raise TypeError("init() got unexpected options: %s" % ", ".join(unknown))
    if options:
        warnings.warn("pastalog.init ignores %s (W&B/trackio options with no meaning here)"
                      % ", ".join(sorted(options)), stacklevel=2)
    previous = _state["run"]
    if previous is not None:
        previous.finish()
    run = Run(name or project or "run", config=config, server=server, project=project,
              token=token)
    _state["run"] = run
    return run


def current() -> Optional[Run]:
    """The current run, or None before :func:`init` and after :func:`finish`."""
    return _state["run"]


def _require_run(what):
    run = _state["run"]
    if run is None:
        raise RuntimeError("call pastalog.init(...) before pastalog.%s()" % what)
    return run


def log(data: dict, step: Optional[int] = None, commit: Optional[bool] = None) -> None:
    """Log a dict of numbers to the current run: see :meth:`Run.log`."""
    _require_run("log").log(data, step=step, commit=commit)


def finish(exit_code: Optional[int] = None, quiet: Optional[bool] = None) -> None:
    """Finish the current run (nothing happens when there is none)."""
    run = _state["run"]
    if run is not None:
        run.finish(exit_code=exit_code, quiet=quiet)
