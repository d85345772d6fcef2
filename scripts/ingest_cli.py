"""`xiaoqi import FILE --kind K` and `xiaoqi bench import`: thin wrappers over service.ingest."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from service.ingest.service import KINDS

err = Console(stderr=True)
ERRORS_SHOWN = 30
ProgressFn = Callable[[str, int, int | None], None]
KindChoice = Enum("KindChoice", {name: name for name in KINDS}, type=str)  # type: ignore[misc]


@contextmanager
def progress_bar(label: str, *, quiet: bool = False) -> Iterator[ProgressFn]:
    """A rich progress bar on stderr fed by import_file's progress(phase, done, total)."""
    if quiet:
        yield lambda phase, done, total: None
        return
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        tasks: dict[str, Any] = {}
        names = {"read": f"{label} 读取校验", "write": f"{label} 写入数据库"}

        def update(phase: str, done: int, total: int | None) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(names.get(phase, phase), total=total)
            bar.update(tasks[phase], completed=done, total=total)

        yield update


def _print_report(report: Any) -> None:
    status = "[green]已提交[/]" if report.committed else "[red]未写入任何数据[/]"
    if report.dry_run:
        status = "[yellow]预览（未写入任何数据）[/]"
    err.print(f"{report.filename}（{report.format or '?'}，{report.encoding or '-'}）：{status}")
    err.print(f"导入类型：{report.kind}")
    for notice in report.notices:
        err.print(
            f"提示：{'第 ' + str(notice.row) + ' 行：' if notice.row else ''}{notice.message}"
        )
    summary = Table(show_header=True)
    for col in ("数据行", "新增", "更新", "未变", "拒绝", "耗时(s)"):
        summary.add_column(col, justify="right")
    summary.add_row(
        *(
            str(v)
            for v in (
                report.total,
                report.inserted,
                report.updated,
                report.unchanged,
                report.rejected,
                report.seconds,
            )
        )
    )
    err.print(summary)
    if report.ignored_columns:
        err.print(f"已忽略未识别的列：{'、'.join(report.ignored_columns)}")
    if report.dry_run and report.rows:
        labels = {"insert": "新增", "update": "更新", "unchanged": "未变", "rejected": "拒绝"}
        rows = Table("行", "结果", "表", "记录", show_header=True)
        for o in report.rows[:ERRORS_SHOWN]:
            rows.add_row(str(o.row), labels.get(o.action, o.action), o.table or "-", o.key or "")
        err.print(rows)
        if len(report.rows) > ERRORS_SHOWN:
            err.print(f"……共 {len(report.rows)} 条（用 --json 查看全部）")
    if report.errors:
        errors = Table("行", "列", "值", "原因", show_header=True)
        for e in report.errors[:ERRORS_SHOWN]:
            errors.add_row(str(e.row or "-"), e.column or "-", (e.value or "")[:40], e.reason)
        err.print(errors)
        more = len(report.errors) - ERRORS_SHOWN
        if more > 0:
            err.print(f"……另有 {more} 条错误（用 --json 查看全部）")


def import_command(
    file: Path = typer.Argument(..., help="CSV / XLSX / JSON Lines 文件"),
    kind: KindChoice | None = typer.Option(
        None, "--kind", help="导入类型（省略则按表头识别，并说明按哪种类型读取）"
    ),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help="跳过错误行，只写入有效行"),
    sheet: str | None = typer.Option(None, "--sheet", help="XLSX 工作表名（默认第一个）"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出报告"),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="预览：逐行报告将新增/更新/未变/拒绝什么，不写入任何数据"
    ),
) -> None:
    """Import a file of schools, programmes, enterprises, needs, mentors, practice bases, parks,
    partnerships or the 结对包联 pairing table. All-or-nothing unless --skip-invalid."""
    from service.db import connect
    from service.ingest.service import import_file
    from service.reference import setup_database

    with connect() as conn:
        setup_database(conn)
        with progress_bar(file.name, quiet=as_json) as progress:
            report = import_file(
                conn,
                file,
                file.name,
                kind.value if kind is not None else None,
                skip_invalid=skip_invalid,
                sheet=sheet,
                progress=progress,
                dry_run=dry_run,
            )
        if report.committed and not dry_run:
            conn.commit()
        else:
            conn.rollback()
    if as_json:
        print(report.model_dump_json())
    else:
        _print_report(report)
    ok = report.committed or (dry_run and report.total > 0)
    raise typer.Exit(0 if ok else 1)


def bench_import_command(
    enterprises: int = typer.Option(100_000, "--enterprises", min=1, help="rows to generate"),
    seed: int = typer.Option(7, help="random seed of the generated file"),
    baseline: bool = typer.Option(
        True, "--baseline/--no-baseline", help="also time plain row-by-row INSERTs"
    ),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object as the last line"),
) -> None:
    """Time importing N generated enterprises into a throwaway embedded PostgreSQL: first import,
    idempotent re-import and a row-by-row INSERT baseline."""
    from scripts.bench_import import run

    result = run(
        enterprises,
        seed=seed,
        baseline=baseline,
        progress=lambda label: progress_bar(label, quiet=as_json),
    )
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
        return
    table = Table("phase", "rows", "seconds", "rows/s", "peak RSS MiB", "notes")
    for name, phase in result["phases"].items():
        table.add_row(
            name,
            str(phase["rows"]),
            f"{phase['seconds']:.2f}",
            f"{phase['rows_per_s']:,.0f}",
            f"{phase['peak_rss_mib']:.0f}",
            phase.get("notes", ""),
        )
    Console().print(table)
    if "speedup_vs_baseline" in result:
        Console().print(f"first import is {result['speedup_vs_baseline']}× the baseline's speed")


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    app.command("import")(import_command)
    bench_app.command("import")(bench_import_command)
