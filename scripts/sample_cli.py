"""`xiaoqi sample`: generate the realistic Henan sample dataset and (by default) load it."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

console = Console()


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )


def generate_sample(out: Path, enterprises: int, seed: int) -> dict[str, int]:
    from service.sample.generate import generate

    with _progress() as bar:
        task = bar.add_task("生成企业及其需求、导师、基地、合作", total=enterprises)
        manifest = generate(out, enterprises, seed, progress=lambda n: bar.advance(task, n))
    table = Table("类别 kind", "文件 file", "行数 rows")
    for kind, count in manifest.counts.items():
        table.add_row(kind, manifest.files[kind], f"{count:,}")
    console.print(table)
    console.print(f"生成用时 {manifest.seconds:.1f} s，输出目录 {out}")
    return manifest.counts


def load_sample_dir(out: Path) -> None:
    from service.db import connect
    from service.reference import setup_database
    from service.sample.load import load_dir

    with connect() as conn, _progress() as bar:
        setup_database(conn)
        tasks: dict[str, TaskID] = {}

        def step(kind: str, done: int, total: int | None) -> None:
            if kind not in tasks:
                tasks[kind] = bar.add_task(f"导入 {kind}", total=total)
            bar.update(tasks[kind], completed=done, total=total)

        load_dir(conn, out, progress=step)
    console.print("[green]样例数据已导入[/]")


def load_sample(enterprises: int = 3000, seed: int = 7) -> None:
    """What `xiaoqi demo` runs on an empty database: generate into var/sample/ and load it."""
    from service.config import get_settings

    out = get_settings().var_dir / "sample"
    generate_sample(out, enterprises, seed)
    load_sample_dir(out)


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    @app.command("sample")
    def sample(
        enterprises: int = typer.Option(
            3000,
            "--enterprises",
            "-n",
            min=1,
            help="enterprise records to generate (duplicates included)",
        ),
        seed: int = typer.Option(7, help="random seed: the same seed gives the same files"),
        out: Path | None = typer.Option(None, help="output directory (default var/sample)"),
        load: bool = typer.Option(True, "--load/--no-load", help="import the files afterwards"),
        trace_memory: bool = typer.Option(False, help="report peak traced Python memory"),
    ) -> None:
        """Generate the realistic Henan sample (schools, programmes, parks, enterprises, needs,
        mentors, practice bases, partnerships) as import files, and load them."""
        from service.config import get_settings

        target = out or get_settings().var_dir / "sample"
        if trace_memory:
            tracemalloc.start()
        generate_sample(target, enterprises, seed)
        if trace_memory:
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            console.print(f"峰值内存（tracemalloc）{peak / 2**20:.1f} MiB")
        if load:
            load_sample_dir(target)
