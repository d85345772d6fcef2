"""The web UI's routes (no prefix): one router assembled from the page modules."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from service.auth.csrf import require_token
from service.web import pages_insight, pages_match, pages_public, pages_review

# Every state-changing page route checks the form's CSRF token (service.auth.csrf).
router = APIRouter(include_in_schema=False, dependencies=[Depends(require_token)])
for _module in (pages_public, pages_match, pages_review, pages_insight):
    router.include_router(_module.router)
