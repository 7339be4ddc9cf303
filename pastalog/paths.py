"""Where pastalog keeps things by default (standard library only)."""
import os
import sys

__all__ = ["data_dir", "spool_dir"]


def _user_dir(kind):
    home = os.path.expanduser("~")
    if sys.platform == "darwin":
        base = os.path.join(home, "Library", "Application Support" if kind == "data"
                            else "Caches")
    elif os.name == "nt":
        base = os.environ.get("LOCALAPPDATA") or os.path.join(home, "AppData", "Local")
    else:
        var, fallback = (("XDG_DATA_HOME", ".local/share") if kind == "data"
                         else ("XDG_CACHE_HOME", ".cache"))
        base = os.environ.get(var) or os.path.join(home, fallback)
    return os.path.join(base, "pastalog")


def data_dir():
    """The server's default data dir: ``$PASTALOG_DATA``, else the user data dir."""
    return os.environ.get("PASTALOG_DATA") or _user_dir("data")


def spool_dir():
    """The client's default spool dir: the user cache dir's ``pastalog/spool``."""
    return os.path.join(_user_dir("cache"), "spool")
