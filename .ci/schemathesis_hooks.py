"""Schemathesis hooks for .ci/schemathesis.sh (loaded via SCHEMATHESIS_HOOKS).

A schema says which requests are well formed; it cannot say which users
exist, which cursors the server gave out, or how many partitions this
server's log has, nor which id is the caller's own. A request that is schema-valid but names one of those
made up is answered 400 with a code that says exactly that (docs/api.md,
docs/openapi.yaml), and the positive_data_acceptance check would count it
as a valid request rejected. This drops those failures, and only them:
the 400s with these codes and causes. Every other rejection of a
schema-valid request still fails the run.
"""

import schemathesis

# (code, a part of the message that names the cause; "" for any message).
CONTEXT_BOUND = [
    # `to` is a well-formed id of nobody (a recipient from a sign-up, as the
    # spec's links give, is accepted).
    ("unknown_recipient", ""),
    # `to` is the caller's own id (the fuzzer learns it from GET /me).
    ("invalid_field", "to must be another user"),
    # a cursor this listing did not give out.
    ("invalid_cursor", ""),
    # a well-formed position of a partition this server's log does not have.
    ("invalid_position", "names partition"),
]


@schemathesis.hook
def filter_failure(ctx, failure, case, response):
    if failure.code != "ST202" or response.status_code != 400:
        return True
    try:
        error = response.json()["error"]
    except Exception:
        return True
    code, message = error.get("code"), error.get("message", "")
    return not any(code == c and cause in message for c, cause in CONTEXT_BOUND)
