"""The pairing table of seed 002, Annex 1 (附件1 各地（校）结对包联情况汇总表).

Each row pairs an education bureau or a school (教育行政部门(学校)) with one or more parks or
enterprises (包联产业园区(企业)名称; several names may be listed, separated by 、；; or new lines).
Decisions:

* every pair becomes an active partnership of kind 结对包联; names are matched exactly (bureaus
  also as 〈region〉教育局 when that region has one bureau; schools also by code; enterprises also
  by credit code). An unknown name is a row error.
* the partnership's ``progress`` keeps the row's free text in labelled sections (【需求】,
  【政策和举措】, 【推进情况】, 【完成时限】), so nothing in the table is lost; this is where a
  park's need lives, since parks have no needs table. The two contact cells go to the contact
  fields of the partnership (a_contact / b_contact, by party), which the access policy shows only
  to admins, the parties and the region's bureau — never into the free text.
* when the counterpart is an enterprise, the 需求 cell also becomes a need of that enterprise
  (title = its first clause, kind guessed from keywords of the title, then the
  text, deadline = 完成时限 when it is a date).
  The same need text in two rows for one enterprise is stored once.
"""

from __future__ import annotations

import re
from functools import partial

from models import vocab as V
from service.ingest.builders import PARTNERSHIP_TARGET, canonical
from service.ingest.headers import Column as C
from service.ingest.kinds import Kind, Target
from service.ingest.lookups import Ref
from service.ingest.row import Row
from service.ingest.values import as_text, parse_date, parse_text

COLUMNS = (
    C(
        "unit",
        ("教育行政部门(学校)", "教育行政部门", "结对单位", "学校"),
        True,
        aliases=("bureau_or_school",),
    ),
    C(
        "counterpart",
        (
            "包联产业园区(企业)名称",
            "包联产业园区(企业)",
            "产业园区(企业)名称",
            "包联单位",
            "包联园区",
        ),
        True,
    ),
    C("counterpart_contact", ("产业园区(企业)联系人及联系方式", "园区联系人", "企业联系人")),
    C(
        "unit_contact",
        ("教育行政部门(学校)包保负责人及联系方式", "包保负责人及联系方式", "包保负责人"),
    ),
    C("need", ("产业园区(企业)需求", "园区需求", "企业需求", "需求")),
    C("policies", ("出台政策和工作举措", "政策和工作举措", "工作举措")),
    C("progress", ("工作推进情况", "推进情况", "工作进展")),
    C("deadline", ("完成时限", "时限")),
)
SECTIONS = (
    ("need", "需求"),
    ("policies", "政策和举措"),
    ("progress", "推进情况"),
    ("deadline", "完成时限"),
)
CONTACTS = ("counterpart_contact", "unit_contact")
_NAMES = re.compile(r"[；;、\n\r]+")
_CLAUSE = re.compile(r"[。；;！!？?\n]")
# Checked in this order: specific compounds before the generic 人才/用工 (default talent).
_NEED_KEYWORDS = (
    ("practice_base", ("实习实训", "实践基地", "实训基地", "实习基地", "实习")),
    ("mentor", ("导师", "产业教授")),
    ("training", ("培训",)),
    (
        "technology",
        (
            "技术攻关",
            "研发",
            "技术难题",
            "技术合作",
            "技术服务",
            "工艺",
            "成果转化",
            "专利",
            "技术升级",
            "数字化改造",
        ),
    ),
)
TITLE_MAX = 60
long_text = partial(parse_text, max_len=20_000)


def need_kind(text: str) -> str:
    """Guess from the first clause (the title), then from the whole text; default talent."""
    for part in (need_title(text), text):
        for kind, words in _NEED_KEYWORDS:
            if any(w in part for w in words):
                return kind
    return "talent"


def need_title(text: str) -> str:
    first = next((p.strip() for p in _CLAUSE.split(text) if p.strip()), text.strip())
    return first if len(first) <= TITLE_MAX else first[: TITLE_MAX - 1] + "…"


