"""Types of pastalog._cwrite (pastalog/_cwrite.c): Log.write's common case in C."""
from typing import Any, Callable, Iterable


class Buf:
    def __len__(self) -> int: ...
    def extend(self, seq: Iterable[float], /) -> None: ...
    def take(self, n: int, /) -> bytes: ...


class Series:
    name: str
    next: int
    relative: bool
    split: "int | None"
    buf: Buf
    put: Callable[[Iterable[float]], None]

    def __init__(self, name: str, relative: bool = False) -> None: ...


class Writer:
    _series: dict
    _wake_len: int
    _wake: Any

    def write(self, series: str, value: float, step: "int | None" = None) -> None: ...


def configure(slow: Callable[..., None], /) -> None: ...
