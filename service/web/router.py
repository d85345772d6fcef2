"""The web UI's routes (no prefix): one router assembled from the page modules."""

from __future__ import annotations

from fastapi import APIRouter

from service.web import pages_insight, pages_match, pages_public, pages_review

router = APIRouter(include_in_schema=False)
for _module in (pages_public, pages_match, pages_review, pages_insight):
    router.include_router(_module.router)
