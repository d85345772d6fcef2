"""Accounts from the command line: ``xiaoqi user add | token | list | demo``.

``ensure_demo_users()`` is what ``xiaoqi demo`` calls: known demo accounts, demo mode only.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

console = Console()
user_app = typer.Typer(help="Accounts: add users, issue API tokens.", no_args_is_help=True)

ROLE_HELP = "province_admin | reviewer | bureau | school | enterprise"


def _connect() -> Any:
    from service.db import connect
    from service.reference import setup_database

    conn = connect()
    setup_database(conn)  # idempotent: migrations and regions, so a fresh database works too
    return conn


def _fail(exc: Exception) -> None:
    from service.errors import DomainError

    if isinstance(exc, DomainError):
        console.print(f"[red]错误[/]：{exc.detail}")
        for e in exc.errors:
            console.print(f"  - {e.get('column')}: {e.get('reason')}")
    else:
        console.print(f"[red]错误[/]：{exc}")
    raise typer.Exit(1)


@user_app.command("add")
def add(
    username: str,
    role: Annotated[str, typer.Option("--role", help=ROLE_HELP)],
    region: Annotated[str | None, typer.Option(help="行政区划代码（reviewer/bureau 必填）")] = None,
    school_code: Annotated[str | None, typer.Option(help="学校代码（school 必填）")] = None,
    enterprise_credit_code: Annotated[
        str | None, typer.Option(help="统一社会信用代码（enterprise 必填）")
    ] = None,
    display_name: Annotated[str, typer.Option(help="显示名")] = "",
    password: Annotated[str | None, typer.Option(help="不给则交互输入（不回显）")] = None,
) -> None:
    """Create an account."""
    from pydantic import ValidationError

    from service.auth.schemas import UserCreate
    from service.auth.service import create_user
    from service.errors import DomainError

    if password is None:
        password = typer.prompt("密码", hide_input=True, confirmation_prompt=True)
    try:
        data = UserCreate(
            username=username,
            password=password,
            role=role,  # type: ignore[arg-type]
            region=region,
            school_code=school_code,
            display_name=display_name,
            enterprise_credit_code=enterprise_credit_code,
        )
    except ValidationError as exc:
        for e in exc.errors():
            console.print(f"[red]错误[/]：{'.'.join(map(str, e['loc']))}: {e['msg']}")
        raise typer.Exit(1) from None
    with _connect() as conn:
        try:
            user = create_user(conn, data, actor_id=None)
        except DomainError as exc:
            conn.rollback()
            _fail(exc)
            return
        conn.commit()
    console.print(
        f"已创建用户 [bold]{user.username}[/]（{user.role}"
        + (f"，{user.region_name}" if user.region_name else "")
        + f"），id {user.id}"
    )


@user_app.command("token")
def token(
    username: str,
    name: Annotated[str, typer.Option(help="令牌用途说明")] = "cli",
) -> None:
    """Issue an API token for USERNAME; it is printed once (the server keeps its SHA-256)."""
    from service.auth import repository
    from service.auth.service import create_token

    with _connect() as conn:
        row = repository.user_by_username(conn, username)
        if row is None or not row["active"]:
            console.print(f"[red]错误[/]：用户 {username} 不存在或已停用")
            raise typer.Exit(1)
        created = create_token(conn, repository.to_user(row), name)
        conn.commit()
    console.print(
        f"令牌 id {created['id']}（只显示这一次，用法：Authorization: Bearer <令牌>）：",
        style="dim",
    )
    print(created["token"])


@user_app.command("list")
def list_users() -> None:
    """List accounts."""
    with _connect() as conn:
        rows = conn.execute(
            """SELECT u.username, u.role, g.name AS region, u.active
               FROM users u LEFT JOIN regions g ON g.id = u.region_id ORDER BY u.id"""
        ).fetchall()
    table = Table("用户名", "角色", "辖区", "启用")
    for r in rows:
        table.add_row(r["username"], r["role"], r["region"] or "", "是" if r["active"] else "否")
    console.print(table)


@user_app.command("demo")
def demo() -> None:
    """Create the demo accounts (only with XIAOQI_MODE=demo)."""
    try:
        ensure_demo_users()
    except DemoModeRequired as exc:
        _fail(exc)


class DemoModeRequired(RuntimeError):
    pass


# username, role, region code, description. Passwords are "<username>-demo" (demo mode only).
_DEMO = [
    ("admin", "province_admin", None, "省级管理员"),
    ("reviewer_zz", "reviewer", "410100", "郑州市审核员"),
    ("bureau_zz", "bureau", "410100", "郑州市教育局"),
    ("bureau_ly", "bureau", "410300", "洛阳市教育局"),
]


def ensure_demo_users() -> list[tuple[str, str, str]]:
    """Create the demo accounts if missing; returns and prints (username, password, role).

    Refuses unless settings.mode == "demo": demo passwords are public.
    """
    from service.auth import repository
    from service.auth.schemas import UserCreate
    from service.auth.service import create_user
    from service.config import get_settings

    if get_settings().mode != "demo":
        raise DemoModeRequired("演示账号只能在演示模式下创建（设置 XIAOQI_MODE=demo）")
    accounts: list[tuple[str, str, str]] = []
    table = Table("用户名", "密码", "角色", "状态", title="演示账号")
    with _connect() as conn:
        specs: list[dict[str, Any]] = [
            {"username": u, "role": r, "region": c, "display_name": d} for u, r, c, d in _DEMO
        ]
        school = conn.execute("SELECT code, name FROM schools ORDER BY id LIMIT 1").fetchone()
        if school:
            specs.append(
                {
                    "username": "school_demo",
                    "role": "school",
                    "school_code": school["code"],
                    "display_name": school["name"],
                }
            )
        ent = conn.execute(
            "SELECT credit_code, name FROM enterprises ORDER BY id LIMIT 1"
        ).fetchone()
        if ent:
            specs.append(
                {
                    "username": "enterprise_demo",
                    "role": "enterprise",
                    "enterprise_credit_code": ent["credit_code"],
                    "display_name": ent["name"],
                }
            )
        for spec in specs:
            password = f"{spec['username']}-demo"
            exists = repository.user_by_username(conn, spec["username"]) is not None
            if not exists:
                create_user(conn, UserCreate(password=password, **spec), actor_id=None)
            label = f"{spec['display_name']}（{spec['role']}）"
            accounts.append((spec["username"], password, label))
            table.add_row(spec["username"], password, label, "已存在" if exists else "新建")
        conn.commit()
    console.print(table)
    return accounts


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    app.add_typer(user_app, name="user")


if __name__ == "__main__":
    user_app()
