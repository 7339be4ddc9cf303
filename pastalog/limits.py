"""Constants shared by the client, the server and the store: one home for each rule.

Examples
--------
>>> MAX_STEP == 2**53 - 1
True
>>> b"\\x89PNG\\r\\n\\x1a\\n" == PNG_SIGNATURE
True
"""

__all__ = ["BACKOFF_MAX", "BACKOFF_MIN", "MAX_STEP", "PNG_SIGNATURE", "check_step_range"]

#: Steps are integers within ±MAX_STEP: the largest integer a JavaScript number (the
#: page's charts) holds exactly. Every ingest route and the client refuse others.
MAX_STEP = 2**53 - 1

#: The eight bytes every PNG file starts with.
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

#: The client's sender waits between BACKOFF_MIN and BACKOFF_MAX seconds after a failed
#: request, doubling each time.
BACKOFF_MIN = 0.1
BACKOFF_MAX = 5.0


def check_step_range(step):
    """Return whether an integer ``step`` is within ±``MAX_STEP``.

    Examples
    --------
    >>> check_step_range(2**53 - 1), check_step_range(2**53)
    (True, False)
    """
    return -MAX_STEP <= step <= MAX_STEP
