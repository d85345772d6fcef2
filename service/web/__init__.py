"""Server-rendered Chinese web UI over the same services as the JSON API."""
