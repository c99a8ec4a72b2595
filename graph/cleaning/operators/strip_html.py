"""``strip-html``: HTML and markup to text, links, e-mail addresses and boilerplate signatures.

HTML is parsed by ``selectolax`` (Cython bindings of the Lexbor HTML5 engine, MIT): a real
parser, so entities, unclosed tags, comments and ``<script>``/``<style>`` bodies are handled as
a browser would, unlike seed 004's regexes. The parser only runs on turns that contain a tag or
an entity, so plain text such as "5<6" is never parsed. Block elements (``<p>``, ``<br>``,
``<li>``...) become line breaks. URLs are removed (or replaced by ``[URL]``), e-mail addresses
likewise when asked (the ``pii`` operator redacts them otherwise), and whole lines that are
boilerplate signatures ("发自我的iPhone", "Sent from my iPhone") are dropped.
"""

from __future__ import annotations

import re
from functools import cached_property
from typing import Literal

from pydantic import Field
from selectolax.lexbor import LexborHTMLParser

from graph.cleaning.base import OperatorParams
from graph.cleaning.text import TextEditOperator

_LOOKS_LIKE_HTML = re.compile(
    r"<(?:[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?|/[A-Za-z][A-Za-z0-9-]*\s*|!--.*?--)>|&(?:[A-Za-z]{2,8}|#\d{2,6}|#x[0-9A-Fa-f]{2,5});",
    re.S,
)
_BLOCK_TAGS = frozenset(
    "address article aside blockquote br dd div dl dt fieldset figcaption figure footer form h1 h2 h3 h4 h5 h6 "
    "header hr li main nav ol p pre section table tbody td tfoot th thead tr ul".split()
)
_SKIPPED_TAGS = frozenset({"script", "style", "noscript", "template", "head", "title"})
_URL = re.compile(r"(?:https?://|ftp://|www\.)[^\s<>\"'，。！？、；：（）【】《》「」]+", re.I)
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}(?![\w-])")
DEFAULT_SIGNATURES = (
    r"(?:--\s*)?发自我的\s*(?:iPhone|iPad|Android|华为|小米|手机|荣耀|OPPO|vivo)\S*",
    r"(?:--\s*)?来自(?:我的)?\s*\S{0,12}(?:手机|客户端)",
    r"(?:--\s*)?Sent from my \S+(?: \S+)?",
    r"(?:--\s*)?Get Outlook for \S+",
)


class StripHtmlParams(OperatorParams):
    """Parameters of ``strip-html``."""

    html: bool = Field(default=True, description="Turn HTML into text (block elements become line breaks).")
    urls: Literal["remove", "placeholder", "keep"] = Field(default="remove", description="What to do with URLs.")
    emails: Literal["remove", "placeholder", "keep"] = Field(
        default="keep", description="E-mail addresses (the pii operator redacts them by default)."
    )
    signatures: list[str] = Field(
        default_factory=lambda: list(DEFAULT_SIGNATURES),
        description="Regular expressions of boilerplate lines to delete.",
    )


def html_to_text(text: str) -> str:
    """Return the text of an HTML fragment: entities decoded, scripts dropped, blocks on their own lines."""
    body = LexborHTMLParser(text).body
    if body is None:
        return text
    pieces: list[str] = []
    for node in body.traverse(include_text=True):
        if node.tag == "-text":
            parent = node.parent
            if parent is None or parent.tag not in _SKIPPED_TAGS:
                pieces.append(node.text_content or "")
        elif node.tag in _BLOCK_TAGS:
            pieces.append("\n")
    lines = (line.strip() for line in "".join(pieces).split("\n"))
    return "\n".join(line for line in lines if line)


class StripHtml(TextEditOperator):
    """HTML to text, links, e-mail addresses and boilerplate signatures."""

    name = "strip-html"
    summary = "HTML to text (selectolax parser), URLs, boilerplate signatures (发自我的iPhone); optional e-mails."
    Params = StripHtmlParams
    params: StripHtmlParams

    @cached_property
    def _signature(self) -> re.Pattern[str] | None:
        if not self.params.signatures:
            return None
        joined = "|".join(f"(?:{pattern})" for pattern in self.params.signatures)
        return re.compile(rf"^[ \t]*(?:{joined})[ \t]*$", re.M | re.I)

    def edit(self, text: str) -> tuple[str, set[str]]:
        """Return the text without markup, links and signatures, and which of them were found."""
        codes: set[str] = set()
        params = self.params
        if params.html and ("<" in text or "&" in text) and _LOOKS_LIKE_HTML.search(text):
            stripped = html_to_text(text)
            if stripped != text:
                codes.add("html")
                text = stripped
        lowered = text.lower()
        for kind, pattern, mode, placeholder, marks in (
            ("url", _URL, params.urls, "[URL]", ("://", "www.")),
            ("email", _EMAIL, params.emails, "[EMAIL]", ("@",)),
        ):
            if mode != "keep" and any(mark in lowered for mark in marks) and pattern.search(text):
                codes.add(kind)
                text = pattern.sub(placeholder if mode == "placeholder" else "", text)
        if self._signature is not None:
            cut = self._signature.sub("", text)
            if cut != text:
                codes.add("signature")
                text = cut
        if codes:
            text = re.sub(r"(?<=\S)[ \t]{2,}", " ", re.sub(r"\n{3,}", "\n\n", text)).strip()
        return text, codes
