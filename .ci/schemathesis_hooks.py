"""Schemathesis hooks for .ci/schemathesis.sh (loaded via SCHEMATHESIS_HOOKS).

A schema says which requests are well formed; it cannot say which users
exist, which id is the caller's own, which cursors the server gave out, or
how many partitions this server's log has. The server answers a
schema-valid request that names one of those made up with 400 and a code
that says exactly that (docs/api.md, docs/openapi.yaml).

So that positive cases reach the server's logic instead of those 400s,
before_call points a schema-valid `to` that names nobody at a user that
exists (the fuzzer's own user when a link made another user send, so that
the fuzzer has unread messages to read), and map_case folds the partitions
of a schema-valid X-Tidings-Position into the log's. Negative cases are
left as generated.

filter_failure drops the "schema-valid request rejected" failures that
remain for these reasons, and only them: a cursor the server did not give
out (it cannot be made up), and the two above should a case slip past
map_case (a link's values, say). Every other rejection of a schema-valid
request still fails the run.

FuzzerToken authenticates every request as the fuzzer's user, but for a
step a link already authenticated (the spec's links from a sign-up carry
the new user's token), and but for the two operations that would end the
fuzzer's token (POST /sessions without a body renews it, DELETE
/sessions/current signs it out): those run with a link's token or none.

Env: ST_TOKEN and ST_SELF (the fuzzer's token and user id), ST_RECIPIENT
(another user's id), ST_PARTITIONS.
"""

import os
import re

import schemathesis

TOKEN = os.environ["ST_TOKEN"]
SELF = os.environ["ST_SELF"]
RECIPIENT = os.environ["ST_RECIPIENT"]
PARTITIONS = int(os.environ.get("ST_PARTITIONS", "16"))
# Ids of users that exist: the recipient and every user a sign-up made.
KNOWN_USERS = {SELF, RECIPIENT}

# (code, a part of the message that names the cause; "" for any message).
CONTEXT_BOUND = [
    ("invalid_cursor", ""),
    ("unknown_recipient", ""),
    ("invalid_field", "to must be another user"),
    ("invalid_position", "names partition"),
    # POST /sessions with neither a body nor a token: the schema cannot say
    # "a body or a bearer token" (its body is optional, its auth too).
    ("missing_field", "or, to renew a token"),
    # Edits, deletes, replies and reactions (issue 12): the schema cannot
    # say which messages the caller sees (reply_to), that a string is one
    # emoji, or that a message is still within its edit or delete window
    # and not deleted.
    ("invalid_reply_to", ""),
    ("invalid_emoji", ""),
    ("message_deleted", ""),
    ("edit_window_closed", ""),
    ("delete_window_closed", ""),
]

# Operations that end the token they are called with.
ENDS_TOKEN = {("POST", "/sessions"), ("DELETE", "/sessions/current")}

POSITION = re.compile(r"^(\d+)-")


def _positive(case):
    meta = case.meta
    return meta is not None and meta.generation.mode.is_positive


@schemathesis.auth()
class FuzzerToken:
    def get(self, case, ctx):
        return TOKEN

    def set(self, case, data, ctx):
        # With --generation-with-security-parameters false, only a link
        # sets Authorization before this runs.
        if case.headers.get("Authorization"):
            return
        if (case.operation.method.upper(), case.operation.path) in ENDS_TOKEN:
            return
        case.headers["Authorization"] = f"Bearer {data}"


@schemathesis.hook
def map_case(ctx, case):
    if not _positive(case):
        return case
    headers = case.headers
    if headers and isinstance(headers.get("X-Tidings-Position"), str):
        folded = ",".join(
            POSITION.sub(lambda m: f"{int(m.group(1)) % PARTITIONS}-", p.strip(), count=1)
            for p in headers["X-Tidings-Position"].split(",")
        )
        case.headers = {**headers, "X-Tidings-Position": folded}
    return case


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    if _positive(case) and case.operation.path == "/users/{id}/presence":
        # Presence is only for yourself and your conversation peers (else
        # 404): a made-up id would never reach past that check.
        case.path_parameters = {**(case.path_parameters or {}), "id": SELF}
        return
    if not _positive(case) or case.operation.method.upper() != "POST" or case.operation.path != "/messages":
        return
    body = case.body
    if isinstance(body, dict) and isinstance(body.get("to"), str) and body["to"] not in KNOWN_USERS:
        # Another token than the fuzzer's: a user a sign-up made is sending.
        other = (case.headers or {}).get("Authorization", f"Bearer {TOKEN}") != f"Bearer {TOKEN}"
        case.body = {**body, "to": SELF if other else RECIPIENT}


@schemathesis.hook
def after_call(ctx, case, response):
    if case.operation.path == "/users" and case.operation.method.upper() == "POST" and response.status_code == 201:
        try:
            KNOWN_USERS.add(response.json()["id"])
        except Exception:
            pass


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
