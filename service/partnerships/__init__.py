"""Partnerships: the one guarded way to create one (service.create)."""
