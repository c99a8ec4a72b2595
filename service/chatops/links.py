"""Short-lived download links for a job's data set (and a version's QC report), for people in a chat.

A link is ``<public url>/chat/datasets/<token>``; the token (itsdangerous'
``URLSafeTimedSerializer``: an HMAC-SHA256-signed, timestamped payload) names the job and the
format and expires after ``ttl_s``. The signing secret is ``DIALOGFORGE_CHATOPS_LINK_SECRET``,
or else a random one kept in the data directory (mode 0600), so links survive a restart. A
link is the only credential the route asks for: whoever holds it can download that one file
until it expires, like a presigned object-store URL. ``status <id>`` in the chat gives a fresh
link.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from itsdangerous import BadSignature, URLSafeTimedSerializer

from graph.datasets.export import EXPORT_FORMATS, ExportFormat

LINK_PATH = "/chat/datasets"
REPORT_PATH = "/chat/reports"
SECRET_FILE = "chat-link.key"
_SALT = "dialogforge.chat.dataset-link"
_REPORT_SALT = "dialogforge.chat.report-link"


class InvalidLinkError(Exception):
    """The token is forged, damaged or expired."""


@dataclass(frozen=True)
class DatasetLink:
    """What a valid token grants: one job's data set in one format."""

    job_id: str
    format: ExportFormat


def link_secret(data_dir: Path, configured: str | None, file_name: str = SECRET_FILE) -> str:
    """Return the configured secret, else the data directory's own (created on first use, mode 0600).

    ``file_name`` names the file, so each use (chat links, review sessions) has its own secret.
    """
    if configured:
        return configured
    path = data_dir / file_name
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        data_dir.mkdir(parents=True, exist_ok=True)
        secret = secrets.token_urlsafe(32)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secret)
        return secret


class DownloadLinks:
    """Make and check the tokens of download links."""

    def __init__(self, secret: str, ttl_s: float, public_url: str | None = None) -> None:
        """Sign with ``secret``; links last ``ttl_s`` seconds; ``public_url`` makes them absolute."""
        self._serializer = URLSafeTimedSerializer(secret, salt=_SALT)
        self._reports = URLSafeTimedSerializer(secret, salt=_REPORT_SALT)  # a report token is no data set token
        self.ttl_s = ttl_s
        self.public_url = (public_url or "").rstrip("/")

    def url(self, job_id: str, fmt: ExportFormat) -> str:
        """Return a link to the job's data set in ``fmt``, valid for ``ttl_s``."""
        token = self._serializer.dumps([job_id, fmt])
        return f"{self.public_url}{LINK_PATH}/{token}"

    def check(self, token: str) -> DatasetLink:
        """Return what a token grants.

        Raises:
            InvalidLinkError: The token is forged, damaged or older than ``ttl_s``.
        """
        try:
            job_id, fmt = self._serializer.loads(token, max_age=max(1, round(self.ttl_s)))
        except (BadSignature, ValueError, TypeError):
            raise InvalidLinkError("this download link is invalid or has expired") from None
        if not isinstance(job_id, str) or fmt not in EXPORT_FORMATS:
            raise InvalidLinkError("this download link is invalid or has expired")
        return DatasetLink(job_id, fmt)

    def report_url(self, ref: str) -> str:
        """Return a link to the chat QC report of version ``ref`` (``name@N``), valid for ``ttl_s``."""
        return f"{self.public_url}{REPORT_PATH}/{self._reports.dumps(ref)}"

    def check_report(self, token: str) -> str:
        """Return the version a report token names.

        Raises:
            InvalidLinkError: The token is forged, damaged or older than ``ttl_s``.
        """
        try:
            ref = self._reports.loads(token, max_age=max(1, round(self.ttl_s)))
        except (BadSignature, ValueError, TypeError):
            raise InvalidLinkError("this report link is invalid or has expired") from None
        if not isinstance(ref, str):
            raise InvalidLinkError("this report link is invalid or has expired")
        return ref
