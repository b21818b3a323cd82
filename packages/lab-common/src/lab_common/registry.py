"""A name registry mapping method names to classes or builder functions."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import Any


class Registry:
    """Maps names (``"LightGCN"``, ``"resnet20"``) to classes or builders.

    >>> MODELS = Registry("model")
    >>> @MODELS.register("MF")
    ... class MF: ...
    >>> MODELS.get("MF") is MF
    True

    Looking up an unknown name raises :class:`KeyError` listing the known names
    and the closest match, so a typo is fixed from the message alone.
    """

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, Any] = {}

    def register(self, name: str | None = None, obj: Any = None) -> Any:
        """Register ``obj`` under ``name`` (defaults to ``obj.__name__``).

        Usable as ``registry.register("name", obj)`` or as a decorator
        ``@registry.register("name")`` / ``@registry.register()``.
        """
        if obj is not None:
            self._add(name or obj.__name__, obj)
            return obj

        def decorator(target: Any) -> Any:
            self._add(name or target.__name__, target)
            return target

        return decorator

    def _add(self, name: str, obj: Any) -> None:
        if name in self._entries and self._entries[name] is not obj:
            raise KeyError(f"{self.kind} {name!r} is already registered to {self._entries[name]!r}")
        self._entries[name] = obj

    def get(self, name: str) -> Any:
        try:
            return self._entries[name]
        except KeyError:
            raise KeyError(self._unknown_message(name)) from None

    def build(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Look ``name`` up and call it with the given arguments."""
        builder: Callable[..., Any] = self.get(name)
        return builder(*args, **kwargs)

    def names(self) -> list[str]:
        return sorted(self._entries)

    def _unknown_message(self, name: str) -> str:
        known = self.names()
        if not known:
            return f"unknown {self.kind} {name!r}: none is registered yet"
        message = f"unknown {self.kind} {name!r}; known: {', '.join(known)}"
        close = difflib.get_close_matches(name, known, n=1)
        if not close:
            lowered = {k.lower(): k for k in known}
            close = [lowered[name.lower()]] if name.lower() in lowered else []
        return message + (f" (did you mean {close[0]!r}?)" if close else "")

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.names()})"
