"""The review web page: sessions (a login exchanging the API key for a signed cookie) and page rendering.

The routes are in ``service/http/routers/review.py``; the review state in ``graph/reviews``.
"""
