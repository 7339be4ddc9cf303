"""The exceptions pastalog raises.

::

    PastalogError                 anything pastalog raises on purpose
    ├── InvalidName (ValueError)  an empty, too long or control-character name
    ├── InvalidValue (TypeError)  a value that is not a real number
    ├── BadRequest (ValueError)   a request body the server cannot use
    │   └── PayloadTooLarge       a body over the configured cap
    ├── LimitExceeded             a write past a configured cap (--max-series)
    ├── StorageError              the store could not write (disk full, read-only)
    │   └── DiskFull
    ├── ImportFileError           an import/export file that cannot be read
    └── NotFound (KeyError)       pastalog.Api: no run, series or image of that name

The client raises synchronously, for the caller's own mistakes only: ``InvalidName``
and ``InvalidValue`` from ``write``/``post``/``image``, ``ValueError`` for a token with
control characters; ``flush(raise_on_error=True)`` raises ``PastalogError`` with the
reason when delivery failed. Network trouble never raises into the training loop.
"""

__all__ = [
    "BadRequest",
    "DiskFull",
    "ImportFileError",
    "InvalidName",
    "InvalidValue",
    "LimitExceeded",
    "NotFound",
    "PastalogError",
    "PayloadTooLarge",
    "StorageError",
]


class PastalogError(Exception):
    """Base class of every error pastalog raises on purpose."""


class InvalidName(PastalogError, ValueError):
    """A model, series or image name breaks the naming rule."""


class InvalidValue(PastalogError, TypeError):
    """A logged value is not a real number."""


class BadRequest(PastalogError, ValueError):
    """A request body or parameter the server cannot use."""


class PayloadTooLarge(BadRequest):
    """A request body over the configured cap."""


class LimitExceeded(PastalogError):
    """A write that would go past a configured cap (``--max-series``)."""


class StorageError(PastalogError):
    """The store could not complete a write."""


class DiskFull(StorageError):
    """The data directory's disk has no room left."""


class ImportFileError(PastalogError):
    """An import file is missing, unreadable or not in a known format."""


class NotFound(PastalogError, KeyError):
    """What :class:`pastalog.Api` was asked to read is not on the server.

    Examples
    --------
    >>> str(NotFound("no run named 'm'"))      # a message, not KeyError's quoted repr
    "no run named 'm'"
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""
