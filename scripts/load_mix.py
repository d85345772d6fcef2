"""`xiaoqi load` traffic: what one client does, and how every answer is checked.

A client is a thread with four HTTP sessions — a province admin (API token), two reviewers
(logged in with their passwords, session cookies) and an anonymous reader — and loops over a
weighted mix: catalogue reads, the four recommendation types (bench_checks.RequestGenerator's
realistic, non-repeating draws, checked by bench_checks.ResponseChecker), searches, a review
round (one reviewer submits a recommendation, the other decides it: four eyes), and small
enterprise imports. An answer is an error when its status or body is not what the request must
get; a 409 on a review step is a legitimate race with another client and counted as a conflict.
"""

from __future__ import annotations

import csv
import io
import random
import secrets
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from scripts.bench_checks import RequestGenerator, ResponseChecker
from scripts.load_world import Accounts, World

# Weights of one loop iteration (a review round is 3–5 requests, an import one).
MIX = {"catalogue": 30, "recommend": 36, "search": 14, "review": 14, "import": 3}
IMPORT_ROWS = 5
ANON_SEARCH_EVERY_S = 1.0
# Idle connections are dropped before uvicorn's 5 s keep-alive closes them, so a request is
# never sent on a connection the server is closing at that moment (a ReadError that says
# nothing about the service).
LIMITS = httpx.Limits(
    keepalive_expiry=2.0
)  # well inside the anonymous budget (120/min per address)
REC_KEYS = ("errors", "outside_scope", "guard_violated", "duplicate_item", "not_stored")


