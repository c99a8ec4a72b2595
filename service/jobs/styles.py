"""The style packs a service request may name: the shipped ones plus custom packs registered at run time.

Lookup is by name or alias only, never by file path: a remote caller must not make the server
read its own files.
"""

from __future__ import annotations

import threading

from agents.styles import MAX_STYLE_PACK_BYTES, StylePack, StylePackError, builtin_styles, parse_style_pack
from service.jobs.errors import InvalidRequestError, JobConflictError, LimitExceededError, StyleNotFoundError
from service.jobs.store import JobStore

MAX_CUSTOM_STYLES = 200


class StyleRegistry:
    """Shipped packs (read once) and custom packs (persisted in the job store)."""

    def __init__(self, store: JobStore, max_custom: int = MAX_CUSTOM_STYLES) -> None:
        """Load the shipped packs and the custom packs stored so far."""
        self.store = store
        self.max_custom = max_custom
        self.builtin = builtin_styles()
        self._custom = {pack.name: pack for pack in store.styles()}
        self._lock = threading.Lock()

    def all(self) -> list[tuple[StylePack, bool]]:
        """Return every pack with whether it is shipped, sorted by name."""
        with self._lock:
            packs = [(pack, True) for pack in self.builtin.values()]
            packs += [(pack, False) for pack in self._custom.values()]
        return sorted(packs, key=lambda item: item[0].name)

    def resolve(self, name: str) -> StylePack:
        """Return the pack with this name or alias.

        Raises:
            StyleNotFoundError: unknown name; the message lists the known ones.
        """
        with self._lock:
            packs = {**self._custom, **self.builtin}
        for pack in packs.values():
            if name == pack.name or name in pack.aliases:
                return pack
        raise StyleNotFoundError(f"unknown style {name!r}; known styles: {', '.join(sorted(packs))}")

    def is_builtin(self, name: str) -> bool:
        """Whether a pack of this name is shipped."""
        return name in self.builtin

    def parse(self, text: str) -> StylePack:
        """Validate a pack given as YAML or JSON text.

        Raises:
            InvalidRequestError: too large, not YAML, or a field is wrong (the message names it).
        """
        if len(text.encode()) > MAX_STYLE_PACK_BYTES:
            raise InvalidRequestError(f"style pack is larger than {MAX_STYLE_PACK_BYTES // 1024} KiB")
        try:
            return parse_style_pack(text, "(request)")
        except StylePackError as exc:
            raise InvalidRequestError(str(exc)) from None

    def register(self, pack: StylePack) -> bool:
        """Add or replace a custom pack; return True when it is new.

        Raises:
            JobConflictError: the name or an alias belongs to a shipped pack.
            LimitExceededError: the registry is full.
        """
        taken = {pack.name, *pack.aliases} & {name for p in self.builtin.values() for name in (p.name, *p.aliases)}
        if taken:
            raise JobConflictError(f"{', '.join(sorted(taken))}: already used by a shipped style; choose another name")
        with self._lock:
            if pack.name not in self._custom and len(self._custom) >= self.max_custom:
                raise LimitExceededError(f"at most {self.max_custom} custom styles can be registered")
            created = self.store.save_style(pack)
            self._custom[pack.name] = pack
        return created
