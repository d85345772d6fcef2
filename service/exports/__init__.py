"""Spreadsheets out: the Annex-1 pairing table, lists and runs as CSV/XLSX, blank import
templates, the coverage report. Every cell leaves through `cells.safe` (formula injection)."""
