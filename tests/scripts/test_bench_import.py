"""The import benchmark end to end on a small N (slow: it starts its own PostgreSQL)."""

from __future__ import annotations

import pytest

from models.codes import is_valid_credit_code
from scripts.bench_import import credit_code


def test_generated_codes_are_valid_and_unique() -> None:
    codes = [credit_code(i, "410100") for i in range(5000)]
    assert len(set(codes)) == 5000 and all(map(is_valid_credit_code, codes))


@pytest.mark.slow
def test_bench_run_small() -> None:
    from scripts.bench_import import run

    result = run(500)
    phases = result["phases"]
    assert phases["first"]["inserted"] == 500
    assert phases["reimport"]["unchanged"] == 500 and phases["reimport"]["inserted"] == 0
    assert phases["baseline"]["rows"] == 500
