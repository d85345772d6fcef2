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
    {"_id": "d5", "title": "机械制造", "text": "机床 装配 车床 加工 工艺"},
    {"_id": "d6", "title": "市场营销", "text": "营销 策划 运营 推广 直播 销售"},
    {"_id": "d7", "title": "老年服务", "text": "老人 照护 康复 护理 服务"},
    {"_id": "d8", "title": "Data Science", "text": "statistics machine learning and Python"},
    {"_id": "d9", "title": "汽车检测与维修技术", "text": "整车 故障 诊断 保养"},
    {"_id": "d10", "title": "发动机制造", "text": "发动机 装配 维修 机床"},
]
QUERIES = [
    {"_id": "q1", "text": "数控车床操作工: 操作数控车床加工零件"},
    {"_id": "q2", "text": "直播电商运营师: 直播销售 运营"},
    {"_id": "q3", "text": "Software Developer: develop and test programs (Python)"},
    {"_id": "q4", "text": "养老护理员: 照护老人 护理"},
    {"_id": "q5", "text": "车工: 车床 加工 零件"},
    {"_id": "q6", "text": "营销员: 推广 销售"},
    {"_id": "q7", "text": "汽车修理工: 发动机 维修"},
    {"_id": "q8", "text": "Nurse: care for patients"},
    {"_id": "q9", "text": "not judged: skipped"},
]
QRELS = (
    "query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td5\t1\nq2\td2\t1\nq3\td4\t1\n"
    "q3\td8\t1\nq4\td7\t1\nq5\td5\t1\nq6\td6\t1\nq7\td9\t1\nq8\td3\t1\n"
)
METHODS = {"xiaoqi", "linear", "bm25", "tfidf", "dense"}


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
    assert b.query_ids == ["q1", "q2", "q3", "q4", "q5", "q6", "q7", "q8"]
    assert b.doc_texts[0] == "数控技术: 数控机床 操作 编程 CNC 加工"


def test_evaluate_bench_runs_the_served_index_and_every_baseline(tmp_path: Path) -> None:
    out = evaluate_bench(_folder(tmp_path), "dev", encoder_name="hash-64", cache=tmp_path / "c")
    assert set(out.metrics) == METHODS
    for m, row in out.metrics.items():
        assert 0.2 < row["nDCG@10"] < 1.0, (m, row)  # the fixture is hard for every method
        assert 0.0 <= row["MRR@10"] <= 1.0
    # no ranking model shipped for the test encoder: the served stage is the linear fusion
    assert out.metrics["xiaoqi"]["learned_stage"] == 0.0
    assert out.runs["xiaoqi"] == out.runs["linear"]


def test_cross_validation_holds_each_query_out(tmp_path: Path) -> None:
    from scripts.eval_bench import prepare
    from scripts.eval_fit import capture, fold_of

    p = prepare(load_beir(_folder(tmp_path)), "hash-64", tmp_path / "c", None)
    cap = capture(p)
    assert len(cap.x) == len(p.bench.query_ids) and cap.x[0].shape[1] == len(
        cap.stage.feature_names
    )
    assert sum(y.max() > 0 for y in cap.y) >= 6  # most judged relevants are in the served pool
    folds = {fold_of(q, 3) for q in p.bench.query_ids}
    assert len(folds) > 1  # query ids spread over folds (the same id: the same fold)
    assert fold_of("q1", 3) == fold_of("q1", 3)


def test_cli_eval_json_last_line(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("XIAOQI_ENCODER", "hash-64")
    app, bench = typer.Typer(), typer.Typer()
    app.add_typer(bench, name="bench")
    register(app, bench)
    folder = _folder(tmp_path)
    args = ["eval", str(folder), "--split", "dev", "--json", "--cache", str(tmp_path / "c")]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    last = json.loads(res.stdout.strip().splitlines()[-1])
    assert set(last[folder.name]["in_sample"]) == METHODS
    assert set(last[folder.name]["in_sample"]["xiaoqi"]) == {
        "nDCG@10",
        "Recall@10",
        "Recall@100",
        "MRR@10",
        "seconds",
    }


def test_learned_stage_scores_the_served_pool(tmp_path: Path) -> None:
    from indexing.rerank import RerankStage
    from models import ltr
    from models.metrics import evaluate
    from scripts.eval_bench import prepare, run_served
    from scripts.eval_fit import capture

    p = prepare(load_beir(_folder(tmp_path)), "hash-64", tmp_path / "c", None)
    cap = capture(p)
    params = {"min_data_in_leaf": 1, "num_threads": 1, "bagging_fraction": 1.0}
    model = ltr.train(list(zip(cap.x, cap.y, strict=True)), cap.stage.feature_names, params, 30)
    learned = run_served(p, RerankStage(cap.stage.docs, cap.stage.channels, model))
    linear = run_served(p, None)
    assert learned != linear  # the model, not the linear fusion, ordered the pool
    ndcg = evaluate(learned, p.bench.qrels)["nDCG@10"]
    assert evaluate(linear, p.bench.qrels)["nDCG@10"] < ndcg  # fitted on these very queries
