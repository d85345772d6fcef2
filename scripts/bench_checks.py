"""`xiaoqi bench serve` helpers: fresh requests per load level, every response checked, and the
freshness probes (a created enterprise, a new partnership) timed over HTTP."""

from __future__ import annotations

import random
import time
from collections import Counter
from typing import Any

import httpx
import psycopg
from psycopg.rows import dict_row

ENDPOINTS = ("partner-enterprises", "programmes", "mentors", "practice-bases")
Request = tuple[str, dict[str, Any]]


class RequestGenerator:
    """A seeded, realistic mix — bureaus asking for partner enterprises of schools in their city,
    enterprises' needs asking for programmes, programmes asking for mentors and practice bases —
    that never repeats a subject until every subject of that kind has been drawn (each load level
    gets requests the service has not answered, or cached, before)."""

    def __init__(self, url: str, seed: int) -> None:
        self.rng = random.Random(seed)
        with psycopg.connect(url, row_factory=dict_row) as c:
            schools = c.execute("""SELECT s.id, split_part(r.path, '.', 2) AS city FROM schools s
                                   JOIN regions r ON r.id = s.region_id ORDER BY s.id""").fetchall()
            progs = [r["id"] for r in c.execute("SELECT id FROM programmes ORDER BY id")]
            needs = [r["id"] for r in c.execute("SELECT id FROM needs ORDER BY id")]
        self.pools: dict[str, list[Any]] = {
            "partner-enterprises": schools,
            "programmes": needs,
            "mentors": list(progs),
            "practice-bases": list(progs),
        }
        for pool in self.pools.values():
            self.rng.shuffle(pool)
        self.next: Counter[str] = Counter()
        self.repeats = 0  # draws after a pool ran out (reported, not hidden)

    def _subject(self, kind: str) -> Any:
        pool = self.pools[kind]
        i = self.next[kind]
        self.next[kind] += 1
        if i >= len(pool):
            self.repeats += 1
        return pool[i % len(pool)]

    def draw(self, n: int, *, province_wide: bool = False) -> list[Request]:
        out: list[Request] = []
        for i in range(n):
            kind = "partner-enterprises" if province_wide else ENDPOINTS[i % 4]
            s = self._subject(kind)
            if kind == "partner-enterprises":
                body: dict[str, Any] = {"subject": {"type": "school", "id": s["id"]}, "k": 10}
                if province_wide:
                    body["region"] = "410000"
                elif s["city"]:
                    body["region"] = s["city"]
            elif kind == "programmes":
                body = {"need_id": s, "k": 10}
            else:
                body = {"programme_id": s, "k": 10}
            out.append((kind, body))
        return out


class ResponseChecker:
    """Checks a response against the database as it was when the level started: status 200, k
    items (or fewer, counted), every item inside the requested region, no already-partnered
    pair, no duplicate candidate, a stored run id."""

    def __init__(self, url: str) -> None:
        with psycopg.connect(url, row_factory=dict_row) as c:
            self.paths = {r["code"]: r["path"] for r in c.execute("SELECT code, path FROM regions")}
            self.partners = {
                ((r["a_type"], r["a_id"]), (r["b_type"], r["b_id"]))
                for r in c.execute(
                    "SELECT a_type, a_id, b_type, b_id FROM partnerships WHERE status = 'active'"
                )
            }
        self.counts: Counter[str] = Counter()

    def check(self, kind: str, body: dict[str, Any], status: int, data: dict[str, Any]) -> None:
        c = self.counts
        c["responses"] += 1
        if status != 200:
            c["errors"] += 1
            return
        if not data.get("run_id"):
            c["not_stored"] += 1
        region = body.get("region")
        scope = self.paths.get(region) if region else None
        for result in data.get("results", []):
            items = result.get("items", [])
            if len(items) < body.get("k", 10):
                c["short"] += 1
            seen = set()
            subject = result.get("subject") or {}
            for item in items:
                cand = item["candidate"]
                key = (cand["type"], cand["id"])
                if key in seen:
                    c["duplicate_item"] += 1
                seen.add(key)
                if scope is not None:
                    path = self.paths.get(str(cand.get("region_code")), "")
                    if not path.startswith(scope):
                        c["outside_scope"] += 1
                if subject.get("type") in ("school", "programme"):
                    pair = sorted([(subject["type"], subject["id"]), key])
                    if (pair[0], pair[1]) in self.partners:
                        c["guard_violated"] += 1

    def summary(self) -> dict[str, int]:
        keys = ("responses", "errors", "short", "outside_scope", "guard_violated")
        return {k: int(self.counts[k]) for k in (*keys, "duplicate_item", "not_stored")}


