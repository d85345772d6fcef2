"""The field types of the catalogue API (codes, names, texts, ids, region and industry codes,
party references) and the base of every request body: unknown fields are an error, and a PATCH
body is derived from its create body. The vocabularies themselves are models/vocab.py's."""

from __future__ import annotations

import copy
import re
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    create_model,
)

from models import vocab as V

INT4_MAX = 2**31 - 1  # PostgreSQL `int`: larger ids cannot exist, larger counts cannot be stored


def _clean(value: str) -> str:
    # PostgreSQL text cannot hold NUL, and lone surrogates cannot be encoded as UTF-8: both would
    # fail deep in the driver, so they are rejected here with a reason.
    if "\x00" in value:
        raise ValueError("不得包含 NUL 字符（\\x00）")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("含无法编码的字符（孤立的 UTF-16 代理项）") from None
    return value


Clean = AfterValidator(_clean)


def upper_code(pattern: str, what: str) -> AfterValidator:
    """A code given in any case with stray spaces, stored upper-case (pydantic would check a
    pattern before upper-casing, so the pattern is checked here, after)."""
    shape = re.compile(pattern)

    def check(value: str) -> str:
        value = value.strip().upper()
        if not shape.fullmatch(value):
            raise ValueError(f"{what}格式不正确")
        return value

    return AfterValidator(check)


Code = Annotated[str, StringConstraints(max_length=40), Clean]
CreditCode = Annotated[Code, upper_code(r".{1,40}", "统一社会信用代码")]  # checked in full later
SchoolCode = Annotated[Code, upper_code(r"[0-9A-Z]{4,12}", "院校代码（4–12位数字或大写字母）")]


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), Clean]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), Clean]
LongText = Annotated[str, StringConstraints(max_length=20_000), Clean]
Search = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), Clean
]
Word = Annotated[str, StringConstraints(max_length=40), Clean]
Id = Annotated[int, Field(ge=1, le=INT4_MAX)]
Count = Annotated[int, Field(ge=0, le=INT4_MAX)]
RegionCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$"), Field(examples=["410102"])]
# GB/T 4754-2017: a section letter, or a 2–4 digit division / group / class code.
IndustryCode = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^([A-T]|[0-9]{2,4})$"),
    Field(examples=["3911"]),
]
IndustryPrefix = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^([A-Ta-t]|[0-9]{1,4})$"),
    Field(examples=["39"], description="GB/T 4754 门类字母（如 C）或代码前缀（如 39、391）"),
]
MajorCode = Annotated[Code, upper_code(r"[0-9A-Z]{1,12}", "专业代码"), Field(examples=["080901"])]
Phone = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=40), AfterValidator(_clean)
]
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=200, pattern=r"^[^@\s]+@[^@\s]+$"),
    AfterValidator(_clean),
]

# The vocabularies are models/vocab.py's (re-exported here for the API's request types).
PartyType = V.PartyType
PARTY_TYPES = V.PARTY_TYPES
SchoolKind = V.SchoolKind
ProgrammeLevel = V.ProgrammeLevel
EnterpriseSize = V.EnterpriseSize
NeedKind = V.NeedKind
MentorKind = V.MentorKind


def _party_ref(value: str) -> str:
    _, _, pid = value.partition(":")
    if int(pid) > INT4_MAX:
        raise ValueError(f"编号超出范围（最大 {INT4_MAX}）")
    return value


PartyRef = Annotated[
    str,
    StringConstraints(pattern=r"^(" + "|".join(PARTY_TYPES) + r"):[1-9][0-9]{0,9}$"),
    AfterValidator(_party_ref),
    Field(examples=["school:12"], description="类型:编号，如 school:12"),
]
HostRef = Annotated[
    str,
    StringConstraints(pattern=r"^(enterprise|school):[1-9][0-9]{0,9}$"),
    AfterValidator(_party_ref),
    Field(examples=["enterprise:5"], description="enterprise:编号 或 school:编号"),
]


class Input(BaseModel):
    # Unknown fields are an error: a misspelt field must not be silently dropped.
    model_config = ConfigDict(extra="forbid")


def patch_model(
    create: type[BaseModel], name: str, *, exclude: tuple[str, ...] = ()
) -> type[Input]:
    """The PATCH body of `create`: all fields optional; null is accepted only where it was."""
    fields: dict[str, Any] = {}
    for field_name, info in create.model_fields.items():
        if field_name in exclude:
            continue
        optional = copy.copy(info)
        optional.default = None
        optional.default_factory = None
        fields[field_name] = (info.annotation, optional)
    return create_model(name, __base__=Input, **fields)
