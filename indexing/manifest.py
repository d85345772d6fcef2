"""Index manifest: what produced an index, so a stale or mismatched one is caught at load."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"


class IndexMismatchError(RuntimeError):
    """The index on disk was built by another encoder / dimension / format than requested."""


class StaleIndexError(RuntimeError):
    """The index on disk was built from another data version than the caller expects."""


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class Manifest:
    entity_type: str
    encoder_id: str
    dim: int
    count: int
    data_version: str
    dense_kind: str  # "flat" | "hnsw"
    dense_params: dict[str, Any] = field(default_factory=dict)
    keyword: dict[str, Any] = field(default_factory=dict)  # tokenizer id, bm25 params
    created_at: str = field(default_factory=utc_now)
    updated_at: str = field(default_factory=utc_now)
    format_version: int = FORMAT_VERSION

    def save(self, directory: Path) -> None:
        path = Path(directory) / MANIFEST_NAME
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), ensure_ascii=False, indent=2), encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def load(cls, directory: Path) -> Manifest:
        path = Path(directory) / MANIFEST_NAME
        if not path.exists():
            raise FileNotFoundError(f"no index manifest at {path}")
        return cls(**json.loads(path.read_text(encoding="utf-8")))

    def check(
        self,
        encoder_id: str,
        dim: int,
        expected_data_version: str | None = None,
        tokenizer_id: str | None = None,
    ) -> None:
        """Raise a clear error when this index does not fit the caller's encoder / data."""
        where = f"index for {self.entity_type!r}"
        if self.format_version != FORMAT_VERSION:
            raise IndexMismatchError(
                f"{where}: format {self.format_version}, this code reads {FORMAT_VERSION}; rebuild"
            )
        if self.encoder_id != encoder_id or self.dim != dim:
            raise IndexMismatchError(
                f"{where} was built with encoder {self.encoder_id!r} (dim {self.dim}) but the "
                f"configured encoder is {encoder_id!r} (dim {dim}); rebuild the index "
                "(xiaoqi index build) or set XIAOQI_ENCODER to the index's encoder"
            )
        if tokenizer_id is not None and self.keyword.get("tokenizer") != tokenizer_id:
            raise IndexMismatchError(
                f"{where}: keyword index tokenizer {self.keyword.get('tokenizer')!r} differs "
                f"from {tokenizer_id!r}; rebuild"
            )
        if expected_data_version is not None and self.data_version != expected_data_version:
            raise StaleIndexError(
                f"{where} is stale: built from data version {self.data_version!r}, the "
                f"database is at {expected_data_version!r}; rebuild the index"
            )