def _unit(r: Row) -> Ref | None:
    cell, _ = r.raw("unit")
    text = as_text(cell)
    if text is None:
        r.get("unit", parse_text, required=True)
        return None
    lk = r.ctx.lookups
    for find in (lk.bureau, lk.school):
        found, problem = find(text, suggest=False)
        if found is not None:
            return found
        if problem and "重名" in problem:
            r.error("unit", cell, problem, "reference")
            return None
    hint = lk.hint(text, ("bureau", "school"))
    r.error("unit", cell, f"未找到教育行政部门或学校「{text}」{hint}", "reference")
    return None


def split_names(cell: object) -> list[str]:
    text = as_text(cell)  # type: ignore[arg-type]
    return [n.strip() for n in _NAMES.split(text or "") if n.strip()]


def _counterparts(r: Row) -> list[Ref]:
    cell, _ = r.raw("counterpart")
    names = split_names(cell)
    if not names:
        r.get("counterpart", parse_text, required=True)
        return []
    lk = r.ctx.lookups
    found: list[Ref] = []
    for name in names:
        ref, problem = lk.park(name, suggest=False)
        if ref is None and not (problem and "重名" in problem):
            ref, problem = lk.enterprise(name, suggest=False)
        if ref is None:
            if problem is None or "重名" not in problem:
                hint = lk.hint(name, ("park", "enterprise"))
                problem = f"未找到产业园区或企业「{name}」{hint}"
            r.error("counterpart", name, problem, "reference")
        else:
            found.append(ref)
    return found


def build_pairing(r: Row) -> None:
    unit = _unit(r)
    counterparts = _counterparts(r)
    texts = {col: r.get(col, long_text) for col, _ in SECTIONS}
    contacts = {col: r.get(col, long_text) or None for col in CONTACTS}
    if r.errors or unit is None:
        return
    progress = "\n".join(f"【{label}】{texts[col]}" for col, label in SECTIONS if texts[col])
    source = V.import_source(r.ctx.filename)
    unit_text = as_text(r.raw("unit")[0])
    deadline, _ = parse_date(texts["deadline"]) if texts["deadline"] else (None, None)
    for cp in counterparts:
        if (cp.type, cp.id) == (unit.type, unit.id):
            r.error("counterpart", r.raw("counterpart")[0], "结对双方不能是同一单位", "invalid")
            return
    for cp, name in zip(counterparts, split_names(r.raw("counterpart")[0]), strict=True):
        rec = {
            **canonical(unit, cp),
            "kind": V.KIND_PAIRING,
            "source": source,
            "progress": progress,
        }
        unit_side = "a" if (rec["a_type"], rec["a_id"]) == (unit.type, unit.id) else "b"
        rec[f"{unit_side}_contact"] = contacts["unit_contact"]
        rec[f"{'b' if unit_side == 'a' else 'a'}_contact"] = contacts["counterpart_contact"]
        key = f"{rec['a_type']}:{rec['a_id']}|{rec['b_type']}:{rec['b_id']}"
        r.emit("partnerships", rec, key, f"{unit_text} ↔ {name}")
        need = texts["need"]
        if cp.type == "enterprise" and need:
            title = need_title(need)
            r.emit(
                "needs",
                {
                    "enterprise_id": cp.id,
                    "kind": need_kind(need),
                    "title": title,
                    "description": need,
                    "deadline": deadline,
                },
                f"{cp.id}|{title}",
                f"{name} / {title}",
            )


PAIRING = Kind(
    "pairing-table",
    "结对包联情况汇总表",
    COLUMNS,
    (
        Target(
            "partnerships",
            PARTNERSHIP_TARGET.key,
            {
                "a_type": None,
                "a_id": None,
                "b_type": None,
                "b_id": None,
                "kind": None,
                "source": None,
                "progress": None,
                "a_contact": None,
                "b_contact": None,
            },
            ("unit", "counterpart"),
            match=PARTNERSHIP_TARGET.match,
            insert_only=("source",),
        ),
        Target(
            "needs",
            ("{t}enterprise_id", "{t}title"),
            {
                "enterprise_id": None,
                "kind": None,
                "title": None,
                "description": None,
                "deadline": None,
            },
            ("counterpart", "need"),
            dup_is_error=False,
        ),
    ),
    build_pairing,
    enterprise_refs=("counterpart",),
    split_refs=True,
)
