"""Retrieval commands: ``xiaoqi eval`` and ``xiaoqi bench index`` (plus the user-dictionary build).

The lead's ``scripts/cli.py`` calls :func:`register`; ``python -m scripts.retrieval_cli --help``
runs the same commands standalone.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Annotated

import typer

from models.text import USERDICT_PATH, normalize

METRIC_COLUMNS = ("nDCG@10", "Recall@10", "Recall@100", "MRR@10", "seconds")

_PAREN = re.compile(r"\([^)]*\)")
_CJK_ONLY = re.compile(r"^[\u4e00-\u9fff]{2,12}$")


def _catalog_terms(catalog_dir: Path) -> set[str]:
    """Domain words from the majors, occupations and industries catalogues."""
    sources = {
        "undergrad_majors_2024.csv": ("major_name", "class_name", "discipline"),
        "vocational_major_profiles_2022.csv": ("major_name",),
        "occupations_2022.csv": ("name",),
        "industries_gbt4754_2017.csv": ("name",),
    }
    terms: set[str] = set()
    for fname, cols in sources.items():
        with open(catalog_dir / fname, encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                for col in cols:
                    name = _PAREN.sub("", normalize(row.get(col) or ""))
                    for part in re.split(r"[，、/;；和与及]", name):
                        part = part.strip()
                        if _CJK_ONLY.match(part):
                            terms.add(part)
    return terms


def build_userdict(catalog_dir: Path, out: Path = USERDICT_PATH, freq: int = 20000) -> int:
    """Write a jieba user dictionary (``word freq n``) derived from the catalogues."""
    terms = sorted(_catalog_terms(catalog_dir))
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", encoding="utf-8") as fh:
        fh.write("".join(f"{t} {freq} n\n" for t in terms))
    return len(terms)


tools = typer.Typer(help="Retrieval maintenance commands.", no_args_is_help=True)


@tools.callback()
def _tools_root() -> None:
    """Retrieval commands (eval, bench-index, build-userdict)."""


@tools.command("build-userdict")
def build_userdict_cmd(
    catalog_dir: Annotated[Path, typer.Argument(help="folder with the catalogue CSVs")] = Path(
        "../shared/data/catalogs"
    ),
    out: Annotated[Path, typer.Option(help="output path")] = USERDICT_PATH,
) -> None:
    """Derive data/retrieval/userdict.txt from the catalogues (majors, occupations, industries)."""
    n = build_userdict(catalog_dir, out)
    typer.echo(f"wrote {n} terms to {out}")


def eval_cmd(
    bench_dirs: Annotated[
        list[Path], typer.Argument(help="BEIR folder(s): corpus.jsonl, queries.jsonl, qrels/")
    ],
    split: Annotated[str, typer.Option("--split", help="qrels split (qrels/SPLIT.tsv)")] = "dev",
    cv: Annotated[
        int, typer.Option("--cv", help="k-fold CV over query ids (0: in-sample only)")
    ] = 0,
    fit: Annotated[
        bool, typer.Option("--fit", help="train the shipped ranking model on all given benches")
    ] = False,
    params: Annotated[
        str,
        typer.Option(
            "--params",
            help='LightGBM parameters (JSON) merged into every grid point; "grid": [...] '
            'replaces the inner-CV grid, "adapters": false turns query adapters off',
        ),
    ] = "{}",
    rounds: Annotated[
        int, typer.Option("--rounds", help="boosting rounds for every grid point (0: the grid's)")
    ] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object last")] = False,
    encoder: Annotated[
        str | None, typer.Option("--encoder", help="encoder name/path (default: XIAOQI_ENCODER)")
    ] = None,
    cache: Annotated[
        Path, typer.Option("--cache", help="folder for cached vectors and indexes")
    ] = Path("/tmp/xiaoqi-eval"),
) -> None:
    """Evaluate the served retrieval (learned stage) against single-method baselines.

    With several benches, ``--cv`` trains each fold on the other folds of all of them (folds by
    query id); ``--fit`` trains and writes data/retrieval/ltr.json + ltr-model.txt first."""
    import sys

    from rich.console import Console

    from models import ltr
    from scripts.eval_bench import evaluate_bench, load_beir, prepare
    from scripts.eval_fit import cross_validate
    from scripts.eval_fit import fit as fit_model

    for d in bench_dirs:
        if not (d / "corpus.jsonl").exists() or not (d / "qrels" / f"{split}.tsv").exists():
            raise typer.BadParameter(f"{d} lacks corpus.jsonl or qrels/{split}.tsv")
    err = Console(stderr=True)
    say = (lambda s: err.log(s)) if as_json else (lambda s: Console().log(s))
    extra = json.loads(params)
    if rounds:
        extra["rounds"] = rounds
    held: dict[str, dict[str, float]] = {}
    if cv or fit:
        preps = [prepare(load_beir(d, split), encoder, cache, None) for d in bench_dirs]
        if cv:
            held = cross_validate(preps, cv, extra, log=say)
        if fit:
            command = "xiaoqi eval " + " ".join(sys.argv[2:])
            model = fit_model(preps, command, extra, cv=held, log=say)
            say(f"shipped {model.manifest['version']} to {ltr.MANIFEST}")
    result: dict[str, object] = {}
    for d in bench_dirs:
        outcome = evaluate_bench(d, split, encoder, cache, log=say)
        cv_row = held.get(d.name)
        _print_table(d.name, split, outcome.metrics, cv_row, err if as_json else Console())
        result[d.name] = {
            "in_sample": {
                m: {c: round(v[c], 4) for c in METRIC_COLUMNS} for m, v in outcome.metrics.items()
            },
            **({"cv": {c: round(v, 4) for c, v in cv_row.items()}, "folds": cv} if cv_row else {}),
        }
    if as_json:
        print(json.dumps(result))


def _print_table(
    name: str,
    split: str,
    metrics: dict[str, dict[str, float]],
    cv_row: dict[str, float] | None,
    console: object,
) -> None:
    from rich.table import Table

    table = Table(title=f"{name} ({split})")
    table.add_column("method")
    for c in METRIC_COLUMNS:
        table.add_column(c, justify="right")
    rows = [("xiaoqi (in-sample)" if cv_row else "xiaoqi", metrics["xiaoqi"])]
    if cv_row:
        rows.append(("xiaoqi (cv, held-out)", {**cv_row, "seconds": float("nan")}))
    rows += [(m, v) for m, v in metrics.items() if m != "xiaoqi"]
    for label, row in rows:
        table.add_row(
            label,
            *(f"{row[c]:.4f}" if c != "seconds" else f"{row[c]:.1f}" for c in METRIC_COLUMNS),
        )
    console.print(table)  # type: ignore[attr-defined]


def bench_index_cmd(
    n: Annotated[int, typer.Option("--n", help="number of vectors")] = 1_000_000,
    dim: Annotated[int, typer.Option("--dim", help="dimension (random/clustered sources)")] = 384,
    source: Annotated[
        str, typer.Option("--source", help="random | clustered | encoder (real encoder vectors)")
    ] = "clustered",
    queries: Annotated[int, typer.Option("--queries", help="number of queries")] = 1000,
    pgvector: Annotated[bool, typer.Option("--pgvector/--no-pgvector")] = True,
    pg_n: Annotated[
        int | None, typer.Option("--pg-n", help="vectors for pgvector (default: --n)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object last")] = False,
    encoder: Annotated[str | None, typer.Option("--encoder")] = None,
) -> None:
    """Benchmark the chosen FAISS index (and pgvector HNSW) against exact search."""
    from scripts.bench_index import run_bench

    result = run_bench(
        n=n,
        dim=dim,
        source=source,
        n_queries=queries,
        pgvector=pgvector,
        pg_n=pg_n,
        encoder_name=encoder,
        quiet=as_json,
    )
    if as_json:
        print(json.dumps(result))


def register(app: typer.Typer, bench: typer.Typer) -> None:
    """Attach ``eval`` to the main app and ``index`` to the ``bench`` group."""
    app.command("eval")(eval_cmd)
    bench.command("index")(bench_index_cmd)


tools.command("eval")(eval_cmd)
tools.command("bench-index")(bench_index_cmd)


if __name__ == "__main__":
    tools()
