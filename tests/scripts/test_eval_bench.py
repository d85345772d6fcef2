import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from scripts.eval_bench import evaluate_bench, load_beir
from scripts.retrieval_cli import register

CORPUS = [
    {"_id": "d1", "title": "数控技术", "text": "数控机床 操作 编程 CNC 加工"},
    {"_id": "d2", "title": "电子商务", "text": "网络营销 直播 电商 运营"},
    {"_id": "d3", "title": "护理", "text": "临床 护理 病人 照护"},
    {"_id": "d4", "title": "Software Technology", "text": "Python programming and testing"},
]
QUERIES = [
    {"_id": "q1", "text": "数控车床操作工"},
    {"_id": "q2", "text": "直播电商运营师"},
    {"_id": "q3", "text": "software developer (Python)"},
    {"_id": "q9", "text": "not judged: skipped"},
]
QRELS = "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\nq3\td4\t1\n"


def _folder(tmp_path: Path) -> Path:
    (tmp_path / "qrels").mkdir()
    (tmp_path / "corpus.jsonl").write_text(
        "\n".join(json.dumps(d, ensure_ascii=False) for d in CORPUS), "utf-8"
    )
    (tmp_path / "queries.jsonl").write_text(
        "\n".join(json.dumps(q, ensure_ascii=False) for q in QUERIES), "utf-8"
    )
    (tmp_path / "qrels" / "dev.tsv").write_text(QRELS, "utf-8")
    return tmp_path


def test_load_beir_skips_unjudged(tmp_path: Path) -> None:
    b = load_beir(_folder(tmp_path))
    assert b.query_ids == ["q1", "q2", "q3"]
    assert b.doc_texts[0] == "数控技术: 数控机床 操作 编程 CNC 加工"


def test_evaluate_bench_all_methods(tmp_path: Path) -> None:
    out = evaluate_bench(_folder(tmp_path), "dev", encoder_name="hash-64")
    assert set(out.metrics) == {"xiaoqi", "bm25", "tfidf", "dense"}
    assert out.metrics["bm25"]["nDCG@10"] == 1.0  # each query's only relevant doc ranks first
    assert out.metrics["xiaoqi"]["Recall@10"] == 1.0
    assert all(0.0 <= m["MRR@10"] <= 1.0 for m in out.metrics.values())


def test_cli_eval_json_last_line(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("XIAOQI_ENCODER", "hash-64")
    app, bench = typer.Typer(), typer.Typer()
    app.add_typer(bench, name="bench")
    register(app, bench)
    res = CliRunner().invoke(app, ["eval", str(_folder(tmp_path)), "--split", "dev", "--json"])
    assert res.exit_code == 0, res.output
    last = json.loads(res.stdout.strip().splitlines()[-1])
    assert set(last) == {"xiaoqi", "bm25", "tfidf", "dense"}
    assert set(last["xiaoqi"]) == {"nDCG@10", "Recall@10", "Recall@100", "MRR@10", "seconds"}
