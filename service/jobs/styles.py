"""The style packs a service request may name: the shipped ones plus custom packs registered at run time.

Names and aliases share one namespace: each key (a name or an alias) belongs to exactly one pack,
so a custom pack can never take over another pack's name through an alias (409 on any collision).
Lookup is by name or alias only, never by file path: a remote caller must not make the server
read its own files. Packs sent as text are parsed in worker processes (``service.jobs.pack_parser``),
so parsing never stalls the event loop.
"""

from __future__ import annotations

import logging
import threading

from pydantic import ValidationError

from agents.styles import MAX_STYLE_PACK_BYTES, StylePack, StylePackError, builtin_styles, format_validation_error
from service.jobs.errors import InvalidRequestError, JobConflictError, LimitExceededError, StyleNotFoundError
from service.jobs.pack_parser import PackParser
from service.jobs.store import JobStore

logger = logging.getLogger(__name__)

MAX_CUSTOM_STYLES = 200


def keys_of(pack: StylePack) -> list[str]:
    """Return the names a pack answers to: its name, then its aliases."""
    return [pack.name, *pack.aliases]


class StyleRegistry:
    """Shipped packs (read once) and custom packs (persisted in the job store), in one namespace."""

    def __init__(self, store: JobStore, max_custom: int = MAX_CUSTOM_STYLES) -> None:
        """Load the shipped packs, then the custom packs stored so far (a stored one that clashes is skipped).

        Raises:
            StylePackError: two shipped packs claim the same name or alias.
        """
        self.store = store
        self.max_custom = max_custom
        self.builtin = builtin_styles()
        self._custom: dict[str, StylePack] = {}
        self._owner: dict[str, str] = {}  # name or alias -> the name of the pack it belongs to
        self._lock = threading.Lock()
        self.parser = PackParser()
        for pack in self.builtin.values():
            if clashes := self._clashes(pack):
                raise StylePackError(f"shipped style {pack.name!r} clashes with another: {clashes}")
            self._claim(pack)
        for pack in store.styles():
            self._load_stored(pack)

    def _load_stored(self, pack: StylePack) -> None:
        try:  # packs saved before a rule existed are checked again; the stored row is left as it is
            StylePack.model_validate(pack.model_dump())
        except ValidationError as exc:
            logger.warning("custom %s; it is not loaded: register it again", format_validation_error(exc, pack.name))
            return
        if clashes := self._clashes(pack):
            logger.warning(
                "custom style %r is not loaded (%s): register it again with other aliases", pack.name, clashes
            )
            return
        self._custom[pack.name] = pack
        self._claim(pack)

    def _clashes(self, pack: StylePack) -> str:
        """Say which of the pack's keys belong to another pack (a replaced custom pack's own keys are free)."""
        taken = []
        for key in keys_of(pack):
            owner = self._owner.get(key)
            if owner is not None and (owner != pack.name or owner in self.builtin):
                kind = "shipped style" if owner in self.builtin else "style"
                taken.append(f"{key!r} is already used by the {kind} {owner!r}")
        return "; ".join(taken)

    def _claim(self, pack: StylePack) -> None:
        for key in [key for key, owner in self._owner.items() if owner == pack.name]:
            del self._owner[key]
        for key in keys_of(pack):
            self._owner[key] = pack.name

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
            owner = self._owner.get(name)
            pack = self.builtin.get(owner or "") or self._custom.get(owner or "")
            known = sorted([*self.builtin, *self._custom])
        if pack is None:
            raise StyleNotFoundError(f"unknown style {name!r}; known styles: {', '.join(known)}")
        return pack

    def is_builtin(self, name: str) -> bool:
        """Whether a pack of this name is shipped."""
        return name in self.builtin

    async def parse(self, text: str) -> StylePack:
        """Validate a pack given as YAML or JSON text, in a worker process (bounded).

        Raises:
            InvalidRequestError: too large, nested too deep, not YAML, or a field is wrong (the message names it).
            LimitExceededError: too many packs are being parsed already.
        """
        if len(text.encode()) > MAX_STYLE_PACK_BYTES:
            raise InvalidRequestError(f"style pack is larger than {MAX_STYLE_PACK_BYTES // 1024} KiB")
        return await self.parser.parse(text)

    def close(self) -> None:
        """Stop the parser's worker processes."""
        self.parser.close()

    async def add(self, pack: StylePack) -> bool:
        """Register a pack from the event loop (the store write runs in the store's thread); see :meth:`register`."""
        return await self.store.run(self.register, pack)

    def register(self, pack: StylePack) -> bool:
        """Add or replace a custom pack; return True when it is new.

        Raises:
            InvalidRequestError: the pack is larger than the size bound.
            JobConflictError: the name or an alias belongs to another pack (shipped or custom).
            LimitExceededError: the registry is full.
        """
        if len(pack.model_dump_json().encode()) > MAX_STYLE_PACK_BYTES:
            raise InvalidRequestError(f"style pack is larger than {MAX_STYLE_PACK_BYTES // 1024} KiB")
        with self._lock:
            if clashes := self._clashes(pack):
                raise JobConflictError(f"{clashes}; choose another name or alias")
            if pack.name not in self._custom and len(self._custom) >= self.max_custom:
                raise LimitExceededError(f"at most {self.max_custom} custom styles can be registered")
            created = self.store.save_style(pack)
            self._custom[pack.name] = pack
            self._claim(pack)
        return created
