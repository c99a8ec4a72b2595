"""Review sessions: the login form exchanges an API key and a reviewer name for a signed cookie.

A browser cannot send ``Authorization: Bearer`` with a link or a form, and a key kept in page
script could be read by any script that ran there. So ``POST /review/login`` checks the key once
(the same keys as the API, compared in constant time) and sets a cookie that is ``HttpOnly`` (no
script can read it), ``SameSite=Strict`` (no other site's page can send it), ``Secure`` over
HTTPS, limited to ``/review``, and signed with itsdangerous (HMAC-SHA256, timestamped, at most
``max_age_s`` old). It names the reviewer, a fingerprint of the key (an HMAC of it, so removing a
key from ``DIALOGFORGE_API_KEYS`` ends its sessions at the next request) and a random CSRF token
that every form posts back. The key itself is never stored, echoed or logged. Without configured
keys the service is loopback-only and the login asks only for the reviewer's name.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer

from service.http.deps import key_matches

COOKIE = "dialogforge_review"
COOKIE_PATH = "/review"
_SALT = "dialogforge.review.session"


@dataclass(frozen=True)
class ReviewSession:
    """Who is reviewing, and the token their forms must carry."""

    reviewer: str
    csrf: str
    key_id: str


class ReviewSessions:
    """Issue and check review session cookies."""

    def __init__(self, secret: str, keys: list[bytes], max_age_s: int = 12 * 3600) -> None:
        """Sign with ``secret``; ``keys`` are the API keys (empty: loopback-only, no key asked)."""
        self._serializer = URLSafeTimedSerializer(secret, salt=_SALT)
        self._secret = secret.encode()
        self.keys = keys
        self.max_age_s = max_age_s

    @property
    def needs_key(self) -> bool:
        """Whether logging in needs an API key."""
        return bool(self.keys)

    def _key_id(self, key: bytes) -> str:
        return hmac.new(self._secret, key, hashlib.sha256).hexdigest()[:24]

    def login(self, key: str, reviewer: str) -> tuple[ReviewSession, str] | None:
        """Return the new session and its cookie value, or None when the key is wrong."""
        if self.keys and not key_matches(key, self.keys):
            return None
        session = ReviewSession(reviewer, secrets.token_urlsafe(24), self._key_id(key.encode()) if self.keys else "")
        return session, self._serializer.dumps([session.reviewer, session.csrf, session.key_id])

    def check(self, cookie: str | None) -> ReviewSession | None:
        """Return the session of a cookie, or None when it is missing, forged, expired or its key was removed."""
        if not cookie:
            return None
        try:
            reviewer, csrf, key_id = self._serializer.loads(cookie, max_age=self.max_age_s)
        except (BadSignature, ValueError, TypeError):
            return None
        if not all(isinstance(part, str) for part in (reviewer, csrf, key_id)):
            return None
        if self.keys and not any(hmac.compare_digest(key_id, self._key_id(key)) for key in self.keys):
            return None
        return ReviewSession(reviewer, csrf, key_id)
