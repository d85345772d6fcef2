"""`xiaoqi index build`, `xiaoqi ranker train|simulate-reviews` and `xiaoqi bench serve`."""

from __future__ import annotations

import json
import random
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

console = Console()


def load_engine(conn: Any, *, progress: bool = False) -> Any:
    """The engine as the configured service would load it (encoder, index and ranker folders)."""
    from service.config import get_settings
    from service.recommendations.engine import Engine

    settings = get_settings()
    return Engine.load(
        conn,
        encoder_name=settings.encoder,
        index_dir=settings.indexes,
        ranker_dir=settings.var_dir / "ranker",
        progress=progress,
    )


def build_all_indexes() -> dict[str, dict[str, object]]:
    """Build (or refresh from cache) every candidate index from PostgreSQL, with progress."""
    from service.db import connect

    with connect() as conn:
        engine = load_engine(conn, progress=True)
    summary = {e: c.index.manifest_summary() for e, c in engine.candidates.items()}
    table = Table("entity", "count", "encoder", "dense index", "data version")
    for e, m in summary.items():
        table.add_row(
            e, str(m["count"]), str(m["encoder"]), str(m["dense_index"]), str(m["data_version"])
        )
    console.print(table)
    return summary


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    index_app = typer.Typer(help="Retrieval indexes built from PostgreSQL.", no_args_is_help=True)
    ranker_app = typer.Typer(help="The ranking model.", no_args_is_help=True)
    app.add_typer(index_app, name="index")
    app.add_typer(ranker_app, name="ranker")

    @index_app.command("build")
    def index_build() -> None:
        """Build every candidate index (enterprises, programmes, mentors, practice bases)."""
        build_all_indexes()

    @ranker_app.command("train")
    def ranker_train(
        holdout: Annotated[float, typer.Option(min=0.05, max=0.5)] = 0.25,
        as_json: Annotated[bool, typer.Option("--json")] = False,
        save: Annotated[bool, typer.Option(help="save when it beats the default")] = True,
        stage: Annotated[
            bool, typer.Option(help="also fine-tune the learned candidate-scoring stage")
        ] = True,
    ) -> None:
        """Fit the ranker on review decisions (held-out AUC against the default weights) and
        fine-tune the learned stage from them (held-out pairwise accuracy against the stage
        that served); each is saved only when it beats where it started."""
        from models.ranker import Ranker
        from service.config import get_settings
        from service.db import connect
        from service.recommendations.training import evaluate, labelled

        settings = get_settings()
        with connect() as conn:
            x, y = labelled(conn)
        if len(y) < 20:
            console.print(f"[red]只有 {len(y)} 条通过/驳回的审核决定，至少需要 20 条[/]")
            raise typer.Exit(1)
        out: dict[str, Any]
        try:
            result = evaluate(x, y, holdout)
        except ValueError as e:  # e.g. the held-out decisions are all approvals
            out = {"n_train": 0, "n_test": len(y), "skipped": str(e)}
        else:
            out = result.as_dict()
            if save and result.auc_trained > result.auc_default:
                final = Ranker.fit(x, y)  # all decisions, now that held-out shows it helps
                path = final.save(settings.var_dir / "ranker")
                out["saved"] = str(path)
        if stage:
            out["stage"] = _train_stage(holdout, save)
        if as_json:
            print(json.dumps(out, ensure_ascii=False))
        else:
            console.print_json(json.dumps(out, ensure_ascii=False))

    def _train_stage(holdout: float, save: bool) -> dict[str, Any]:
        from service.config import get_settings
        from service.db import connect
        from service.recommendations import stage_training as st

        settings = get_settings()
        with connect() as conn:
            engine = load_engine(conn, progress=True)
            data = st.replay(conn, engine, settings)
        try:
            tuned = st.fine_tune(data, holdout)
        except ValueError as e:
            return {"skipped": str(e), "replay_skipped": dict(data.skipped)}
        out = tuned.as_dict()
        if save and tuned.helps:
            out["saved"] = str(st.save_tuned(data, tuned, engine, settings.var_dir / "ranker"))
        return out

    @ranker_app.command("simulate-reviews")
    def simulate_reviews(
        n: Annotated[int, typer.Option(min=1, max=100_000)] = 400,
        seed: int = 11,
        requests: Annotated[
            int,
            typer.Option(
                min=0, max=10_000, help="first ask for partner enterprises for this many schools"
            ),
        ] = 0,
    ) -> None:
        """Sample data only: decide N stored recommendations with a simulated reviewer."""
        from service.config import get_settings
        from service.db import connect
        from service.recommendations import training_repository as training_repo
        from service.recommendations.training import simulated_decision

        if get_settings().mode != "demo":
            console.print("[red]simulated reviews are for the demo database (XIAOQI_MODE=demo)[/]")
            raise typer.Exit(1)
        from service.auth import repository as users
        from service.errors import DomainError
        from service.review import service as review

        rng = random.Random(seed)
        decided = 0
        with connect() as conn:
            admin = training_repo.first_province_admin(conn)
            if admin is None:
                console.print("[red]没有省级管理员账号：请先运行 `xiaoqi demo`[/]")
                raise typer.Exit(1)
            admin_row: Any = users.user_by_id(conn, admin)
            actor = users.to_user(admin_row)  # asks and submits
            sim_row: Any = users.user_by_id(conn, training_repo.simulated_reviewer(conn))
            conn.commit()  # now: loading the engine below ends the open transaction
            reviewer = users.to_user(sim_row)  # decides: the four-eyes rule needs another user
            if requests:
                _request_recommendations(conn, actor, requests, rng)
            rows = training_repo.undecided_recommendations(conn, n)
            for r in rows:  # through the real workflow: submit, then decide (approve → partnership)
                try:
                    with conn.transaction():
                        if review.submit(conn, actor, [r["id"]])[0]["status"] != 200:
                            continue
                        decision = simulated_decision(r["features"], rng)
                        review.decide(conn, reviewer, r["id"], decision, "模拟审核员（样例数据）")
                        decided += 1
                except DomainError:
                    continue
            conn.commit()
        console.print(f"decided {decided} recommendations with the simulated reviewer")

    def _request_recommendations(conn: Any, actor: Any, count: int, rng: random.Random) -> None:
        """Partner-enterprise runs for random schools, stored as the API stores them."""
        from rich.progress import track

        from service.config import get_settings
        from service.errors import DomainError
        from service.recommendations import schemas as S
        from service.recommendations import service as svc
        from service.recommendations import training_repository as training_repo

        settings = get_settings()
        engine = load_engine(conn)
        ids = training_repo.school_ids(conn)
        for school_id in track(rng.sample(ids, min(count, len(ids))), description="recommending"):
            req = S.PartnerEnterprisesRequest(
                subject=S.SubjectRef(type="school", id=school_id), k=10
            )
            try:
                with conn.transaction():
                    svc.partner_enterprises(conn, engine, settings, req, actor)
            except DomainError:
                continue
        conn.commit()

    from scripts.bench_serve import register_bench

    register_bench(bench_app)
