"""Backups: `xiaoqi db dump` / `xiaoqi db restore` (pg_dump custom format, see service.py)."""
