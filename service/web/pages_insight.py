"""The partnership network around one party, the industry × school coverage, and imports."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response

from service.auth.deps import TxConn, region_scope
from service.errors import DomainError
from service.ingest import preview
from service.ingest.router import max_upload_bytes
from service.ingest.service import KINDS, import_file
from service.ratelimit import anonymous_limit
from service.recommendations.router import EngineLoaded, engine_of, refresh_later
from service.web import coverage as cov
from service.web import netview
from service.web import repository as repo
from service.web.render import IMPORT_ROLES, PARTY_LABELS, gate, page, scope_label, user_of

router = APIRouter(include_in_schema=False)
NETWORK_TYPES = {t: PARTY_LABELS[t] for t in repo.PARTY_TYPES}


def _engine(request: Request, conn: Any) -> Any:
    """The loaded engine with its partnership graph up to date, or None if it is unavailable.
    Anonymous readers get the latest published graph; it is refreshed in the background, never
    rebuilt on their request."""
    try:
        engine = engine_of(request)
    except DomainError:
        return None
    if user_of(request) is None:
        return refresh_later(request, engine)
    engine.refresh(conn)  # picks up partnerships approved since the last request
    return engine


# rate limit first (refused before anything is taken), then the engine wait, before TxConn
@router.get("/network", dependencies=[anonymous_limit("network"), EngineLoaded])
def network(
    request: Request,
    conn: TxConn,
    type: str = "school",
    id: str = "",
    q: str = "",
    radius: str = "1",
) -> Response:
    ptype = type if type in NETWORK_TYPES else "school"
    hops = 2 if radius == "2" else 1
    matches = repo.find_parties(conn, ptype, q.strip()[:100]) if q.strip() else []
    context: dict[str, Any] = {
        "ptype": ptype,
        "q": q,
        "radius": hops,
        "matches": matches,
        "types": NETWORK_TYPES,
        "colours": netview.COLOURS,
        "drawing": None,
        "centre": None,
        "error": None,
        "partners": [],
    }
    if id.isdigit() and len(id) < 10:
        pid = int(id)
        names = repo.names(conn, [(ptype, pid)])
        if (ptype, pid) not in names:
            context["error"] = f"{NETWORK_TYPES[ptype]} {pid} 不存在"
        else:
            engine = _engine(request, conn)
            if engine is None:
                context["error"] = "推荐引擎尚未就绪，合作网络暂不可用"
            else:
                g = engine.graph
                centre = g.node(ptype, pid)
                sub, _, _ = netview.ego(g.graph, centre, hops)
                names = repo.names(conn, list(sub.nodes()) + [(ptype, pid)])
                names[centre] = names.get((ptype, pid), "")
                context["drawing"] = netview.draw(g.graph, centre, hops, names)
                context["centre"] = {"type": ptype, "id": pid, "name": names[centre]}
                context["partners"] = sorted(
                    (
                        {"type": n[0], "id": n[1], "name": names.get(n, "")}
                        for n in (g.graph.neighbors(centre) if centre in g.graph else [])
                    ),
                    key=lambda p: (p["type"], p["name"]),
                )
    elif id:
        context["error"] = "编号应为正整数"
    return page(request, "network.html", title="合作网络", **context)


@router.get("/coverage", dependencies=[EngineLoaded])
def coverage(request: Request, conn: TxConn, all: str = "") -> Response:
    user = gate(request)
    if isinstance(user, Response):
        return user
    engine = _engine(request, conn)
    if engine is None:
        return page(
            request,
            "error.html",
            status_code=503,
            title="暂不可用",
            message="推荐引擎尚未就绪，覆盖情况暂不可用",
        )
    settings = request.app.state.settings
    schools = repo.schools_in_scope(conn, region_scope(user))
    data = cov.build(
        engine.graph,
        schools,
        max_industries=settings.quota_industries_per_school,
        max_schools=settings.quota_schools_per_industry,
        only_active=all != "1",
    )
    return page(
        request,
        "coverage.html",
        title="覆盖情况",
        cov=data,
        show_all=all == "1",
        scope=scope_label(user),
        min_schools=cov.MIN_SCHOOLS_PER_INDUSTRY,
        max_schools=settings.quota_schools_per_industry,
        min_industries=cov.MIN_INDUSTRIES_PER_SCHOOL,
        max_industries=settings.quota_industries_per_school,
    )


def _kinds() -> dict[str, str]:
    return {name: spec.label for name, spec in KINDS.items()}


@router.get("/import")
def import_form(request: Request) -> Response:
    user = gate(request, IMPORT_ROLES)
    if isinstance(user, Response):
        return user
    return page(
        request,
        "import.html",
        title="数据导入",
        kinds=_kinds(),
        report=None,
        kind="enterprises",
        skip=False,
        error=None,
    )


@router.post("/import")
def import_upload(
    request: Request,
    conn: TxConn,
    file: Annotated[UploadFile | None, File()] = None,
    kind: Annotated[str, Form(max_length=40)] = "enterprises",
    skip_invalid: Annotated[str, Form(max_length=5)] = "",
    action: Annotated[str, Form(max_length=10)] = "import",
) -> Response:
    """`action=preview`: a dry run whose report lists every row, kept with a token for the
    confirm button; otherwise import at once. Kind `auto`: recognised from the header row."""
    user = gate(request, IMPORT_ROLES)
    if isinstance(user, Response):
        return user
    skip = skip_invalid in ("1", "on", "true")
    context = _import_context(kind, skip)
    if kind not in KINDS and kind != AUTO:
        context["error"] = "请选择导入类型"
    elif file is None or not file.filename:
        context["error"] = "请选择要上传的文件（CSV、XLSX 或 JSON Lines）"
    elif file.size is not None and file.size > max_upload_bytes(request):
        context["error"] = f"文件过大（上限 {max_upload_bytes(request) >> 20} MB）"
    elif action == "preview":
        sha, _ = preview.keep(request.app.state.settings.var_dir, file.file)
        _run_import(request, conn, context, file.file, file.filename, dry_run=True)
        context["token"] = preview.token(sha, conn)
        context["filename"] = file.filename
    else:
        _run_import(request, conn, context, file.file, file.filename, dry_run=False)
    return page(request, "import.html", title="数据导入", **context)


@router.post("/import/confirm")
def import_confirm(
    request: Request,
    conn: TxConn,
    token: Annotated[str, Form(max_length=100)] = "",
    filename: Annotated[str, Form(max_length=200)] = "upload",
    kind: Annotated[str, Form(max_length=40)] = "enterprises",
    skip_invalid: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    """Commit exactly what was previewed: the kept file, if neither it nor the database
    changed since (else say which, and preview again)."""
    user = gate(request, IMPORT_ROLES)
    if isinstance(user, Response):
        return user
    context = _import_context(kind, skip_invalid in ("1", "on", "true"))
    if kind not in KINDS and kind != AUTO:
        context["error"] = "请选择导入类型"
        return page(request, "import.html", title="数据导入", **context)
    var_dir = request.app.state.settings.var_dir
    path, problem = preview.check(var_dir, token, conn)
    if path is None:
        context["error"] = problem
    elif problem:  # the database moved on: show what the import would do now
        context["error"] = problem
        with path.open("rb") as f:
            _run_import(request, conn, context, f, filename, dry_run=True)
        context["token"] = preview.token(token.split(".")[0], conn)
        context["filename"] = filename
    else:
        with path.open("rb") as f:
            _run_import(request, conn, context, f, filename, dry_run=False)
        if context["report"] and context["report"]["committed"]:
            preview.discard(path)
    return page(request, "import.html", title="数据导入", **context)


AUTO = "auto"


def _import_context(kind: str, skip: bool) -> dict[str, Any]:
    return {
        "kinds": _kinds(),
        "kind": kind,
        "skip": skip,
        "report": None,
        "error": None,
        "token": None,
        "filename": None,
    }


def _run_import(
    request: Request,
    conn: Any,
    context: dict[str, Any],
    source: Any,
    filename: str,
    *,
    dry_run: bool,
) -> None:
    user = user_of(request)
    kind = context["kind"]
    try:
        with conn.transaction():
            report = import_file(
                conn,
                source,
                filename,
                None if kind == AUTO else kind,
                skip_invalid=context["skip"],
                actor_id=getattr(user, "id", None),
                actor=user,
                dry_run=dry_run,
            )
        context["report"] = report.model_dump()
    except DomainError as exc:
        context["error"] = exc.detail
