"""The client's on-disk spool: requests kept while the server cannot take them.

A spool file holds records ``b"PLS1" | uint32 length | uint32 crc32 | payload``,
the payload being a request path, a newline and the request body. The owning
process holds an exclusive ``flock`` on it; a file whose lock can be taken belongs
to a process that died, and the next client for the same server adopts it and
replays it in order (batch ids make the replay idempotent). A torn or corrupt
record is reported once, naming the file and the byte offset, and skipped; the
records after it are kept.

A write that the disk cuts short (nearly full, a file size limit) is a failure:
the partial record is cut off again (``ftruncate`` back to the previous size) and
``append`` raises, so the caller keeps that request in memory.
"""
import errno
import fcntl
import logging
import os
import struct
import uuid
import zlib

__all__ = ["Spool", "orphans", "read_records"]

log = logging.getLogger("pastalog")

_MAGIC = b"PLS1"
_HEAD = struct.Struct("<4sII")


def read_records(path):
    """Yield ``(path, body)`` for every intact record of a spool file."""
    with open(path, "rb") as fh:
        data = fh.read()
    pos = 0
    while pos < len(data):
        if len(data) - pos < _HEAD.size:
            log.warning("pastalog: spool file %s is truncated at byte %d; kept the %s",
                        path, pos, "records before it")
            return
        magic, length, crc = _HEAD.unpack_from(data, pos)
        payload = data[pos + _HEAD.size: pos + _HEAD.size + length]
        if magic != _MAGIC or len(payload) != length or zlib.crc32(payload) != crc:
            nxt = data.find(_MAGIC, pos + 1)
            log.warning("pastalog: spool file %s has a corrupt record at byte %d; skipped %s",
                        path, pos, "to the next record" if nxt >= 0 else "the rest")
            if nxt < 0:
                return
            pos = nxt
            continue
        req_path, _, body = payload.partition(b"\n")
        yield req_path.decode("utf-8"), body
        pos += _HEAD.size + length


def orphans(directory):
    """Spool files in ``directory`` whose owner is gone, oldest first, each locked."""
    try:
        names = sorted(os.listdir(directory))
    except FileNotFoundError:
        return []
    found = []
    for name in names:
        if not name.endswith(".spool"):
            continue
        path = os.path.join(directory, name)
        try:
            fd = os.open(path, os.O_RDWR)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        found.append((os.path.getmtime(path), path, fd))
    return [(path, fd) for _, path, fd in sorted(found)]


class Spool:
    """An append-only spool file owned by this process, created on first write."""

    def __init__(self, directory, label):
        self.directory = directory
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in label)[:40]
        self.path = os.path.join(directory, f"{safe}-{os.getpid()}-{uuid.uuid4().hex[:8]}.spool")
        self._fd = None
        self._size = 0
        self.records = 0

    def append(self, path, body):
        """Append one request, whole or not at all.

        Raises ``OSError`` when the disk refuses or takes only part of the record; the
        file is then as it was before the call.
        """
        if self._fd is None:
            os.makedirs(self.directory, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._size = os.fstat(fd).st_size
            except OSError:
                os.close(fd)
                raise
            self._fd = fd
        payload = path.encode("utf-8") + b"\n" + body
        record = _HEAD.pack(_MAGIC, len(payload), zlib.crc32(payload)) + payload
        written = 0
        try:
            # A regular file takes a whole write unless it is out of room; a short
            # count is followed by the error that explains it (ENOSPC, EFBIG).
            while written < len(record):
                n = os.write(self._fd, record[written:])
                if n <= 0:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                written += n
        except OSError as exc:
            self._cut_back()
            if written:
                raise OSError(exc.errno, f"short write: {written} of {len(record)} bytes, "
                                         f"then {exc.strerror}") from exc
            raise
        self._size += written
        self.records += 1

    def _cut_back(self):
        try:
            os.ftruncate(self._fd, self._size)
        except OSError as exc:
            log.warning("pastalog: cannot cut a partial record off spool file %s (%s); its "
                        "reader will skip it", self.path, exc.strerror)

    def sync(self):
        """Make what was appended survive a power cut."""
        if self._fd is not None:
            os.fsync(self._fd)

    def take(self):
        """Close the file and hand over ``(path, fd)`` for replay, or ``None``."""
        if self._fd is None:
            return None
        handed = (self.path, self._fd)
        self._fd = None
        self._size = 0
        self.records = 0
        self.path = self.path[: -len(".spool")] + f"-{uuid.uuid4().hex[:4]}.spool"
        return handed

    def close(self):
        """Close the file (and release its lock): the next client adopts what it holds."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
