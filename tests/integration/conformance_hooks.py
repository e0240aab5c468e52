"""Schemathesis hooks of tests/integration/test_conformance.c (SCHEMATHESIS_HOOKS).

One check beside schemathesis's own: DESIGN.md's rule that every error is RFC 9457
application/problem+json with a stable `code`. schemathesis's content_type_conformance
and response_schema_conformance hold an answer to what the document says for its status;
this holds every 4xx and 5xx to the rule itself, whatever the document says.
"""
import json

import schemathesis


@schemathesis.check
def problem_json_on_errors(ctx, response, case):
    if response.status_code < 400:
        return None
    ctype = (response.headers.get("content-type") or [""])[0].split(";")[0].strip().lower()
    if ctype != "application/problem+json":
        raise AssertionError(
            f"{response.status_code} answered with Content-Type {ctype or '(none)'}, not application/problem+json"
        )
    try:
        body = json.loads(response.content)
    except ValueError as e:
        raise AssertionError(f"{response.status_code}: the problem details are not JSON: {e}") from None
    if not isinstance(body, dict) or not isinstance(body.get("code"), str) or not body["code"]:
        raise AssertionError(f"{response.status_code}: the problem details have no code: {body!r}"[:500])
    if body.get("status") != response.status_code:
        raise AssertionError(f"{response.status_code}: the problem details say status {body.get('status')!r}")
    return None
