"""`make screenshots`: a PNG of every web page, taken from a throwaway instance.

    python -m scripts.screenshots --out docs/screenshots

Starts a private embedded PostgreSQL in a temporary directory, loads the generated Henan sample
(300 enterprises; the small test world if that fails), creates one demo account per role, sends
a few recommendations through review so every page has something to show, runs the app on a
loopback port and photographs each page in headless Chromium (Debian's `chromium`, fonts-noto-cjk
for the Chinese text). Nothing outside the temporary directory and --out is touched.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg.rows import dict_row

PASSWORD = "xiaoqi-demo-2024"
MAX_BYTES = 400_000  # each PNG stays small enough to commit
VIEWPORT: Any = {"width": 1280, "height": 900}
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--font-render-hinting=none",
    "--lang=zh-CN",
]
BAD_CSV = (
    "学校代码,学校名称,办学类型,所在地区,标签\n"
    "4141098001,郑州示例应用技术学院,本科,郑州市,应用型\n"
    "4141098002,开封示例职业学院,火星学校,开封市,双高\n"
    "41X,洛阳示例技师学院,中职,洛阳市,\n"
).encode()


NEED_TEXT = (
    "我公司从事智能制造装备生产，需要数控编程、工业机器人运维方向的技术技能人才，"
    "希望与院校共建实训基地并聘请产业导师。"
)


def wait_for_engine(base: str, timeout: float = 900) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = httpx.get(base + "/health", timeout=30).json().get("engine")
        if state == "ready":
            return
        if state == "failed":
            raise RuntimeError("the recommendation engine failed to load")
        time.sleep(1)
    raise TimeoutError("the recommendation engine did not load in time")


def log(msg: str) -> None:
    print(f"[screenshots] {msg}", flush=True)


# ---- data --------------------------------------------------------------------------------------


def load_data(url: str, work: Path) -> str:
    """The generated sample, or the test world when the generator is unavailable."""
    from service.reference import setup_database

    with psycopg.connect(url) as plain:
        setup_database(plain)
    try:
        from scripts.sample_cli import generate_sample
        from service.sample.load import load_dir

        out = work / "sample"
        generate_sample(out, enterprises=300, seed=7)
        with psycopg.connect(url, row_factory=dict_row) as conn:
            load_dir(conn, out)
        return "sample"
    except Exception as exc:  # any failure of the generator: fall back, say so
        log(f"sample failed ({exc!r}); using the test world")
        with psycopg.connect(url) as conn:
            conn.execute(
                "TRUNCATE partnerships, practice_bases, mentors, needs, enterprises,"
                " programmes, schools, parks, bureaus RESTART IDENTITY CASCADE"
            )
        from tests.service.recommendations.world import build

        build(url)
        return "world"


def _one(conn: psycopg.Connection[Any], query: str, params: Any = None) -> dict[str, Any]:
    row = conn.execute(query, params).fetchone()
    if row is None:
        raise RuntimeError(f"no row for: {query}")
    return dict(row)


def pick(url: str) -> dict[str, Any]:
    """The demo's cast: a city with schools, a school there, an enterprise with needs."""
    with psycopg.connect(url, row_factory=dict_row) as c:
        city = _one(
            c,
            """
            SELECT rc.code, rc.name, count(*) AS n FROM schools s
            JOIN regions g ON g.id = s.region_id
            JOIN regions rc ON g.path = rc.path OR g.path LIKE rc.path || '.%%'
            WHERE rc.level = 'city' GROUP BY rc.code, rc.name ORDER BY n DESC, rc.code LIMIT 1""",
        )
        school = _one(
            c,
            """
            SELECT s.id, s.name FROM schools s JOIN regions g ON g.id = s.region_id
            JOIN regions rc ON rc.code = %s
            WHERE (g.path = rc.path OR g.path LIKE rc.path || '.%%')
              AND EXISTS (SELECT 1 FROM programmes p WHERE p.school_id = s.id)
            ORDER BY (SELECT count(*) FROM programmes p WHERE p.school_id = s.id) DESC, s.id
            LIMIT 1""",
            (city["code"],),
        )
        hub = _one(
            c,
            """
            SELECT t, i, count(DISTINCT o) AS kinds, count(*) AS n FROM (
                SELECT a_type AS t, a_id AS i, b_type AS o FROM partnerships
                WHERE status = 'active'
                UNION ALL SELECT b_type, b_id, a_type FROM partnerships
                WHERE status = 'active') x
            WHERE t = 'school' GROUP BY t, i ORDER BY kinds DESC, n DESC, i LIMIT 1""",
        )
        enterprise = _one(
            c,
            """
            SELECT e.id, e.name FROM enterprises e JOIN needs n ON n.enterprise_id = e.id
            WHERE n.status = 'open' GROUP BY e.id, e.name ORDER BY count(*) DESC, e.id LIMIT 1""",
        )
        programme = _one(
            c,
            """
            SELECT p.id FROM programmes p JOIN schools s ON s.id = p.school_id
            JOIN regions g ON g.id = s.region_id JOIN regions rc ON rc.code = %s
            WHERE (g.path = rc.path OR g.path LIKE rc.path || '.%%') AND s.id <> %s
            ORDER BY p.capacity DESC, p.id LIMIT 1""",
            (city["code"], school["id"]),
        )
    return {
        "city": city,
        "school": school,
        "hub": hub,
        "enterprise": enterprise,
        "programme": programme,
    }


