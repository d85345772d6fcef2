"""models/vocab.py is the one home of the vocabularies: the migrated database's CHECK constraints
list exactly its codes, and no second copy of a list or a label table exists in the tree."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import psycopg

from models import vocab as V

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ("service", "models", "indexing", "scripts")

# (table, column) → the vocabulary its CHECK constraint must list.
CHECKED: dict[tuple[str, str], tuple[str, ...]] = {
    ("schools", "kind"): V.SCHOOL_KINDS,
    ("programmes", "level"): V.PROGRAMME_LEVELS,
    ("enterprises", "size"): V.ENTERPRISE_SIZES,
    ("enterprises", "status"): V.ENTERPRISE_STATUSES,
    ("needs", "kind"): V.NEED_KINDS,
    ("needs", "status"): V.NEED_STATUSES,
    ("mentors", "kind"): V.MENTOR_KINDS,
    ("partnerships", "a_type"): V.PARTY_TYPES,
    ("partnerships", "b_type"): V.PARTY_TYPES,
    ("partnerships", "status"): V.PARTNERSHIP_STATUSES,
    ("reviews", "decision"): V.REVIEW_DECISIONS,
    ("plan_decisions", "decision"): V.PLAN_DECISIONS,
    ("regions", "level"): V.REGION_LEVELS,
}

# Lists (tuples, sets, Literal[...]) of at least three codes, and code → label tables.
LISTS: dict[str, tuple[str, ...]] = {
    name: value
    for name, value in vars(V).items()
    if name.isupper() and isinstance(value, tuple) and len(value) >= 3
}
LABELS: dict[str, dict[str, str]] = {
    name: value
    for name, value in vars(V).items()
    if name.endswith("_LABELS") and isinstance(value, dict)
}

# Copies in files other work owns at the time of writing: each should import models/vocab.py
# instead, and then leaves this list.
KNOWN_COPIES = {
    ("service/recommendations/access.py", "SUBJECT_LABELS"),
    ("service/recommendations/schemas.py", "ENTERPRISE_SIZES"),
    ("service/recommendations/schemas.py", "MENTOR_KINDS"),
    ("service/recommendations/schemas.py", "PROGRAMME_LEVELS"),
    ("service/recommendations/schemas.py", "SCHOOL_KINDS"),
    ("scripts/bench_import.py", "ENTERPRISE_SIZES"),
}


def _check_lists(conn: psycopg.Connection[Any]) -> dict[tuple[str, str], set[str]]:
    """(table, column) → the values its `col IN (...)` CHECK allows, as PostgreSQL stores it."""
    rows = conn.execute(
        """SELECT conrelid::regclass::text AS tbl, pg_get_constraintdef(oid) AS def
           FROM pg_constraint WHERE contype = 'c' AND connamespace = 'public'::regnamespace"""
    ).fetchall()
    out: dict[tuple[str, str], set[str]] = {}
    for r in rows:
        # CHECK ((kind = ANY (ARRAY['双一流'::text, '本科'::text, ...])))
        m = re.search(r"\(\(?(\w+)\)? = ANY \(ARRAY\[(.*?)\]\)\)", r["def"])
        if m and "NOT" not in r["def"] and " OR " not in r["def"]:
            out[(r["tbl"], m.group(1))] = set(re.findall(r"'([^']*)'::text", m.group(2)))
    return out


def test_migrated_check_constraints_list_the_vocabularies(conn: psycopg.Connection[Any]) -> None:
    found = _check_lists(conn)
    for (table, column), codes in CHECKED.items():
        assert (table, column) in found, f"no CHECK (... IN ...) on {table}.{column}"
        assert found[(table, column)] == set(codes), (table, column)


def test_labels_cover_their_vocabulary() -> None:
    pairs = {
        "PARTY_LABELS": V.PARTY_TYPES,
        "ENTERPRISE_STATUS_LABELS": V.ENTERPRISE_STATUSES,
        "NEED_KIND_LABELS": V.NEED_KINDS,
        "NEED_STATUS_LABELS": V.NEED_STATUSES,
        "MENTOR_KIND_LABELS": V.MENTOR_KINDS,
        "PARTNERSHIP_STATUS_LABELS": V.PARTNERSHIP_STATUSES,
        "REVIEW_STATE_LABELS": V.REVIEW_STATES,
        "REVIEW_DECISION_LABELS": V.REVIEW_DECISIONS,
    }
    for name, codes in pairs.items():
        assert tuple(LABELS[name]) == codes, name
    assert set(V.PARTY_TABLES) == set(V.PARTY_TYPES)
    assert set(V.VOCATIONAL_KINDS) <= set(V.SCHOOL_KINDS)
    assert set(V.STATE_AFTER) == set(V.REVIEW_DECISIONS)
    assert set(V.STATE_AFTER.values()) <= set(V.REVIEW_STATES)
    assert V.partnership_kind("enterprise", "programme") == V.KIND_PROGRAMME
    assert V.partnership_kind("bureau", "park") == V.KIND_PAIRING


def _strings(node: ast.AST) -> list[str] | None:
    """The elements of a literal tuple / list / set of strings, else None."""
    if not isinstance(node, ast.Tuple | ast.List | ast.Set) or not node.elts:
        return None
    if all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts):
        return [e.value for e in node.elts]  # type: ignore[attr-defined]
    return None


def copies_in(source: str) -> set[str]:
    """The vocabularies `source` spells out again: a list of all of one vocabulary's codes, as an
    assignment or a Literal[...], or a dict giving four (or all) of a label table's labels."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        candidates: list[ast.AST] = []
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            value = node.value
            if (  # frozenset({...}), tuple([...])
                isinstance(value, ast.Call)
                and isinstance(value.func, ast.Name)
                and value.func.id in ("frozenset", "set", "tuple", "list")
                and value.args
            ):
                value = value.args[0]
            candidates.append(value)
        elif (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Name)
            and node.value.id == "Literal"
        ):
            candidates.append(node.slice)
        for c in candidates:
            items = _strings(c)
            if items is not None:
                found |= {name for name, codes in LISTS.items() if set(items) == set(codes)}
        if isinstance(node, ast.Dict):
            given = {
                k.value: v.value
                for k, v in zip(node.keys, node.values, strict=True)
                if isinstance(k, ast.Constant) and isinstance(v, ast.Constant)
            }
            for name, labels in LABELS.items():
                same = sum(given.get(code) == label for code, label in labels.items())
                if same >= min(4, len(labels)):  # roles 学校 / 企业 alone are another vocabulary
                    found.add(name)
    return found


def test_scanner_finds_a_copy() -> None:
    assert copies_in('SIZES = ("大型", "中型", "小型", "微型")') == {"ENTERPRISE_SIZES"}
    assert "NEED_KINDS" in copies_in(
        'K = Literal["talent", "technology", "training", "practice_base", "mentor"]'
    )
    assert copies_in(
        'L = {"bureau": "教育行政部门", "park": "产业园区", "school": "学校", "enterprise": "企业"}'
    ) == {
        "PARTY_LABELS",
        "SUBJECT_LABELS",
    }
    assert copies_in("SIZES = V.ENTERPRISE_SIZES") == set()


def test_no_second_copy_of_a_vocabulary() -> None:
    seen: set[tuple[str, str]] = set()
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel == "models/vocab.py":
                continue
            for name in copies_in(path.read_text(encoding="utf-8")):
                seen.add((rel, name))
    unexpected = seen - KNOWN_COPIES
    assert not unexpected, f"import these from models/vocab.py instead: {sorted(unexpected)}"
