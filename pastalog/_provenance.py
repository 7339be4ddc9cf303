"""What a run records about the process that made it (``Log(capture=True)``).

Host name, pid, Python and pastalog versions, ``sys.argv``, the working directory and
the git commit and dirty flag of the script's repository (the directory of
``sys.argv[0]``, else the working directory). The sender thread calls :func:`capture`,
never the caller's thread. Git is read without running it when it is not installed:
``.git/HEAD``, the ref it names, ``packed-refs``; ``dirty`` is then ``None`` (unknown).
With git installed, ``git status --porcelain`` says whether the tree is dirty (2 s at
most; ``None`` when it does not answer). Standard library only.
"""
import os
import platform
import shutil
import socket
import subprocess
import sys

__all__ = ["capture", "git_info"]

#: Seconds ``git status`` may take before the dirty flag is given up as unknown.
GIT_TIMEOUT = 2.0
_CACHE: dict = {}


def _git_dir(start):
    """The ``.git`` directory of the repository holding ``start``, or ``None``."""
    path = os.path.abspath(start)
    while True:
        candidate = os.path.join(path, ".git")
        if os.path.isdir(candidate):
            return candidate
        if os.path.isfile(candidate):       # a worktree or submodule: "gitdir: <path>"
            try:
                with open(candidate, encoding="utf-8") as fh:
                    text = fh.read().strip()
            except OSError:
                return None
            if text.startswith("gitdir:"):
                target = text[len("gitdir:"):].strip()
                return os.path.normpath(os.path.join(path, target))
            return None
        parent = os.path.dirname(path)
        if parent == path:
            return None
        path = parent


def _read(path):
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read().strip()
    except OSError:
        return None


def _resolve(git_dir, ref):
    """The commit ``ref`` names: a loose ref file, else ``packed-refs``; worktrees share
    refs with their main repository (``commondir``)."""
    dirs = [git_dir]
    common = _read(os.path.join(git_dir, "commondir"))
    if common:
        dirs.append(os.path.normpath(os.path.join(git_dir, common)))
    for d in dirs:
        sha = _read(os.path.join(d, *ref.split("/")))
        if sha:
            return sha
    for d in dirs:
        packed = _read(os.path.join(d, "packed-refs")) or ""
        for line in packed.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1] == ref and not line.startswith(("#", "^")):
                return parts[0]
    return None


def git_info(start, use_git=None):
    """``{"commit", "dirty"}`` of the repository holding ``start``, or ``None``.

    Parameters
    ----------
    start : str
        A directory inside the repository.
    use_git : bool, optional
        Run ``git status`` for the dirty flag (default: when git is installed).

    Examples
    --------
    >>> import tempfile
    >>> git_info(tempfile.mkdtemp()) is None
    True
    """
    git_dir = _git_dir(start)
    if git_dir is None:
        return None
    head = _read(os.path.join(git_dir, "HEAD"))
    if not head:
        return None
    commit = _resolve(git_dir, head[4:].strip()) if head.startswith("ref:") else head
    if commit is not None and (len(commit) < 40 or not all(c in "0123456789abcdef"
                                                          for c in commit[:40])):
        commit = None
    dirty = None
    if use_git is None:
        use_git = shutil.which("git") is not None
    if use_git:
        try:
            out = subprocess.run(["git", "status", "--porcelain"],
                                 cwd=os.path.dirname(git_dir) if os.path.basename(git_dir)
                                 == ".git" else start, capture_output=True,
                                 timeout=GIT_TIMEOUT, check=False)
            if out.returncode == 0:
                dirty = bool(out.stdout.strip())
        except (OSError, subprocess.SubprocessError):
            dirty = None
    return {"commit": commit, "dirty": dirty}


def capture(start_time):
    """The provenance of this process (git read once per process and directory).

    Examples
    --------
    >>> info = capture(1.0)
    >>> sorted(info)
    ['argv', 'cwd', 'git', 'host', 'pastalog', 'pid', 'python', 'start']
    """
    from . import __version__

    argv = [str(a) for a in sys.argv]
    try:
        cwd = os.getcwd()
    except OSError:
        cwd = None
    script = argv[0] if argv and argv[0] not in ("", "-c", "-m") else ""
    where = os.path.dirname(os.path.abspath(script)) if script and os.path.exists(script) \
        else cwd
    if where not in _CACHE:
        _CACHE[where] = None if where is None else git_info(where)
    return {"host": socket.gethostname(), "pid": os.getpid(),
            "python": platform.python_version(), "pastalog": __version__, "argv": argv,
            "cwd": cwd, "git": _CACHE[where], "start": start_time}
