"""Request validation failures rendered like every other InvalidInput: Chinese reasons per field.

FastAPI's default 422 echoes each bad input back; an input holding a lone UTF-16 surrogate then
cannot be encoded and the client gets a 500. The app-wide handler in service/errors.py answers
with `as_invalid_input(exc)` instead: the same {error, detail, errors[row, column, reason]} shape
as every other 422, without the echo.
"""

from __future__ import annotations

from typing import Any

from fastapi.exceptions import RequestValidationError

from service.errors import InvalidInput

_PLAIN = {
    "missing": "缺少必填项",
    "extra_forbidden": "不允许的字段",
    "json_invalid": "JSON 格式错误",
    "json_type": "应为 JSON",
    "string_type": "应为字符串",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "list_type": "应为数组",
    "dict_type": "应为对象",
    "model_type": "应为对象",
    "model_attributes_type": "应为对象",
    "date_type": "应为日期（YYYY-MM-DD）",
    "date_parsing": "应为日期（YYYY-MM-DD）",
    "date_from_datetime_parsing": "应为日期（YYYY-MM-DD）",
    "date_from_datetime_inexact": "应为日期（YYYY-MM-DD），不带时间",
    "string_pattern_mismatch": "格式不正确",
    "string_unicode": "应为有效的 Unicode 字符串",
    "finite_number": "应为有限的数",
}

_WITH_CTX = {
    "string_too_short": "至少 {min_length} 个字符",
    "string_too_long": "最多 {max_length} 个字符",
    "too_short": "至少 {min_length} 项",
    "too_long": "最多 {max_length} 项",
    "greater_than_equal": "不能小于 {ge}",
    "greater_than": "应大于 {gt}",
    "less_than_equal": "不能大于 {le}",
    "less_than": "应小于 {lt}",
    "literal_error": "应为以下之一：{expected}",
    "enum": "应为以下之一：{expected}",
}


def reason(error: dict[str, Any]) -> str:
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    if kind == "value_error":
        return str(error.get("msg", "")).removeprefix("Value error, ")
    if kind == "string_too_short" and ctx.get("min_length") == 1:
        return "不能为空"
    if kind in _WITH_CTX:
        try:
            return _WITH_CTX[kind].format(**ctx)
        except (KeyError, IndexError):
            pass
    return _PLAIN.get(kind, str(error.get("msg", "无效的值")))


def _where(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:] or parts
    return ".".join(parts) or "body"


def as_invalid_input(exc: RequestValidationError) -> InvalidInput:
    errors = [
        {"row": None, "column": _where(e.get("loc", ())), "reason": reason(e)} for e in exc.errors()
    ]
    summary = "；".join(f"{e['column']}：{e['reason']}" for e in errors[:5])
    return InvalidInput(f"请求有误：{summary}", errors=errors)
