"""`xiaoqi db dump FILE` and `xiaoqi db restore FILE` (service/backup), added to the `db` group."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

console = Console()


@contextmanager
def _tables_bar(label: str) -> Iterator[Callable[[int, int, str], None]]:
    with Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[table]}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=None, table="")

        def update(done: int, total: int, table: str) -> None:
            bar.update(task, completed=done, total=total, table=table)

        yield update


def _size(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB" if n >= 1 << 20 else f"{n / 1024:.1f} KiB"


def _db_group(app: typer.Typer) -> typer.Typer:
    for group in app.registered_groups:
        if group.name == "db" and group.typer_instance is not None:
            return group.typer_instance
    db = typer.Typer(help="The database.", no_args_is_help=True)
    app.add_typer(db, name="db")
    return db


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    db = _db_group(app)

    @db.command("dump")
    def dump(
        file: Path = typer.Argument(..., help="备份文件（pg_dump 自定义格式 -Fc）"),
    ) -> None:
        """Back the database up to FILE (pg_dump custom format; restore with `db restore`)."""
        from service.backup.service import dump as do_dump
        from service.backup.tools import BackupError
        from service.db import database_url

        try:
            with _tables_bar("备份") as progress:
                result = do_dump(database_url(), file, progress)
        except BackupError as exc:
            console.print(f"[red]{exc}[/]")
            raise typer.Exit(1) from exc
        console.print(
            f"[green]已备份[/] {result.tables} 张表 → {result.path}"
            f"（{_size(result.bytes)}，{result.seconds:.1f} s）"
        )

    @db.command("restore")
    def restore(
        file: Path = typer.Argument(..., help="`xiaoqi db dump` 写出的备份文件"),
        force: bool = typer.Option(
            False, "--force", "--clean", help="目标数据库已有数据时，删除并以备份替换"
        ),
    ) -> None:
        """Restore FILE into the configured database (one transaction: all or nothing).
        Refuses a database that already holds data unless --force / --clean."""
        from service.backup.service import restore as do_restore
        from service.backup.tools import BackupError
        from service.db import database_url

        try:
            with _tables_bar("恢复") as progress:
                result = do_restore(database_url(), file, force=force, progress=progress)
        except BackupError as exc:
            console.print(f"[red]{exc}[/]")
            raise typer.Exit(1) from exc
        replaced = "（已替换原有内容）" if result.replaced else ""
        console.print(
            f"[green]已恢复[/] {result.tables} 张表、{result.rows:,} 行{replaced}"
            f"，用时 {result.seconds:.1f} s"
        )
