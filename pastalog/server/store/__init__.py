"""Where pastalog keeps points, images and models.

``Store(location)`` opens a store: a directory path (or ``sqlite:///path``) is the
embedded SQLite store; ``postgresql://user@host:port/db`` is the PostgreSQL store that
several servers share (``postgres``, imported only when asked for). Every backend implements the interface in ``base``; the chunk
codec (``codec``) and the aggregate rules (``pyramid``) are shared.
"""
from .base import Store, png_size
from .sqlite import SQLiteStore

__all__ = ["SQLiteStore", "Store", "png_size"]
