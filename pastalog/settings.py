"""The server's settings: one table that the CLI, the README and a test all read."""
from dataclasses import dataclass

__all__ = ["LIMITS", "SETTINGS", "Setting", "markdown_table"]


@dataclass(frozen=True)
class Setting:
    """One setting: its flag, default, environment variable and help."""

    name: str
    default: object
    env: str
    help: str
    type: type = str

    @property
    def flag(self):
        return "--" + self.name.replace("_", "-")


SETTINGS = (
    Setting("host", "127.0.0.1", "PASTALOG_HOST",
            "address to listen on; the default lets only this machine in"),
    Setting("data", None, "PASTALOG_DATA",
            "data directory (SQLite database and images); default: the user data dir, "
            "e.g. ~/.local/share/pastalog"),
    Setting("store", None, "PASTALOG_STORE",
            "where everything is kept: a directory, sqlite:///path, or "
            "postgresql://user@host:port/db, one database that several servers share "
            "(pip install 'pastalog[postgresql]'); default: the --data directory"),
    Setting("token", None, "PASTALOG_TOKEN",
            "secret that every write and delete (and read, unless --public-read) must "
            "send as 'Authorization: Bearer TOKEN'; needed with a non-loopback --host"),
    Setting("public_read", False, "PASTALOG_PUBLIC_READ",
            "with --token: let anyone read without it", bool),
    Setting("insecure", False, "PASTALOG_INSECURE",
            "allow a non-loopback --host without a token (anyone who reaches the port "
            "can write and delete)", bool),
    Setting("allow_host", (), "PASTALOG_ALLOW_HOST",
            "a host name the server answers to besides IP addresses and localhost "
            "(repeatable; the environment variable takes a comma-separated list; '*' "
            "allows any); other Host headers get 403, against DNS rebinding", list),
    Setting("max_body_mb", 64, "PASTALOG_MAX_BODY_MB",
            "largest request body accepted, in MiB (bigger ones get 413)", int),
    Setting("max_series", 100_000, "PASTALOG_MAX_SERIES",
            "most series the store accepts; a write that would create more gets 403 "
            "(the client keeps its points and retries)", int),
    Setting("sync", "normal", "PASTALOG_SYNC",
            "SQLite sync mode: 'normal' keeps every acknowledged point through a killed "
            "server, 'full' also through a power cut (slower)"),
)


#: What one client may cost the server: passed to ``serve`` as they are.
LIMITS = (
    Setting("ws_queue_mb", 8, "PASTALOG_WS_QUEUE_MB",
            "MiB of live events a browser may have waiting before it is disconnected "
            "(it reconnects and re-fetches)", int),
    Setting("ws_max_message_kb", 64, "PASTALOG_WS_MAX_MESSAGE_KB",
            "largest websocket message a browser may send, in KiB (closed with 1009 above)",
            int),
    Setting("header_timeout", 10.0, "PASTALOG_HEADER_TIMEOUT",
            "seconds for a request's headers to arrive", float),
    Setting("body_timeout", 60.0, "PASTALOG_BODY_TIMEOUT",
            "seconds for a request body to arrive (408 after)", float),
    Setting("idle_timeout", 60.0, "PASTALOG_IDLE_TIMEOUT",
            "seconds a keep-alive connection may wait for its next request", float),
    Setting("max_inflight_mb", 128, "PASTALOG_MAX_INFLIGHT_MB",
            "MiB of request bodies held at once over all connections (others wait, "
            "then get 503)", int),
    Setting("max_connections", 0, "PASTALOG_MAX_CONNECTIONS",
            "open HTTP connections at most; a new one closes the one idle longest "
            "(0: the descriptor limit less 64)", int),
    # not a limit, but passed to serve the same way
    Setting("run_stale_seconds", 60.0, "PASTALOG_RUN_STALE_SECONDS",
            "seconds without a heartbeat after which a running run reads as crashed "
            "(its client died)", float),
)
SETTINGS = SETTINGS + LIMITS


def markdown_table():
    """The settings as the Markdown table the README shows."""
    rows = ["| flag | environment | default | what |", "|---|---|---|---|"]
    for s in SETTINGS:
        default = {None: "none", False: "off", (): "none"}.get(s.default, f"`{s.default}`")
        if s.name == "data":
            default = "user data dir"
        elif s.name == "store":
            default = "`--data`"
        rows.append(f"| `{s.flag}` | `{s.env}` | {default} | {s.help} |")
    return "\n".join(rows)
