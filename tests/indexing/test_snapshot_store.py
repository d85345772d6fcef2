"""The persisted snapshot layout: rows come back exactly (memory-mapped), and a damaged or
stale folder is refused before anything is used."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from indexing.artefacts import Damaged, Mismatch
from indexing.snapshot_store import (
    SNAPSHOT_MANIFEST,
    LazyRow,
    StringColumn,
    Unstorable,
    load_table,
    save_table,
)

ROWS = [
    {"id": 7, "name": "郑州数控", "park_id": None, "lat": 34.7, "codes": ["C3421"], "n": 0},
    {"id": 9, "name": "", "park_id": 3, "lat": None, "codes": [], "n": 2**40},
    {"id": 12, "name": None, "park_id": 5, "lat": 0.0, "codes": ["I65", "中文"], "n": -1},
]
TEXTS = ["数控机床维修", "", "软件开发与测试"]


def _save(directory: Path, meta: dict[str, object] | None = None) -> None:
    save_table(
        directory,
        rows=ROWS,
        texts=TEXTS,
        arrays={"ids": np.array([7, 9, 12], dtype=np.int64)},
        groups={"region": {"410100": np.array([0, 2]), "410300": np.array([1])}, "c": [[7, 9]]},
        meta={"entity": "enterprise", "schema": "s1", "change_seq": 41, **(meta or {})},
    )


def test_rows_texts_arrays_and_groups_come_back_exactly(tmp_path: Path) -> None:
    _save(tmp_path)
    table = load_table(tmp_path, {"entity": "enterprise", "schema": "s1"})
    assert table is not None
    assert [table.row(i) for i in range(3)] == ROWS
    assert table.values("codes") == [r["codes"] for r in ROWS]
    assert table.values("absent") == [None, None, None]
    assert list(table.texts) == TEXTS and table.texts[2] == TEXTS[2]
    assert isinstance(table.texts, StringColumn) and table.texts[0:2] == TEXTS[:2]
    # a plain ndarray over the mapped file, not read into memory
    ids = table.arrays["ids"]
    assert type(ids) is np.ndarray and isinstance(ids.base, np.memmap)
    assert table.arrays["ids"].tolist() == [7, 9, 12]
    assert {k: v.tolist() for k, v in table.groups["region"].items()} == {
        "410100": [0, 2],
        "410300": [1],
    }
    assert [v.tolist() for v in table.groups["c"].values()] == [[7, 9]]
    assert table.meta["change_seq"] == 41


def test_nothing_stored_is_none_and_another_schema_is_a_mismatch(tmp_path: Path) -> None:
    assert load_table(tmp_path / "none", {"entity": "enterprise"}) is None
    _save(tmp_path)
    with pytest.raises(Mismatch):
        load_table(tmp_path, {"entity": "enterprise", "schema": "s2"})


@pytest.mark.parametrize("damage", ["missing", "truncated", "corrupt", "garbage"])
def test_every_damaged_file_is_detected(tmp_path: Path, damage: str) -> None:
    _save(tmp_path)
    files = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("."))
    assert SNAPSHOT_MANIFEST in files and len(files) > 10
    for name in files:
        folder = tmp_path / name.replace(".", "_")
        _save(folder)
        path = folder / name
        data = path.read_bytes()
        if damage == "missing":
            path.unlink()
        elif damage == "truncated":
            path.write_bytes(data[: len(data) // 2])
        elif damage == "corrupt":
            path.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))
        else:
            path.write_bytes(b"\x00not a snapshot\x00" * 5)
        if name == SNAPSHOT_MANIFEST and damage == "missing":
            assert load_table(folder, {"entity": "enterprise"}) is None  # nothing vouched for
            continue
        with pytest.raises(Damaged):
            load_table(folder, {"entity": "enterprise", "schema": "s1"})


def test_rows_the_layout_cannot_hold_are_refused(tmp_path: Path) -> None:
    with pytest.raises(Unstorable):
        save_table(
            tmp_path, rows=[{"a": 1}, {"b": 2}], texts=["x", "y"], arrays={}, groups={}, meta={}
        )
    with pytest.raises(Unstorable):
        save_table(tmp_path, rows=[{"a": object()}], texts=["x"], arrays={}, groups={}, meta={})
    assert not (tmp_path / SNAPSHOT_MANIFEST).exists()


def test_a_lazy_row_reads_single_columns_and_lists_as_the_whole_dict(tmp_path: Path) -> None:
    """Rows decode a column when it is read; anything that lists the row decodes it whole, in
    the stored order, so it stays the dict it was saved from (json, ==, copies, pickling)."""
    import copy
    import json
    import pickle

    _save(tmp_path)
    table = load_table(tmp_path, {"entity": "enterprise", "schema": "s1"})
    assert table is not None
    row = table.row(0)
    assert isinstance(row, LazyRow) and dict.__len__(row) == 1  # the first column only
    assert row["id"] == 7 and row.get("codes") == ["C3421"] and row.get("park_id") is None
    assert dict.__len__(row) == 3  # only what was read
    assert "lat" in row and "absent" not in row and row.get("absent", 5) == 5
    with pytest.raises(KeyError):
        row["absent"]
    row["_memo"] = frozenset({"x"})  # callers keep per-row facts on it
    assert list(row) == [*ROWS[0], "_memo"] and len(row) == len(ROWS[0]) + 1
    assert row == {**ROWS[0], "_memo": frozenset({"x"})}
    for i, expected in enumerate(ROWS):
        fresh = table.row(i)
        assert fresh == expected and expected == table.row(i) and fresh != {}
        assert dict(table.row(i)) == expected and {**table.row(i)} == expected
        assert json.dumps(table.row(i), ensure_ascii=False) == json.dumps(
            expected, ensure_ascii=False
        )
        assert pickle.loads(pickle.dumps(table.row(i))) == expected
        assert copy.copy(table.row(i)) == expected and table.row(i).copy() == expected
        assert list(table.row(i).items()) == list(expected.items())
        assert table.row(i).pop("id") == expected["id"]
        gone = table.row(i)
        del gone["id"]
        assert "id" not in gone and gone.get("id") is None and len(gone) == len(expected) - 1
        assert repr(table.row(i)) == repr(expected)
    assert table.row(1)["n"] == 2**40 and table.row(1).get("name") == ""
