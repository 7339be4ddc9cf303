"""The ``pastalog`` command: run | install | gc | export | import | demo."""
import argparse
import errno
import logging
import os
import subprocess
import sys

from . import __version__
from .settings import LIMITS, SETTINGS

__all__ = ["main"]

DEFAULT_PORT = 8120

class UserError(Exception):
    """A failure the user caused: printed as one line, exit status 1."""


def _env_default(setting):
    raw = os.environ.get(setting.env)
    if raw is None:
        return setting.default
    if setting.type is bool:
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if setting.type is list:
        return [part.strip() for part in raw.split(",") if part.strip()]
    try:
        return setting.type(raw)
    except ValueError:
        raise UserError(f"${setting.env} must be {setting.type.__name__}, got {raw!r}") from None


def _add_data(parser):
    data = next(s for s in SETTINGS if s.name == "data")
    parser.add_argument("--data", metavar="DIR", default=_env_default(data),
                        help=f"{data.help} [env {data.env}]")


def _add_store(parser):
    """``--data DIR`` (the SQLite default) and ``--store URL`` (any store)."""
    _add_data(parser)
    store = next(s for s in SETTINGS if s.name == "store")
    parser.add_argument("--store", metavar="URL", default=_env_default(store),
                        help=f"{store.help} [env {store.env}]")


def build_parser():
    """The argument parser (also read by the docs test)."""
    parser = argparse.ArgumentParser(
        prog="pastalog",
        description="Real-time logging and visualization for neural-network training.",
        epilog="Quick start: pastalog run --demo, then open http://127.0.0.1:8120")
    parser.add_argument("--version", action="version", version=f"pastalog {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="serve the web page and the logging API",
                         description="Serve the web page and the logging API until Ctrl-C.")
    run.add_argument("port", nargs="?", type=int, default=DEFAULT_PORT,
                     help=f"port to listen on (default {DEFAULT_PORT}; 0 picks a free one)")
    for s in SETTINGS:
        if s.name == "data":
            _add_data(run)
        elif s.name == "store":
            run.add_argument("--store", metavar="URL", default=_env_default(s),
                             help=f"{s.help} [env {s.env}]")
        elif s.type is bool:
            run.add_argument(s.flag, action="store_true", default=_env_default(s),
                             help=f"{s.help} [env {s.env}]")
        elif s.type is list:
            run.add_argument(s.flag, action="append", default=list(_env_default(s)),
                             metavar="NAME", help=f"{s.help} [env {s.env}]")
        else:
            run.add_argument(s.flag, type=s.type, default=_env_default(s),
                             metavar={int: "N", float: "SECONDS"}.get(
                                 s.type, s.name.split("_")[0].upper()),
                             help=f"{s.help} (default {s.default}) [env {s.env}]")
    run.add_argument("--demo", action="store_true",
                     help="also start simulated training runs that log live, to look around")

    inst = sub.add_parser("install", help="create the data dir and check the installation")
    _add_data(inst)

    gc = sub.add_parser("gc", help="remove image files that nothing refers to",
                        description="Remove image files no image refers to (left by a "
                        "server killed during a delete) and unfinished uploads. "
                        "Safe while no server runs on the data dir; `install` and "
                        "`run` do it too.")
    _add_data(gc)

    exp = sub.add_parser("export", help="write every model, series and image to a file",
                         description="Back up everything to FILE (JSON Lines; .gz compresses).")
    exp.add_argument("file")
    _add_store(exp)

    imp = sub.add_parser("import", help="load a file made by export, an original "
                         "pastalog database.json, or a TensorBoard logdir",
                         description="Import FILE: a pastalog export, or the node.js "
                         "pastalog's database.json (with its CSV files beside it); or a "
                         "directory: a TensorBoard logdir, one run per folder of event "
                         "files.")
    imp.add_argument("file")
    _add_store(imp)

    demo = sub.add_parser("demo", help="simulate training runs logging to a running server")
    demo.add_argument("--server", default=str(DEFAULT_PORT), help="port or URL of the server")
    demo.add_argument("--models", type=int, default=3, help="how many runs (default 3)")
    demo.add_argument("--steps", type=int, default=0,
                      help="stop after this many steps (default 0: run until stopped)")
    return parser


def _data_dir(value):
    from .paths import data_dir

    path = os.path.abspath(os.path.expanduser(value or data_dir()))
    try:
        os.makedirs(path, exist_ok=True)
        probe = os.path.join(path, f".write-test-{os.getpid()}")
        with open(probe, "w"):
            pass
        os.unlink(probe)
    except OSError as exc:
        raise UserError(f"data dir {path} is not writable: {exc.strerror}") from None
    return path


def _open_store(value, url=None):
    """The store ``--store URL`` names, else the SQLite store in ``--data DIR``."""
    from .errors import StorageError
    from .server.store import Store

    if url and "://" in url and not url.lower().startswith(("sqlite:", "file:")):
        try:
            return Store(url)
        except (StorageError, ImportError) as exc:
            raise UserError(f"cannot open the store {_hide_password(url)}: {exc}") from None
    path = _data_dir(value if not url else url.split("://", 1)[-1])
    try:
        return Store(path)
    except (StorageError, OSError) as exc:
        raise UserError(f"cannot open the store in {path}: {exc}") from None
    except Exception as exc:  # sqlite3.DatabaseError: not a database, corrupt
        if type(exc).__module__ == "sqlite3":
            raise UserError(f"cannot open the store in {path}: {exc}") from None
        raise


