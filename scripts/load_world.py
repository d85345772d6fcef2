"""`xiaoqi load` world: a sample database and its indexes under one directory, built once.

The directory keeps the embedded PostgreSQL data (``pgdata/``), the generated files
(``sample/``) and the indexes (``var-<encoder>/``), with a marker file per finished step, so a
second soak on the same directory starts in seconds instead of re-encoding 100,000 profiles.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import secrets
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row
from rich.console import Console

console = Console(stderr=True)


def var_dir(root: Path, encoder: str | None) -> Path:
    """The service's var directory for this encoder (indexes are encoder-specific)."""
    from models.encoder import resolve_name

    return root / f"var-{resolve_name(encoder).replace('/', '_')}"


def _step(root: Path, name: str) -> Path:
    return root / f".done-{name}"


def _sample_limits(enterprises: int) -> None:
    """A large world's generated files exceed the limits an uploaded import gets (200 MB, 1,000,000
    rows): at 1,000,000 enterprises needs.jsonl is 790 MB and enterprises.csv 345 MB. Raised for
    this process's own sample only; a value already set is kept."""
    from service.config import get_settings

    if enterprises > 200_000:
        os.environ.setdefault("XIAOQI_IMPORT_MAX_EXPANDED_BYTES", str(4 << 30))
        os.environ.setdefault("XIAOQI_IMPORT_MAX_ROWS", str(5 * enterprises))
        get_settings.cache_clear()


def prepare(root: Path, enterprises: int, seed: int, encoder: str | None) -> dict[str, Any]:
    """Start (or reuse) the world's database, load the sample once and build the indexes once;
    the seconds of every step that ran this time."""
    from scripts.bench_serve import _load_engine
    from scripts.sample_cli import generate_sample
    from service.embedded_pg import ensure_server
    from service.reference import setup_database
    from service.sample.load import load_dir

    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)  # the embedded server may run as another system user
    marker = root / "world.json"
    if marker.exists():
        have = json.loads(marker.read_text())
        if (have["enterprises"], have["seed"]) != (enterprises, seed):
            raise SystemExit(f"{root} holds a world of {have}; choose another --data-dir")
    marker.write_text(json.dumps({"enterprises": enterprises, "seed": seed}))
    took: dict[str, Any] = {}
    url = ensure_server(root / "pgdata").uri
    with psycopg.connect(url, row_factory=dict_row) as conn:
        setup_database(conn)
    if not _step(root, "sample").exists():
        t0 = time.perf_counter()
        with contextlib.redirect_stdout(sys.stderr):  # stdout is the soak's JSON
            generate_sample(root / "sample", enterprises, seed)
        _sample_limits(enterprises)
        with psycopg.connect(url, row_factory=dict_row) as conn:
            load_dir(conn, root / "sample")
        took["sample_s"] = round(time.perf_counter() - t0, 1)
        _step(root, "sample").touch()
    var = var_dir(root, encoder)
    # Opened here on every run, over a plain connection: this builds the indexes the first
    # time and repairs any artefact an earlier run left damaged, before the workers start (a
    # worker rebuilding 100,000 rows itself holds a transaction idle past the service's
    # idle-in-transaction timeout, and its engine fails).
    done = _step(root, f"indexes-{var.name}")
    console.print(f"opening indexes in {var} (encoder {encoder or 'default'}) …")
    t0 = time.perf_counter()
    engine = _load_engine(url, var, encoder)
    del engine
    took["index_build_s" if not done.exists() else "index_open_s"] = round(
        time.perf_counter() - t0, 1
    )
    done.touch()
    took["url"] = url
    took["var"] = str(var)
    return took


@dataclass
class Accounts:
    admin_token: str
    reviewers: list[tuple[str, str]]  # (username, password)


def create_accounts(url: str) -> Accounts:
    """A province admin with an API token and two province-wide reviewers with passwords, made
    through the auth service (the same code `xiaoqi user add` / `user token` run)."""
    from service.auth.schemas import UserCreate
    from service.auth.service import create_token, create_user

    tag = secrets.token_hex(3)
    connection: Any = psycopg.connect(url, row_factory=dict_row)  # the service's row type
    with connection as conn:
        admin = create_user(
            conn,
            UserCreate(
                username=f"load_admin_{tag}",
                password=secrets.token_urlsafe(12),
                role="province_admin",
            ),
            actor_id=None,
        )
        token = create_token(conn, admin, "load")["token"]
        reviewers = []
        for side in "ab":
            name, password = f"load_rev_{side}_{tag}", secrets.token_urlsafe(12)
            create_user(
                conn,
                UserCreate(username=name, password=password, role="reviewer", region="410000"),
                actor_id=None,
            )
            reviewers.append((name, password))
        conn.commit()
    return Accounts(token, reviewers)


@dataclass
class World:
    """What clients draw from, read once at the start."""

    schools: list[dict[str, Any]]
    enterprise_ids: list[int]
    programmes: list[dict[str, Any]]
    cities: list[str]
    terms: list[str]
    import_rows: list[dict[str, Any]]

    @classmethod
    def read(cls, url: str, seed: int) -> World:
        with psycopg.connect(url, row_factory=dict_row) as c:
            schools = c.execute(
                """SELECT s.id, split_part(r.path, '.', 2) AS city FROM schools s
                   JOIN regions r ON r.id = s.region_id ORDER BY s.id"""
            ).fetchall()
            ents = [
                r["id"]
                for r in c.execute("SELECT id FROM enterprises ORDER BY random() LIMIT 5000")
            ]
            progs = c.execute("SELECT id, school_id FROM programmes ORDER BY id").fetchall()
            cities = [r["code"] for r in c.execute("SELECT code FROM regions WHERE level='city'")]
            names = [
                r["name"]
                for r in c.execute("SELECT name FROM enterprises ORDER BY random() LIMIT 500")
            ]
            rows = c.execute(
                """SELECT e.name, array_to_string(e.industry_codes, '；') AS industries,
                          r.code AS region, e.description
                   FROM enterprises e JOIN regions r ON r.id = e.region_id
                   WHERE e.description <> '' ORDER BY e.id LIMIT 200"""
            ).fetchall()
        rng = random.Random(seed)
        # whole names (exact hits), their first characters, and industry words
        terms = names[:200] + [n[:4] for n in names[200:]] + ["数控", "软件开发", "新能源汽车"]
        rng.shuffle(terms)
        return cls(schools, ents, progs, cities, terms, rows)


def main() -> None:
    """``python -m scripts.load_world ROOT N [ENCODER]``: build ahead of a soak."""
    root, n = Path(sys.argv[1]), int(sys.argv[2])
    encoder = sys.argv[3] if len(sys.argv) > 3 else None
    print(json.dumps(prepare(root, n, 7, encoder)))


if __name__ == "__main__":
    main()