def stored_runs(url: str) -> int:
    with psycopg.connect(url, row_factory=dict_row) as c:
        row: Any = c.execute("SELECT count(*) AS n FROM recommendation_runs").fetchone()
        return int(row["n"])


def freshness_probe(base: str, token: str, url: str, timeout: float = 30.0) -> dict[str, Any]:
    """Seconds until (a) an enterprise created in a school's city is found by search (its unique
    name) and shows in that school's top 50 partner recommendations (None: not within
    ``timeout``), and (b) a partnership with the school's top candidate removes it from the
    next answer; all over HTTP against the running service."""
    headers = {"Authorization": f"Bearer {token}"}
    with psycopg.connect(url, row_factory=dict_row, autocommit=True) as c:
        school: Any = c.execute(
            """SELECT s.id, s.region_id, split_part(r.path, '.', 2) AS city FROM schools s
               JOIN regions r ON r.id = s.region_id
               WHERE split_part(r.path, '.', 2) <> '' ORDER BY s.id LIMIT 1"""
        ).fetchone()
        text = "".join(
            p["description"] or ""
            for p in c.execute(
                "SELECT description FROM programmes WHERE school_id = %s ORDER BY id LIMIT 3",
                (school["id"],),
            )
        )
        body = {"subject": {"type": "school", "id": school["id"]}, "region": school["city"]}
        out: dict[str, Any] = {}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as http:

            def ids(k: int = 10) -> list[int]:
                r = http.post("/v1/recommendations/partner-enterprises", json={**body, "k": k})
                r.raise_for_status()
                return [it["candidate"]["id"] for res in r.json()["results"] for it in res["items"]]

            ids()
            from models.codes import make_credit_code

            code = make_credit_code(random.Random(99), "410100")
            name = "基准新鲜度测试企业有限公司"
            row: Any = c.execute(
                """INSERT INTO enterprises (credit_code, name, industry_codes, region_id,
                                            description)
                   SELECT %s, %s, industries, %s, %s
                   FROM programmes WHERE school_id = %s ORDER BY id LIMIT 1 RETURNING id""",
                (code, name, school["region_id"], (text or "数控技术") * 3, school["id"]),
            ).fetchone()
            t0 = time.perf_counter()
            out["create_enterprise_s"] = None  # visible to search (by its unique name)
            out["create_recommended_s"] = None  # in the school's top 50
            while row is not None and time.perf_counter() - t0 < timeout:
                if out["create_enterprise_s"] is None:
                    r = http.get("/v1/search", params={"q": name, "type": "enterprise", "k": 5})
                    if r.status_code == 200 and row["id"] in [h["id"] for h in r.json()]:
                        out["create_enterprise_s"] = round(time.perf_counter() - t0, 3)
                if out["create_recommended_s"] is None and row["id"] in ids(50):
                    out["create_recommended_s"] = round(time.perf_counter() - t0, 3)
                if None not in (out["create_enterprise_s"], out["create_recommended_s"]):
                    break
                time.sleep(0.05)
            top = ids()[0]
            a, b = sorted([("enterprise", top), ("school", school["id"])])
            c.execute(
                """INSERT INTO partnerships (a_type, a_id, b_type, b_id, kind)
                   VALUES (%s, %s, %s, %s, '结对包联')""",
                (a[0], a[1], b[0], b[1]),
            )
            t0 = time.perf_counter()
            gone = top not in ids()
            out["partnership_next_request"] = gone
            out["partnership_s"] = round(time.perf_counter() - t0, 3)
    return out
