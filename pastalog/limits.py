"""Constants shared by the client, the server and the store: one home for each rule.

Examples
--------
>>> MAX_STEP == 2**53 - 1
True
>>> b"\\x89PNG\\r\\n\\x1a\\n" == PNG_SIGNATURE
True
"""

__all__ = ["BACKOFF_MAX", "BACKOFF_MIN", "HEARTBEAT_SECONDS", "MAX_CONFIG_KEY",
           "MAX_CONFIG_KEYS", "MAX_CONFIG_LIST", "MAX_CONFIG_STRING", "MAX_NOTES",
           "MAX_STEP", "MAX_TAG", "MAX_TAGS", "PNG_SIGNATURE", "RUN_STALE_SECONDS",
           "check_step_range"]

#: Steps are integers within ±MAX_STEP: the largest integer a JavaScript number (the
#: page's charts) holds exactly. Every ingest route and the client refuse others.
MAX_STEP = 2**53 - 1

#: The eight bytes every PNG file starts with.
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

#: The client's sender waits between BACKOFF_MIN and BACKOFF_MAX seconds after a failed
#: request, doubling each time.
BACKOFF_MIN = 0.1
BACKOFF_MAX = 5.0

#: A run's config (``Log(config=...)``): keys (flattened with ``/``) of at most
#: MAX_CONFIG_KEY characters, at most MAX_CONFIG_KEYS of them per run, strings of at most
#: MAX_CONFIG_STRING characters, lists of at most MAX_CONFIG_LIST items.
MAX_CONFIG_KEY = 256
MAX_CONFIG_KEYS = 1000
MAX_CONFIG_STRING = 4096
MAX_CONFIG_LIST = 1000
#: A run's tags: at most MAX_TAGS, each 1 to MAX_TAG characters without control characters.
MAX_TAGS = 100
MAX_TAG = 128
#: A run's notes: at most this many characters.
MAX_NOTES = 65536
#: The client's sender says every open run is alive this often (seconds).
HEARTBEAT_SECONDS = 15.0
#: A running run whose last heartbeat is older than this (seconds) is reported crashed
#: (the server's ``--run-stale-seconds`` changes it).
RUN_STALE_SECONDS = 60.0


def check_step_range(step):
    """Return whether an integer ``step`` is within ±``MAX_STEP``.

    Examples
    --------
    >>> check_step_range(2**53 - 1), check_step_range(2**53)
    (True, False)
    """
    return -MAX_STEP <= step <= MAX_STEP