def make_users(url: str, cast: dict[str, Any]) -> dict[str, str]:
    from service.auth.service import hash_password

    digest = hash_password(PASSWORD)
    users = {  # username → (role, display name, region code, school, enterprise)
        "admin": ("province_admin", "省教育厅 管理员", None, None, None),
        "reviewer": ("reviewer", f"{cast['city']['name']}审核员", cast["city"]["code"], None, None),
        "bureau": ("bureau", f"{cast['city']['name']}教育局", cast["city"]["code"], None, None),
        "school": ("school", cast["school"]["name"], None, cast["school"]["id"], None),
        "enterprise": (
            "enterprise",
            cast["enterprise"]["name"],
            None,
            None,
            cast["enterprise"]["id"],
        ),
    }
    with psycopg.connect(url, row_factory=dict_row) as c:
        for name, (role, display, region, school, ent) in users.items():
            c.execute(
                """INSERT INTO users (username, display_name, password_hash, role, region_id,
                                      school_id, enterprise_id)
                   VALUES (%s, %s, %s, %s, (SELECT id FROM regions WHERE code = %s), %s, %s)
                   ON CONFLICT (username) DO NOTHING""",
                (name, display, digest, role, region, school, ent),
            )
    return {name: role for name, (role, *_rest) in users.items()}


def seed_reviews(base: str, cast: dict[str, Any]) -> None:
    """Through the JSON API, as a bureau would: recommend, submit, and decide a few."""
    with (
        httpx.Client(base_url=base, timeout=120) as bureau,
        httpx.Client(base_url=base, timeout=120) as reviewer,
    ):
        for client, user in ((bureau, "bureau"), (reviewer, "reviewer")):
            r = client.post("/v1/auth/login", json={"username": user, "password": PASSWORD})
            r.raise_for_status()
        ids: list[int] = []
        for subject in (
            {"type": "school", "id": cast["school"]["id"]},
            {"type": "programme", "id": cast["programme"]["id"]},
        ):
            r = bureau.post(
                "/v1/recommendations/partner-enterprises", json={"subject": subject, "k": 4}
            )
            r.raise_for_status()
            ids += [it["recommendation_id"] for res in r.json()["results"] for it in res["items"]][
                :4
            ]
        r = bureau.post("/v1/review/submit", json={"recommendation_ids": ids})
        r.raise_for_status()
        done = [x["id"] for x in r.json()["results"] if x["status"] == 200]
        log(f"submitted {len(done)} of {len(ids)} recommendations to review")
        decisions = [
            ("approve", ""),
            ("reject", "企业主营方向与该校专业群关联度不足"),
            ("return", "请补充企业可提供的实习岗位数量"),
        ]
        for rec_id, (decision, reason) in zip(done[-3:], decisions, strict=False):
            reviewer.post(
                f"/v1/review/items/{rec_id}/decisions",
                json={"decision": decision, "reason": reason},
            ).raise_for_status()


# ---- server ------------------------------------------------------------------------------------