@dataclass
class Stats:
    """Latencies and problems per endpoint label, shared by every client (one lock)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    measuring: bool = False  # latencies are kept after warm-up only; errors always
    latency: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    requests: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    conflicts: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)

    def record(self, label: str, ms: float, problem: str | None) -> None:
        with self.lock:
            self.requests[label] += 1
            if self.measuring:
                self.latency[label].append(ms)
            if problem is not None:
                self.errors[label] += 1
                if len(self.examples) < 30:
                    self.examples.append(f"{label}: {problem}")

    def conflict(self, label: str, detail: str) -> None:
        with self.lock:
            self.conflicts[label] += 1
            if len(self.examples) < 30 and self.conflicts[label] <= 3:
                self.examples.append(f"{label} (conflict, not an error): {detail}")


class Shared:
    """State every client shares: the generator, the checker and the anonymous-search pace."""

    def __init__(self, url: str, seed: int, stats: Stats) -> None:
        self.stats = stats
        self.world = World.read(url, seed)
        self.gen = RequestGenerator(url, seed)
        self.checker = ResponseChecker(url)
        self.lock = threading.Lock()
        self.queue: list[tuple[str, dict[str, Any]]] = []
        self.next_anon = 0.0
        self.imports = 0

    def draw_recommendation(self) -> tuple[str, dict[str, Any]]:
        with self.lock:
            if not self.queue:
                self.queue = self.gen.draw(8)[::-1]
            return self.queue.pop()

    def check_recommendation(
        self, kind: str, body: dict[str, Any], r: httpx.Response
    ) -> str | None:
        data = r.json() if r.status_code == 200 else {}
        with self.lock:
            before = {k: self.checker.counts[k] for k in REC_KEYS}
            self.checker.check(kind, body, r.status_code, data)
            grew = [k for k in REC_KEYS if self.checker.counts[k] > before[k]]
        if not grew:
            return None
        return f"{r.status_code} {','.join(grew)} {body} {r.text[:200]}"

    def anonymous_turn(self) -> bool:
        with self.lock:
            now = time.monotonic()
            if now < self.next_anon:
                return False
            self.next_anon = now + ANON_SEARCH_EVERY_S
            return True

    def next_import(self) -> int:
        with self.lock:
            self.imports += 1
            return self.imports


Check = Callable[[httpx.Response], str | None]


def expect(status: int, shape: Callable[[Any], bool] | None = None) -> Check:
    def check(r: httpx.Response) -> str | None:
        if r.status_code != status:
            return f"status {r.status_code} (want {status}): {r.text[:300]}"
        if shape is not None:
            try:
                ok = shape(r.json())
            except (ValueError, KeyError, TypeError, IndexError) as exc:
                return f"body not as expected ({type(exc).__name__}: {exc}): {r.text[:300]}"
            if not ok:
                return f"body not as expected: {r.text[:300]}"
        return None

    return check


def page_of(data: Any) -> bool:
    return isinstance(data["items"], list) and isinstance(data["limit"], int)


def hits_of(data: Any) -> bool:
    return isinstance(data, list) and all({"type", "id", "name", "score"} <= set(h) for h in data)


class Client:
    """One concurrent client: its sessions and its loop."""

    def __init__(self, base: str, accounts: Accounts, shared: Shared, seed: int) -> None:
        self.shared, self.stats = shared, shared.stats
        self.rng = random.Random(seed)
        # new credit codes and names in every run (the world, and its imports, persist)
        self.fresh = random.Random(secrets.randbits(64))
        self.tag = secrets.token_hex(2)
        auth = {"Authorization": f"Bearer {accounts.admin_token}"}
        self.admin = httpx.Client(base_url=base, headers=auth, timeout=60, limits=LIMITS)
        self.anon = httpx.Client(base_url=base, timeout=60, limits=LIMITS)
        self.reviewers = []
        for username, password in accounts.reviewers:
            c = httpx.Client(base_url=base, timeout=60, limits=LIMITS)
            self.call(
                c,
                "POST /v1/auth/login",
                "POST",
                "/v1/auth/login",
                expect(200, lambda d: d["role"] == "reviewer"),
                json={"username": username, "password": password},
            )
            self.reviewers.append(c)

    def close(self) -> None:
        for c in (self.admin, self.anon, *self.reviewers):
            c.close()

    def call(
        self, http: httpx.Client, label: str, method: str, path: str, check: Check, **kw: Any
    ) -> httpx.Response | None:
        t0 = time.perf_counter()
        try:
            r = http.request(method, path, **kw)
        except httpx.HTTPError as exc:
            self.stats.record(label, (time.perf_counter() - t0) * 1000, f"{type(exc).__name__}")
            return None
        ms = (time.perf_counter() - t0) * 1000
        problem = check(r)
        self.stats.record(label, ms, problem)
        return None if problem else r

    def loop(self, stop: threading.Event) -> None:
        ops = {
            "catalogue": self.catalogue,
            "recommend": self.recommend,
            "search": self.search,
            "review": self.review,
            "import": self.import_enterprises,
        }
        names, weights = list(MIX), list(MIX.values())
        while not stop.is_set():
            ops[self.rng.choices(names, weights)[0]]()

    # ---- the mix --------------------------------------------------------------------------

    def catalogue(self) -> None:
        w, rng = self.shared.world, self.rng
        pick = rng.randrange(5)
        if pick == 0:
            params = {"region": rng.choice(w.cities), "limit": 20, "offset": rng.randrange(0, 200)}
            self.call(
                self.anon,
                "GET /v1/enterprises",
                "GET",
                "/v1/enterprises",
                expect(200, page_of),
                params=params,
            )
        elif pick == 1:
            eid = rng.choice(w.enterprise_ids)
            self.call(
                self.admin,
                "GET /v1/enterprises/{id}",
                "GET",
                f"/v1/enterprises/{eid}",
                expect(200, lambda d: d["id"] == eid and bool(d["name"])),
            )
        elif pick == 2:
            self.call(
                self.anon,
                "GET /v1/schools",
                "GET",
                "/v1/schools",
                expect(200, lambda d: page_of(d) and len(d["items"]) > 0),
                params={"region": "410000", "limit": 50},
            )
        elif pick == 3:
            school = rng.choice(w.schools)["id"]
            self.call(
                self.anon,
                "GET /v1/programmes",
                "GET",
                "/v1/programmes",
                expect(
                    200, lambda d: page_of(d) and all(p["school_id"] == school for p in d["items"])
                ),
                params={"school_id": school, "limit": 50},
            )
        else:
            pid = rng.choice(w.programmes)["id"]
            self.call(
                self.anon,
                "GET /v1/programmes/{id}",
                "GET",
                f"/v1/programmes/{pid}",
                expect(200, lambda d: d["id"] == pid),
            )

    def recommend(self) -> None:
        kind, body = self.shared.draw_recommendation()
        label = f"POST /v1/recommendations/{kind}"
        t0 = time.perf_counter()
        try:
            r = self.admin.post(f"/v1/recommendations/{kind}", json=body)
        except httpx.HTTPError as exc:
            self.stats.record(label, (time.perf_counter() - t0) * 1000, type(exc).__name__)
            return
        ms = (time.perf_counter() - t0) * 1000
        self.stats.record(label, ms, self.shared.check_recommendation(kind, body, r))

    def search(self) -> None:
        w, rng = self.shared.world, self.rng
        q = rng.choice(w.terms)
        kind = rng.choice(["all", "enterprise", "programme", "mentor", "practice_base"])
        params = {"q": q, "type": kind, "k": 10}
        anonymous = self.shared.anonymous_turn()
        http, label = (
            (self.anon, "GET /v1/search (anonymous)")
            if anonymous
            else (self.admin, "GET /v1/search")
        )
        types = {kind} if kind != "all" else {"enterprise", "programme", "mentor", "practice_base"}
        self.call(
            http,
            label,
            "GET",
            "/v1/search",
            expect(200, lambda d: hits_of(d) and all(h["type"] in types for h in d)),
            params=params,
        )

    def review(self) -> None:
        """Reviewer A asks for a school's partner enterprises and submits the top one; B (never
        A: four eyes) approves, rejects or returns it. Sometimes A tries to decide its own
        submission (must be 403) and B reads the queue and the item's history."""
        rng, w = self.rng, self.shared.world
        a, b = rng.sample(self.reviewers, 2)
        school = rng.choice(w.schools)
        body: dict[str, Any] = {"subject": {"type": "school", "id": school["id"]}, "k": 5}
        if school["city"]:
            body["region"] = school["city"]
        r = self.call(
            a,
            "POST /v1/recommendations/partner-enterprises (reviewer)",
            "POST",
            "/v1/recommendations/partner-enterprises",
            expect(
                200,
                lambda d: (
                    bool(d["run_id"])
                    and all(i["recommendation_id"] for x in d["results"] for i in x["items"])
                ),
            ),
            json=body,
        )
        items = [i for x in (r.json()["results"] if r else []) for i in x["items"]]
        if not items:
            return
        rid = items[0]["recommendation_id"]
        r = self.call(
            a,
            "POST /v1/review/submit",
            "POST",
            "/v1/review/submit",
            expect(
                200,
                lambda d: d["results"][0]["id"] == rid and d["results"][0]["status"] in (200, 409),
            ),
            json={"recommendation_ids": [rid]},
        )
        if r is None:
            return
        if r.json()["results"][0]["status"] == 409:
            self.stats.conflict("POST /v1/review/submit", r.json()["results"][0]["detail"])
            return
        if rng.random() < 0.2:
            self.call(
                a,
                "POST /v1/review/items/{id}/decisions (own: 403)",
                "POST",
                f"/v1/review/items/{rid}/decisions",
                expect(403),
                json={"decision": "approve"},
            )
        decision = rng.choices(["approve", "reject", "return"], [6, 2, 2])[0]
        state = {"approve": "approved", "reject": "rejected", "return": "returned"}[decision]
        t0 = time.perf_counter()
        label = "POST /v1/review/items/{id}/decisions"
        try:
            d = b.post(
                f"/v1/review/items/{rid}/decisions",
                json={"decision": decision, "reason": "负载测试" if decision != "approve" else ""},
            )
        except httpx.HTTPError as exc:
            self.stats.record(label, (time.perf_counter() - t0) * 1000, type(exc).__name__)
            return
        ms = (time.perf_counter() - t0) * 1000
        if d.status_code == 409:  # another client's approval got there first (quota, pair)
            self.stats.record(label, ms, None)
            self.stats.conflict(label, d.json().get("detail", ""))
            return
        self.stats.record(
            label,
            ms,
            expect(
                200,
                lambda x: (
                    x["recommendation_id"] == rid
                    and x["state"] == state
                    and (x["partnership_id"] is not None) == (decision == "approve")
                ),
            )(d),
        )
        if rng.random() < 0.3:
            self.call(
                b,
                "GET /v1/review/queue",
                "GET",
                "/v1/review/queue",
                expect(200, lambda x: isinstance(x["items"], list)),
                params={"limit": 20},
            )
            self.call(
                b,
                "GET /v1/review/items/{id}/history",
                "GET",
                f"/v1/review/items/{rid}/history",
                expect(200, lambda x: any(e["decision"] == decision for e in x["decisions"])),
            )

    def import_enterprises(self) -> None:
        """A 5-row enterprise CSV with new credit codes and names: all five inserted."""
        from models.codes import make_credit_code

        n = self.shared.next_import()
        rows = self.rng.sample(self.shared.world.import_rows, IMPORT_ROWS)
        buf = io.StringIO()
        out = csv.writer(buf)
        out.writerow(
            ["统一社会信用代码", "企业名称", "行业代码", "所在地区", "企业简介", "经营状态"]
        )
        for j, row in enumerate(rows):
            code = make_credit_code(self.fresh, row["region"])
            name = f"豫载{self.tag}{n:05d}{j}{row['name'][-6:]}"
            out.writerow([code, name, row["industries"], row["region"], row["description"], "在营"])
        data = buf.getvalue().encode("utf-8")
        self.call(
            self.admin,
            "POST /v1/imports/enterprises",
            "POST",
            "/v1/imports/enterprises",
            expect(
                200,
                lambda d: d["committed"] and d["inserted"] == IMPORT_ROWS and d["rejected"] == 0,
            ),
            files={"file": (f"load-{n}.csv", data, "text/csv")},
        )
