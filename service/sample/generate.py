"""Generate the realistic Henan sample: one import file per kind, streamed row by row.

Everything that scales with the number of enterprises (enterprises, their needs, industry
professors, practice bases and partnerships) is written as it is made; memory holds only the
fixed world (schools, programmes, parks, groups) and the names of practice bases (which must be
unique). Deterministic for a given seed.
"""

from __future__ import annotations

import time
from pathlib import Path

from service.sample import formats as fmt
from service.sample.gen_base import Manifest, ProgressFn, credit_code
from service.sample.gen_enterprises import EnterpriseStream
from service.sample.writers import open_sink

__all__ = ["Generator", "Manifest", "credit_code", "generate"]


class Generator(EnterpriseStream):
    """Base state (gen_base) → the fixed world (gen_fixed) → the enterprise stream
    (gen_enterprises); `run` writes every file."""

    def run(self, progress: ProgressFn | None = None) -> Manifest:
        start = time.perf_counter()
        self.out_dir.mkdir(parents=True, exist_ok=True)
        for spec in fmt.ALL:
            self.sinks[spec.kind] = open_sink(self.out_dir, spec)
        try:
            self._fixed()
            self._enterprises(progress)
        finally:
            for sink in self.sinks.values():
                sink.close()
        manifest = Manifest(self.seed, self.n, seconds=round(time.perf_counter() - start, 2))
        for spec in fmt.ALL:
            manifest.counts[spec.kind] = self.sinks[spec.kind].count
            manifest.files[spec.kind] = spec.filename
        (self.out_dir / "manifest.json").write_text(manifest.to_json(), encoding="utf-8")
        return manifest

    # -- the fixed world and what hangs off schools and parks -------------------------------


def generate(
    out_dir: Path,
    enterprises: int = 3000,
    seed: int = 7,
    progress: ProgressFn | None = None,
    *,
    max_schools: int | None = None,
) -> Manifest:
    """Write the sample files for `enterprises` enterprise records (duplicates included).
    `max_schools` keeps only a subset of schools (for the small committed showcase)."""
    if enterprises < 1:
        raise ValueError("enterprises must be at least 1")
    return Generator(out_dir, enterprises, seed, max_schools).run(progress)
