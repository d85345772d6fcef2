"""The coverage report of seed 004's quotas, per region: each leading industry should be served
by 5–10 schools, each school should serve 2–3 industries (maxima from Settings). An industry
(GB/T 4754 division) is served by a school when the school or one of its programmes has an
active partnership with an enterprise of that division. As XLSX (two sheets) and a PNG chart.

Read from PostgreSQL (not the engine's graph), so the report needs no loaded engine."""

from __future__ import annotations

import io
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import psycopg

from models.graph import industry_division
from service.exports import repository as repo
from service.exports.writer import Format, write_table

MIN_SCHOOLS = 5
MIN_INDUSTRIES = 2
STATUS = {"under": "不足", "ok": "达标", "over": "超出"}


def _status(n: int, low: int, high: int) -> str:
    return "under" if n < low else ("over" if n > high else "ok")


@dataclass
class Report:
    title: str
    industries: list[dict[str, Any]]  # region, code, name, schools, status
    schools: list[dict[str, Any]]  # region, name, divisions, status
    max_schools: int
    max_industries: int


def build(
    conn: psycopg.Connection[Any],
    path: str | None,
    title: str,
    *,
    max_schools: int,
    max_industries: int,
) -> Report:
    served: dict[int, set[str]] = defaultdict(set)
    info: dict[int, dict[str, Any]] = {}
    for r in repo.school_industries(conn, path):
        info.setdefault(r["id"], r)
        for code in r["industry_codes"] or []:
            if d := industry_division(code):
                served[r["id"]].add(d)
    schools = [
        {
            "region": s["region_name"],
            "name": s["name"],
            "divisions": sorted(served[sid]),
            "status": _status(len(served[sid]), MIN_INDUSTRIES, max_industries),
        }
        for sid, s in info.items()
    ]
    industries = []
    for li in repo.leading_industries(conn, path):
        division = industry_division(li["code"])
        # schools of that region (a province's industry: all schools in the report) serving it
        n = sum(
            1
            for sid, s in info.items()
            if division in served[sid]
            and (s["path"] == li["path"] or s["path"].startswith(li["path"] + "."))
        )
        industries.append(
            {
                "region": li["region_name"],
                "code": li["code"],
                "name": li["name"],
                "schools": n,
                "status": _status(n, MIN_SCHOOLS, max_schools),
            }
        )
    return Report(title, industries, schools, max_schools, max_industries)


def xlsx(report: Report, fmt: Format = "xlsx") -> bytes:
    """Sheet 主导产业覆盖 (XLSX holds both tables: the school table follows on the same sheet
    under its own header when written as CSV)."""
    quota_i = f"{MIN_SCHOOLS}–{report.max_schools}"
    quota_s = f"{MIN_INDUSTRIES}–{report.max_industries}"
    rows: list[list[Any]] = [
        [i["region"], i["code"], i["name"], i["schools"], quota_i, STATUS[i["status"]]]
        for i in report.industries
    ]
    rows.append([])
    rows.append(["地区", "学校", "服务产业数", "服务产业（门类大类代码）", "配额", "状态"])
    rows += [
        [
            s["region"],
            s["name"],
            len(s["divisions"]),
            "、".join(s["divisions"]),
            quota_s,
            STATUS[s["status"]],
        ]
        for s in report.schools
    ]
    under_i = sum(i["status"] == "under" for i in report.industries)
    over_s = sum(s["status"] == "over" for s in report.schools)
    line = (
        f"主导产业 {len(report.industries)} 个，服务学校不足 {MIN_SCHOOLS} 所的 {under_i} 个；"
        f"学校 {len(report.schools)} 所，服务产业超过 {report.max_industries} 个的 {over_s} 所"
    )
    return write_table(
        fmt,
        ["地区", "产业代码", "主导产业", "服务学校数", "配额", "状态"],
        rows,
        title=report.title,
        lines=[line],
        sheet="覆盖情况",
        widths=(16, 28, 28, 18, 10, 10),
    )


def png(report: Report) -> bytes:
    """Bars: schools per leading industry, the 5–max quota band shaded; bars coloured by status.
    Labels are codes (the page shows the names): the server may have no CJK font."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    items = report.industries or [{"code": "-", "region": "", "schools": 0, "status": "under"}]
    labels = [f"{i['code']}" for i in items]
    values = [i["schools"] for i in items]
    colours = {"under": "#d9534f", "ok": "#5cb85c", "over": "#f0ad4e"}
    fig, ax = plt.subplots(figsize=(8, max(2.5, 0.35 * len(items) + 1.2)), dpi=100)
    ax.axvspan(MIN_SCHOOLS, report.max_schools, color="#5cb85c", alpha=0.12, lw=0)
    ax.barh(range(len(items)), values, color=[colours[i["status"]] for i in items])
    ax.set_yticks(range(len(items)), labels)
    ax.invert_yaxis()
    ax.set_xlabel(f"schools per leading industry (quota {MIN_SCHOOLS}-{report.max_schools})")
    ax.set_xlim(0, max([report.max_schools + 2, *values]) + 1)
    for y, v in enumerate(values):
        ax.text(v + 0.1, y, str(v), va="center", fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()
