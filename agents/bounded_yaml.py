"""Load YAML (or JSON) text with bounds on nesting depth and node count, checked before any recursion.

PyYAML's composer and constructor recurse once per nesting level, so ``[[[[...`` 50,000 deep
raises RecursionError (or worse, in the C extension). Its parser, by contrast, is a state machine:
:func:`check_bounds` walks the parser's events (no recursion), counts the nesting depth and the
nodes (an alias counts as the whole node it repeats, so an alias bomb is caught before it is
expanded), and only text within the bounds is composed. libyaml's C loader is used when PyYAML
has it (about 4x faster than the pure-Python one).
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_DEPTH = 20
MAX_NODES = 100_000
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YAMLBoundsError(ValueError):
    """The text nests deeper, or holds more nodes, than allowed; the message says which."""


def check_bounds(text: str, max_depth: int = MAX_DEPTH, max_nodes: int = MAX_NODES) -> None:
    """Refuse text whose lists and mappings nest deeper than ``max_depth`` or hold more than ``max_nodes`` nodes.

    Raises:
        YAMLBoundsError: a bound is exceeded (the message says "nesting too deep" or "too many").
        yaml.YAMLError: the text is not YAML.
    """
    open_frames: list[list[Any]] = []  # [anchor, nodes when it opened, height of its subtree]
    anchored: dict[str, tuple[int, int]] = {}  # anchor -> (nodes, height)
    nodes = 0

    def nest(height: int) -> None:
        """Place a subtree of ``height`` levels inside the open collections."""
        if len(open_frames) + height > max_depth:
            raise YAMLBoundsError(f"nesting too deep: more than {max_depth} levels of lists or mappings")
        if open_frames:
            open_frames[-1][2] = max(open_frames[-1][2], height + 1)

    try:
        for event in yaml.parse(text, Loader=_LOADER):
            if isinstance(event, yaml.CollectionStartEvent):
                nodes += 1
                nest(1)
                open_frames.append([event.anchor, nodes, 1])
            elif isinstance(event, yaml.CollectionEndEvent):
                anchor, opened, height = open_frames.pop()
                nest(height)
                if anchor is not None:
                    anchored[anchor] = (nodes - opened + 1, height)
            elif isinstance(event, yaml.ScalarEvent):
                nodes += 1
                if event.anchor is not None:
                    anchored[event.anchor] = (1, 0)
            elif isinstance(event, yaml.AliasEvent):
                size, height = anchored.get(event.anchor or "", (1, 0))
                nodes += size
                nest(height)
            if nodes > max_nodes:
                raise YAMLBoundsError(f"too many values: more than {max_nodes:,} (aliases count as what they repeat)")
    except yaml.MarkedYAMLError as exc:
        if "nesting depth" in str(exc.problem):  # libyaml's own limit (1,000 flow levels) fired first
            raise YAMLBoundsError(f"nesting too deep: more than {max_depth} levels of lists or mappings") from None
        raise


def load_bounded(text: str, max_depth: int = MAX_DEPTH, max_nodes: int = MAX_NODES) -> Any:
    """Check the bounds, then load the text with the safe loader.

    Raises:
        YAMLBoundsError: a bound is exceeded.
        yaml.YAMLError: the text is not YAML.
    """
    check_bounds(text, max_depth, max_nodes)
    return yaml.load(text, Loader=_LOADER)  # a safe loader: CSafeLoader or SafeLoader
