"""Schemathesis checks for MOSIP's contract, loaded with SCHEMATHESIS_HOOKS (tools/schemathesis.sh).

MOSIP answers a refused request with HTTP 200 and its error envelope (`errors` filled, `response`
null). Schemathesis's own `negative_data_rejection` expects a 4xx, so it is replaced here by one that
counts the error envelope as a refusal: a request that violates the document must never be answered
as a success. A second check reads every body for internal detail (a stack, a panic, SQL).
"""
import json
import re

import schemathesis
from schemathesis.specs.openapi.checks import negative_data_rejection

# what may never reach a client: Rust panics and backtraces, database errors, file paths of the build
INTERNAL = re.compile(
    r"panicked at|stack backtrace|RUST_BACKTRACE|sqlx|SQLSTATE|syntax error at or near|"
    r"no such table|crates/[a-z_]+/src/|\.rs:[0-9]+|/root/|/home/|called `Result::unwrap",
    re.IGNORECASE,
)


def refused(response) -> bool:
    """An answer that refuses the request: a 4xx, or MOSIP's error envelope (IDA's too)."""
    if 400 <= response.status_code < 500:
        return True
    if response.status_code != 200:
        return False
    try:
        body = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return False
    errors = body.get("errors") if isinstance(body, dict) else None
    return isinstance(errors, list) and len(errors) > 0


@schemathesis.check
def mosip_negative_data_rejection(ctx, response, case):
    """A request that violates the document is refused: with a 4xx or MOSIP's HTTP-200 error envelope."""
    if refused(response):
        return None
    return negative_data_rejection(ctx, response, case)


@schemathesis.check
def no_internal_detail(ctx, response, case):
    """No body tells a client how the server is built or what failed inside it."""
    text = response.content.decode("utf-8", errors="replace") if response.content else ""
    if response.headers.get("content-type", [""])[0].startswith("application/pdf"):
        return None
    found = INTERNAL.search(text)
    if found:
        raise AssertionError(f"internal detail in the answer: {found.group(0)!r}")
    return None
