"""Credentials for schemathesis against a running assentd (loaded with SCHEMATHESIS_HOOKS).

Each operation is called as the identity its security scheme names: a signed-in administrator
(DirectLogin), a system key (Apiture), a signed-in customer (Temenos X-Kony-Authorization).
Each identity is fetched when first needed and fetched again after a 401: a fuzzed logout,
lock or session termination may end the session a later call needs.

The fuzzer learns usernames (GET /users) and locks them, and wrong passwords sent to the
operations that ask for the password again count as failed logins, so the server rightly locks
these users during a run. When a sign-in is refused, the hook unlocks the user as the bank's
operator would, with `assentd admin unlock-user` on the server's own database, and signs in
again; no account the fuzzer can reach is needed to do it.

Settings (environment): ASSENT_ST_BASE (the server's URL), ASSENT_ST_ASSENTD (the assentd
binary, run in the working directory with the server's configuration), ASSENT_ST_CONSUMER_KEY,
ASSENT_ST_ADMIN_USERNAME / _PASSWORD, ASSENT_ST_CUSTOMER_USERNAME / _PASSWORD,
ASSENT_ST_SYSTEM_KEY.
"""

import json
import os
import subprocess
import urllib.error
import urllib.request

import hypothesis.internal.lambda_sources as lambda_sources
import schemathesis

# Hypothesis describes a strategy's lambdas by parsing their module's source with Python's ast
# module. CPython 3.11 before 3.11.8 (this machine has 3.11.7) sometimes fails that parse with
# "SystemError: AST constructor recursion depth mismatch" (CPython issue 106905), which
# schemathesis reports as a runtime error on whichever operation drew at that moment. The
# description only names a lambda in messages (and, where it can be read, narrows a filter), so
# a lambda whose source cannot be parsed is described as unknown, as Hypothesis itself does
# when it cannot find the source.
_describe_lambda = lambda_sources._lambda_description


def _describe_lambda_or_unknown(f, *args, **kwargs):
    try:
        return _describe_lambda(f, *args, **kwargs)
    except SystemError:
        return "lambda: <unknown>"


lambda_sources._lambda_description = _describe_lambda_or_unknown

BASE = os.environ["ASSENT_ST_BASE"].rstrip("/")

# The scheme each identity signs in for, and the settings naming it.
_USERS = {"directLogin": "ADMIN", "konyAuthorization": "CUSTOMER"}


def _setting(name):
    return os.environ["ASSENT_ST_" + name]


def _quoted(value):
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _direct_login(username, password):
    credentials = ", ".join(
        [
            "username=" + _quoted(username),
            "password=" + _quoted(password),
            "consumer_key=" + _quoted(_setting("CONSUMER_KEY")),
        ]
    )
    request = urllib.request.Request(
        BASE + "/my/logins/direct",
        method="POST",
        headers={"DirectLogin": credentials},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["token"]


def _unlock(username):
    # The command reads the server's configuration, not these settings or the test's own.
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ASSENT_")}
    subprocess.run(
        [_setting("ASSENTD"), "admin", "unlock-user", "--username", username],
        env=environment,
        check=True,
        capture_output=True,
        timeout=60,
    )


def _signed_in(who):
    username, password = _setting(who + "_USERNAME"), _setting(who + "_PASSWORD")
    try:
        return _direct_login(username, password)
    except urllib.error.HTTPError as error:
        if error.code != 401:
            raise
    _unlock(username)
    return _direct_login(username, password)


# The schemes the hook holds credentials for, in the order it prefers them (an OBP operation
# also takes dAuth and, for reads, a consent: those are exercised by their own tests).
_HELD = ("directLogin", "konyAuthorization", "systemKey")


def _scheme(case, context=None):
    """The security scheme the operation is called with, or "" for a public one."""
    requirements = case.operation.definition.raw.get("security") or []
    accepted = {name for requirement in requirements for name in requirement}
    return next((name for name in _HELD if name in accepted), "")


@schemathesis.auth(cache_by_key=_scheme)
class AssentIdentities:
    def get(self, case, context):
        scheme = _scheme(case)
        if scheme in _USERS:
            return _signed_in(_USERS[scheme])
        if scheme == "systemKey":
            return _setting("SYSTEM_KEY")
        return None

    def set(self, case, token, context):
        scheme = _scheme(case)
        if token is None:
            return
        if case.headers is None:
            case.headers = {}
        if scheme == "directLogin":
            case.headers["DirectLogin"] = "token=" + token
        elif scheme == "konyAuthorization":
            case.headers["X-Kony-Authorization"] = token
        elif scheme == "systemKey":
            case.headers["Authorization"] = "Bearer " + token
