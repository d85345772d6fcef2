"""The catalogue import kinds, one module each (service/ingest/builders.py lists them)."""
