"""`xiaoqi plan --region CODE` (a region-wide pairing plan) and `xiaoqi bench plan`."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from scripts.recommend_cli import load_engine

console = Console()


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    @app.command("plan")
    def plan(
        region: Annotated[str, typer.Option(help="GB/T 2260 code of a city or the province")],
        min_schools: Annotated[int, typer.Option(help="schools per leading industry, min")] = 5,
        max_schools: Annotated[int, typer.Option(help="schools per leading industry, max")] = 10,
        min_industries: Annotated[int, typer.Option(help="industries per school, min")] = 2,
        max_industries: Annotated[int, typer.Option(help="industries per school, max")] = 3,
        solver: Annotated[str, typer.Option(help="highs or cpsat")] = "highs",
        allow_shortfall: Annotated[bool, typer.Option(help="plan within the shortfalls")] = False,
        store: Annotated[bool, typer.Option(help="store the plan (for review)")] = True,
        as_json: Annotated[bool, typer.Option("--json")] = False,
    ) -> None:
        """Solve the region's pairing plan exactly and print coverage, shortfalls and pairs."""
        from service.auth.policy import SYSTEM
        from service.db import connect
        from service.plans import service
        from service.plans.schemas import PlanRequest, PlanSettings, Range

        req = PlanRequest(
            region=region,
            settings=PlanSettings(
                schools_per_industry=Range(min=min_schools, max=max_schools),
                industries_per_school=Range(min=min_industries, max=max_industries),
                solver=solver,
                allow_shortfall=allow_shortfall,
            ),
        )
        with connect() as conn:
            engine = load_engine(conn)
            out = service.run(conn, engine, req, SYSTEM, store=store)
            conn.commit()
        if as_json:
            print(out.model_dump_json())
            return
        console.print(f"[bold]{out.region_name}[/] {out.message}")
        console.print(
            f"status {out.status} · objective {out.objective:.4f} · gap {out.gap:.2e} · "
            f"{out.runtime_s:.2f} s ({out.solver}) · pruning bound {out.pruning_bound}"
            + (f" · plan {out.plan_id}" if out.plan_id else "")
        )
        grid = Table("产业 industry", "地区", "现有 before", "方案后 after", "配额 quota")
        for c in out.coverage:
            colour = "green" if c.min <= c.after <= c.max else "red"
            grid.add_row(c.industry_name, c.region_name, str(c.before),
                         f"[{colour}]{c.after}[/]", f"{c.min}–{c.max}")  # fmt: skip
        console.print(grid)
        for s in out.shortfalls:
            console.print(f"[red]✗[/] {s.message}")
        pairs = Table("学校 school", "专业 programme", "企业 enterprise", "产业", "fit")
        for p in out.pairs[:200]:
            pairs.add_row(p.school_name, p.programme_name or "", p.enterprise_name,
                          p.industry_name, f"{p.fit:.3f}")  # fmt: skip
        console.print(pairs)
        if out.status == "infeasible":
            raise typer.Exit(2)

    cohort_app = typer.Typer(help="英才计划 cohorts: shortlist, assign, meetings.",
                             no_args_is_help=True)  # fmt: skip
    app.add_typer(cohort_app, name="cohort")

    @cohort_app.command("shortlist")
    def cohort_shortlist(cohort: int, as_json: Annotated[bool, typer.Option("--json")] = False
                         ) -> None:  # fmt: skip
        """The interview shortlist: at least 3 candidates per mentor seat."""
        _cohort_call("shortlist", cohort, as_json)

    @cohort_app.command("assign")
    def cohort_assign(cohort: int, as_json: Annotated[bool, typer.Option("--json")] = False
                      ) -> None:  # fmt: skip
        """Assign mentors after the interviews (exact; deferred acceptance for comparison)."""
        _cohort_call("assign", cohort, as_json)

    @cohort_app.command("status")
    def cohort_status(cohort: int, as_json: Annotated[bool, typer.Option("--json")] = False
                      ) -> None:  # fmt: skip
        """Assignments with their meetings, and the pairs below 10 meetings."""
        _cohort_call("view", cohort, as_json)

    @bench_app.command("plan")
    def bench_plan(
        as_json: Annotated[bool, typer.Option("--json")] = False,
        enterprises: Annotated[int, typer.Option(help="province instance")] = 10_000,
        scaled_schools: int = 500,
        scaled_industries: int = 30,
        scaled_enterprises: int = 50_000,
        seed: int = 7,
        cpsat: Annotated[bool, typer.Option(help="also solve with OR-Tools CP-SAT")] = True,
    ) -> None:
        """Planner vs greedy top-k vs deferred acceptance on the province and a scaled instance."""
        from scripts.bench_plan import run, table

        figures = run(enterprises, scaled_schools, scaled_industries, scaled_enterprises, seed,
                      cpsat=cpsat)  # fmt: skip
        if as_json:
            print(json.dumps(figures, ensure_ascii=False))
        else:
            console.print(table(figures))
            console.print_json(json.dumps(figures, ensure_ascii=False))


def _cohort_call(what: str, cohort_id: int, as_json: bool) -> None:
    from service.auth.policy import SYSTEM
    from service.cohorts import service
    from service.db import connect

    with connect() as conn:
        if what == "view":
            out = service.view(conn, cohort_id, SYSTEM)
        else:
            engine = load_engine(conn)
            fn = service.shortlist if what == "shortlist" else service.assign
            out = fn(conn, engine, cohort_id, SYSTEM)
        conn.commit()
    if as_json:
        print(json.dumps(out, ensure_ascii=False, default=str))
        return
    if what == "view":
        below = out["below_minimum"]
        console.print(f"{out['name']} {out['year']}: {len(out['assignments'])} 对，"
                      f"见面不足 {out['min_meetings']} 次 {len(below)} 对")  # fmt: skip
        t = Table("学生", "导师", "见面次数")
        for a in below:
            t.add_row(a["student_name"], a["mentor_name"], str(a["meetings"]))
        console.print(t)
    else:
        console.print_json(json.dumps(out, ensure_ascii=False, default=str))
