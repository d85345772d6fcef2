"""Derive the slim catalogues shipped in data/ from the public catalogues in ../shared/data.

Run once when the upstream catalogues change:
    python -m service.sample.derive ../shared/data/catalogs
It writes data/catalogs/*.csv (what the sample generator reads at run time) and
data/reference/industries.csv (GB/T 4754-2017: code, name, level, parent).
"""

from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

from service.config import REPO_ROOT

CATALOGS = REPO_ROOT / "data" / "catalogs"
INDUSTRIES_CSV = REPO_ROOT / "data" / "reference" / "industries.csv"
LEVELS = {"1": "section", "2": "division", "3": "group", "4": "class"}
# Occupation major groups kept: 2 professional/technical, 4 services, 5 agriculture, 6 production.
OCCUPATION_GROUPS = ("2-", "4-", "5-", "6-")


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def derive_industries(src: Path) -> None:
    source = _read(src / "industries_gbt4754_2017.csv")
    groups = {r["code"].strip() for r in source if r["level"] == "3"}
    rows = []
    seen: set[str] = set()
    for r in source:
        level = LEVELS[r["level"]]
        if r["code"] in seen and level == "group":
            # The source lists 飞机制造 as a second group 374; in the standard it is class 3741.
            r = {**r, "code": r["code"] + "1", "class": r["code"] + "1"}
            level = "class"
        seen.add(r["code"])
        # Only 275 of 473 groups are in the source: a class without its group hangs off the
        # division, so every parent_code exists in the file.
        group = r["group"].strip() if r["group"].strip() in groups else ""
        parent = {
            "section": "",
            "division": r["section"],
            "group": r["division"],
            "class": group or r["division"],
        }[level]
        rows.append([r["code"].strip(), r["name"].strip(), level, parent.strip()])
    _write(INDUSTRIES_CSV, ["code", "name", "level", "parent_code"], rows)


def _first_items(text: str, n: int) -> str:
    # "1. ...； 2. ...；" → the first n numbered items (the rest adds size, not signal)
    parts = re.split(r"\s*(?=\b\d+\.\s)", text.strip())
    parts = [p for p in parts if p]
    return " ".join(parts[:n])


def _core_courses(text: str) -> str:
    m = re.search(r"专业核心课程[:：](.*?)(?:实习实训[:：]|$)", text)
    return (m.group(1) if m else text).strip()


def derive_vocational(src: Path) -> None:
    rows = []
    for r in _read(src / "vocational_major_profiles_2022.csv"):
        m = re.match(r"(\d{4})\s*(.+?)\.md$", r["source_file"])
        class_code, class_name = (m.group(1), m.group(2)) if m else ("", "")
        rows.append(
            [
                r["major_code"],
                r["major_name"],
                r["level"],
                class_code,
                class_name,
                r["career_orientation"],
                r["training_goal"],
                _first_items(r["abilities"], 4),
                _core_courses(r["courses"]),
            ]
        )
    _write(
        CATALOGS / "vocational_majors.csv",
        [
            "major_code",
            "major_name",
            "level",
            "class_code",
            "class_name",
            "career_orientation",
            "training_goal",
            "abilities",
            "core_courses",
        ],
        rows,
    )


def derive_undergrad(src: Path) -> None:
    rows = [
        [
            r["major_code"],
            r["major_name"],
            r["discipline"],
            r["class_code"],
            r["class_name"],
            r["degree"],
            r["years"],
        ]
        for r in _read(src / "undergrad_majors_2024.csv")
    ]
    _write(
        CATALOGS / "undergrad_majors.csv",
        ["major_code", "major_name", "discipline", "class_code", "class_name", "degree", "years"],
        rows,
    )


def derive_universities(src: Path) -> None:
    rows = [
        [r["code"], r["name"], r["address"], r["level"], r["remarks"], r["department"]]
        for r in _read(src / "universities_moe_list.csv")
        if r["province_from_code"] == "河南"
    ]
    _write(
        CATALOGS / "henan_universities.csv",
        ["code", "name", "city", "level", "remarks", "department"],
        rows,
    )


def derive_occupations(src: Path) -> None:
    # The PDF-extraction spaces are kept on purpose: the product must normalise them. The "L/"
    # after some names is the 绿色职业 marker split off by the PDF (kept in `marker` upstream).
    rows = [
        [r["code"], re.sub(r"\s*L/$", "", r["name"]), r["definition"], r["tasks"]]
        for r in _read(src / "occupations_2022.csv")
        if r["code"].startswith(OCCUPATION_GROUPS) and r["definition"]
    ]
    _write(CATALOGS / "occupations.csv", ["code", "name", "definition", "tasks"], rows)


def main(src: Path) -> None:
    CATALOGS.mkdir(parents=True, exist_ok=True)
    derive_industries(src)
    derive_vocational(src)
    derive_undergrad(src)
    derive_universities(src)
    derive_occupations(src)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO_ROOT.parent / "shared/data/catalogs")