def _hide_password(url):
    from .server.store.postgres import _shown

    return _shown(url)


def _is_loopback(host):
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def cmd_run(args):
    from .errors import StorageError
    from .server.serve import serve

    if not _is_loopback(args.host):
        if not args.token and not args.insecure:
            raise UserError(f"--host {args.host} lets other machines in: give --token SECRET "
                            "(or PASTALOG_TOKEN), or --insecure to let anyone write and delete")
        if not args.token:
            print(f"pastalog: WARNING: serving {args.host} without a token (--insecure): "
                  "anyone who reaches this port can write and delete", file=sys.stderr)
    if args.store and "://" in args.store and not args.store.lower().startswith(
            ("sqlite:", "file:")):
        data, shown = args.store, _hide_password(args.store)
    else:
        data = shown = _data_dir(args.store.split("://", 1)[-1] if args.store else args.data)
    demo = []

    def ready(url):
        print(f"pastalog {__version__} serving {url}  (data: {shown})  Ctrl-C stops it",
              flush=True)
        if args.demo:
            env = dict(os.environ, PASTALOG_TOKEN=args.token) if args.token else None
            demo.append(subprocess.Popen(
                [sys.executable, "-m", "pastalog", "demo", "--server", url], env=env))
            print("demo: 3 simulated training runs are logging; open the page to watch",
                  flush=True)

    try:
        return serve(host=args.host, port=args.port, data=data, max_body_mb=args.max_body_mb,
                     sync=args.sync, token=args.token or None, public_read=args.public_read,
                     allowed_hosts=args.allow_host, max_series=args.max_series, ready=ready,
                     **{s.name: getattr(args, s.name) for s in LIMITS})
    except StorageError as exc:   # the store would not open: unreachable, newer schema
        raise UserError(f"cannot open the store {shown}: {exc}") from None
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise UserError(f"port {args.port} on {args.host} is already in use (another "
                            f"pastalog?); pick another: pastalog run {args.port + 1}") from None
        if exc.errno in (errno.EADDRNOTAVAIL, errno.EACCES, -2, -3, -5):
            raise UserError(f"cannot listen on {args.host}:{args.port}: "
                            f"{exc.strerror or exc}") from None
        raise
    finally:
        for proc in demo:
            proc.terminate()
            proc.wait(timeout=10)


def cmd_install(args):
    import importlib

    from .server.app import STATIC_DIR

    missing = []
    for module in ("bottle", "gevent", "geventwebsocket", "numpy"):
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise UserError(f"missing dependencies: {', '.join(missing)}; "
                        "reinstall with: pip install pastalog")
    if not os.path.isfile(os.path.join(STATIC_DIR, "index.html")):
        raise UserError(f"the web page is missing from {STATIC_DIR}; reinstall pastalog")
    store = _open_store(args.data)
    swept = _swept(store)
    print(f"pastalog {__version__} is ready: data in {store.data_dir}, web page in "
          f"{STATIC_DIR}.\nNothing to download. Start it with: pastalog run{swept}")
    store.close()
    return 0


def _swept(store):
    removed = store.gc()
    if not (removed["blobs"] or removed["tmp"]):
        return ""
    return (f"\nremoved {removed['blobs']:,} unused images and {removed['tmp']:,} "
            f"unfinished uploads ({removed['bytes']:,} bytes)")


def cmd_gc(args):
    store = _open_store(args.data)
    try:
        print((_swept(store) or "nothing to remove").strip())
    finally:
        store.close()
    return 0


def cmd_export(args):
    from .server.transfer import export_file

    store = _open_store(args.data, args.store)
    try:
        points, images, histograms = export_file(store, args.file)
    except OSError as exc:
        raise UserError(f"cannot write {args.file}: {exc.strerror}") from None
    finally:
        store.close()
    hists = f" and {histograms:,} histogram records" if histograms else ""
    print(f"exported {points:,} points and {images:,} images{hists} to {args.file}")
    return 0


def cmd_import(args):
    from .errors import ImportFileError, StorageError
    from .server.tb_import import import_logdir, summary_line
    from .server.transfer import import_file

    logdir = os.path.isdir(args.file)  # a directory is a TensorBoard logdir
    if not logdir and not os.path.isfile(args.file):
        raise UserError(f"{args.file}: no such file")
    store = _open_store(args.data, args.store)
    try:
        counts = (import_logdir if logdir else import_file)(store, args.file)
    except (ImportFileError, StorageError) as exc:
        raise UserError(str(exc)) from None
    finally:
        store.close()
    if logdir:
        print(summary_line(counts, getattr(store, "data_dir", store.location)))
        return 0
    skipped = f"; skipped {counts['skipped']:,} damaged records" if counts["skipped"] else ""
    hists = (f" and {counts['histograms']:,} histogram records"
             if counts.get("histograms") else "")
    print(f"imported {counts['points']:,} points and {counts['images']:,} images{hists} "
          f"({counts['format']}) into {getattr(store, 'data_dir', store.location)}{skipped}")
    return 0


def cmd_demo(args):
    from .demo import run_demo

    return run_demo(args.server, models=args.models, steps=args.steps)


def main(argv=None):
    """Entry point of the ``pastalog`` command; returns the exit status."""
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return {"run": cmd_run, "install": cmd_install, "gc": cmd_gc, "export": cmd_export,
                "import": cmd_import, "demo": cmd_demo}[args.command](args)
    except UserError as exc:
        print(f"pastalog: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
