"""A passage of a knowledge source: the unit that is retrieved, cited and judged against."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Passage:
    """One chunk of a knowledge file.

    Attributes:
        id: Stable id, ``<file>#<n>`` (the file's path inside the knowledge set and the chunk's
            number); what a reply cites and what lineage keeps.
        text: The passage text.
        source: The file it comes from (path inside the knowledge set).
        title: The nearest heading or the question it answers ("" when none).
    """

    id: str
    text: str
    source: str
    title: str = ""
