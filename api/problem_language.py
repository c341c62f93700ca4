"""The `detail` of a problem+json in the caller's language; the stable `code` never changes.

A caller asking for Chinese (Accept-Language: zh-CN, negotiated by Babel as the console does)
gets the console's sentence for the code, and for a policy refusal the sentence of the rule
that refused, with its figures formatted (`金额 150,000.01 元 超过单张创新券上限 150,000.00 元。`).
Without an Accept-Language header, asking for English or for a language the product does not
speak, `detail` stays the service's own English message, which names the field and the value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request

from api.console import i18n
from api.console.labels import ERRORS, invalid_input_sentence, sign_in_sentence
from api.console.traces import trace_sentence


def refusing_line(detail: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The first failing line of a refusal's decision trace, if it carries one."""
    decision = detail.get("decision")
    if not isinstance(decision, Mapping):
        return None
    for line in decision.get("trace") or ():
        if isinstance(line, Mapping) and line.get("outcome") == "fail":
            return line
    return None


def localized_detail(request: Request, code: str, message: str,
                     detail: Mapping[str, Any]) -> str:
    """`message` for English or no stated language; else the code's sentence, in Chinese."""
    language = i18n.negotiated(request.headers.get("accept-language", ""))
    if language is None or language == "en":
        return message
    page = i18n.catalogue(language)
    line = refusing_line(detail)
    if line is not None:
        return trace_sentence(line, language, page.gettext)
    if code == "invalid_input":
        known = invalid_input_sentence(message, page.gettext)
        if known is not None:
            return known
    if code == "not_authenticated":  # a token's fault is not a wrong password
        return sign_in_sentence(message, page.gettext)
    if code in ERRORS:
        return page.gettext(ERRORS[code])
    return message
