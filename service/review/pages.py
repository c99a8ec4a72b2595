"""Render the review pages: Jinja2 templates with autoescaping, and the headers every page carries.

Every value from the data (turns, system prompts, topics, judge reasons) goes through Jinja2's
autoescaping, so a dialogue containing ``<script>`` shows as text; the Content-Security-Policy
allows scripts and styles only from this server's ``/review/static`` files (no inline script, no
other origin), so even a slip in escaping could not run code; pages are never cached or framed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined

HERE = Path(__file__).parent
STATIC = HERE / "static"
_ENV = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True, undefined=StrictUndefined)
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",  # "no-referrer" would make forms send "Origin: null"
    "Cache-Control": "no-store",
}


def item_url(ref: str, sample_id: str) -> str:
    """Return the page of one item (both parts quoted, so any id is safe in the path)."""
    return f"/review/{quote(ref, safe='@')}/items/{quote(sample_id, safe='')}"


def page(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """Render a template into an HTML response with the security headers."""
    context.setdefault("session", None)
    context.setdefault("error", None)
    html = _ENV.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