@contextmanager
def serve(url: str, var_dir: Path, encoder: str | None) -> Iterator[str]:
    import uvicorn

    from service.config import Settings
    from service.main import create_app

    app = create_app(Settings(database_url=url, mode="demo", var_dir=var_dir, encoder=encoder))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 600
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the app did not start")
        time.sleep(0.1)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


# ---- photographs -------------------------------------------------------------------------------

Shot = tuple[str, str | None, str, Callable[[Any], None] | None]  # name, user, path, action


def shots(cast: dict[str, Any]) -> list[Shot]:
    school, hub = cast["school"]["id"], cast["hub"]["i"]

    def bureau(page: Any) -> None:
        page.select_option("#subject", str(school))
        page.click("#get-recs")
        page.wait_for_selector("#results")
        page.locator("article.rec input[name=rec]").first.check()

    def enterprise(page: Any) -> None:
        page.fill("textarea[name=text]", NEED_TEXT)
        page.click("#match")
        page.wait_for_selector("#programmes")

    def upload(page: Any) -> None:
        page.select_option("select[name=kind]", "schools")
        page.set_input_files(
            "input[type=file]", {"name": "学校名单.csv", "mimeType": "text/csv", "buffer": BAD_CSV}
        )
        page.click("#upload")
        page.wait_for_selector("#report")

    return [
        ("01-home", None, "/", None),
        ("02-login", None, "/login", None),
        ("03-schools", None, "/schools", None),
        ("04-enterprises", "admin", "/enterprises?q=科技", None),
        ("05-bureau", "bureau", "/bureau", bureau),
        ("06-enterprise", "enterprise", "/enterprise", enterprise),
        ("07-review", "reviewer", "/review", None),
        ("08-review-history", "reviewer", "/review/history", None),
        ("09-network", "admin", f"/network?type=school&id={hub}&radius=2", None),
        ("10-coverage", "admin", "/coverage", None),
        ("11-import", "admin", "/import", upload),
    ]


def photograph(base: str, out: Path, cast: dict[str, Any]) -> list[Path]:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("chromium is not installed: apt-get install chromium fonts-noto-cjk")
    written = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        contexts: dict[str | None, Any] = {}
        for name, user, path, action in shots(cast):
            if user not in contexts:
                ctx = browser.new_context(viewport=VIEWPORT, locale="zh-CN", device_scale_factor=1)
                ctx.set_default_timeout(120_000)
                if user:
                    r = ctx.request.post(
                        f"{base}/v1/auth/login", data={"username": user, "password": PASSWORD}
                    )
                    assert r.ok, r.text()
                contexts[user] = ctx
            page = contexts[user].new_page()
            page.goto(base + path)
            if action:
                action(page)
            page.wait_for_load_state("networkidle")
            target = out / f"{name}.png"
            page.screenshot(path=str(target), full_page=True)
            height = 2600
            while target.stat().st_size > MAX_BYTES and height >= 900:  # keep a long page's top
                page.screenshot(
                    path=str(target),
                    full_page=True,
                    clip={"x": 0, "y": 0, "width": VIEWPORT["width"], "height": height},
                )
                height -= 300
            written.append(target)
            log(f"{target} ({target.stat().st_size // 1024} KB)")
            page.close()
        browser.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument(
        "--encoder", default=None, help="encoder name (default: the product's default encoder)"
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    from service.embedded_pg import ensure_server, stop_server

    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="xiaoqi-shots-"))
    os.chmod(work, 0o755)
    try:
        server = ensure_server(work / "pgdata")
        source = load_data(server.uri, work)
        cast = pick(server.uri)
        log(f"data: {source}; bureau city {cast['city']['name']}, school {cast['school']['name']}")
        make_users(server.uri, cast)
        log(f"data ready in {time.monotonic() - started:.0f} s; starting the app")
        with serve(server.uri, work / "var", args.encoder) as base:
            wait_for_engine(base)  # indexes load in the background; pages need them
            log(f"app up after {time.monotonic() - started:.0f} s")
            seed_reviews(base, cast)
            photograph(base, args.out, cast)
        log(f"done in {time.monotonic() - started:.0f} s")
    finally:
        stop_server(work / "pgdata")
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
