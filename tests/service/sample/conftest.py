from __future__ import annotations

from pathlib import Path

import pytest

from service.sample.generate import Manifest, generate

SMALL = 400


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Manifest]:
    """One small sample shared by the read-only tests."""
    out = tmp_path_factory.mktemp("sample")
    return out, generate(out, SMALL, seed=7)
