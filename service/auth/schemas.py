"""Users as the service sees them, and the I/O models of the auth endpoints."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field

Role = Literal["province_admin", "reviewer", "bureau", "school", "enterprise"]
ROLES: tuple[str, ...] = ("province_admin", "reviewer", "bureau", "school", "enterprise")
ROLE_NAMES = {
    "province_admin": "省级管理员",
    "reviewer": "审核员",
    "bureau": "教育行政部门",
    "school": "学校",
    "enterprise": "企业",
}
USERNAME_PATTERN = r"^[A-Za-z0-9_.@-]{3,64}$"
MIN_PASSWORD = 8


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("不能包含 NUL 字符")
    return value


# Text that is stored in PostgreSQL, which refuses NUL bytes in text: reject them up front (422).
DbText = Annotated[str, AfterValidator(_no_nul)]


@dataclass(frozen=True)
class User:
    """An authenticated account with its region resolved (region_path drives scope checks)."""

    id: int
    username: str
    display_name: str
    role: str
    region_id: int | None
    region_code: str | None
    region_name: str | None
    region_path: str | None
    school_id: int | None
    enterprise_id: int | None


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: Role
    role_name: str
    region_code: str | None
    region_name: str | None
    school_id: int | None
    enterprise_id: int | None

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            role=user.role,  # type: ignore[arg-type]
            role_name=ROLE_NAMES[user.role],
            region_code=user.region_code,
            region_name=user.region_name,
            school_id=user.school_id,
            enterprise_id=user.enterprise_id,
        )


class LoginIn(BaseModel):
    username: DbText = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class UserCreate(BaseModel):
    username: str = Field(pattern=USERNAME_PATTERN, description="3–64 个字母、数字或 _.@-")
    password: str = Field(min_length=MIN_PASSWORD, max_length=1024)
    role: Role
    display_name: DbText = Field(default="", max_length=200)
    region: str | None = Field(
        default=None,
        pattern=r"^[0-9]{6}$",
        description="行政区划代码；reviewer 与 bureau 必填（其辖区）",
    )
    school_code: DbText | None = Field(default=None, max_length=12, description="school 角色必填")
    enterprise_credit_code: DbText | None = Field(
        default=None, max_length=18, description="enterprise 角色必填（统一社会信用代码）"
    )


class TokenCreate(BaseModel):
    name: DbText = Field(default="", max_length=200)


class TokenOut(BaseModel):
    id: int
    name: str
    token: str = Field(description="只显示这一次；服务器只保存其 SHA-256")
    created_at: datetime
