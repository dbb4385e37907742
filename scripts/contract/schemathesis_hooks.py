"""Credentials for schemathesis against a running assentd (loaded with SCHEMATHESIS_HOOKS).

Each operation is called as the identity its security scheme names: a signed-in administrator
(DirectLogin), a system key (Apiture), a signed-in customer (Temenos X-Kony-Authorization).
The sessions are made by logging in, and made again whenever a call answers 401: a fuzzed
logout, lock or session termination may end the session a later call needs. A fuzzed lock, or
wrong passwords sent to the operations that ask for the password again, may lock one of these
users; a third user holding only CanUnlockUser (never used by a fuzzed call) then unlocks it.

Settings (environment): ASSENT_ST_BASE (the server's URL), ASSENT_ST_CONSUMER_KEY,
ASSENT_ST_ADMIN_USERNAME / _PASSWORD, ASSENT_ST_CUSTOMER_USERNAME / _PASSWORD,
ASSENT_ST_LOCKSMITH_USERNAME / _PASSWORD, ASSENT_ST_SYSTEM_KEY.
"""

import json
import os
import urllib.error
import urllib.parse
import urllib.request

import schemathesis

BASE = os.environ["ASSENT_ST_BASE"].rstrip("/")


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
    token = _direct_login(_setting("LOCKSMITH_USERNAME"), _setting("LOCKSMITH_PASSWORD"))
    request = urllib.request.Request(
        BASE + "/obp/v5.1.0/users/" + urllib.parse.quote(username, safe="") + "/lock-status",
        method="PUT",
        headers={"DirectLogin": "token=" + token},
    )
    with urllib.request.urlopen(request, timeout=30):
        pass


def _signed_in(who):
    username, password = _setting(who + "_USERNAME"), _setting(who + "_PASSWORD")
    try:
        return _direct_login(username, password)
    except urllib.error.HTTPError as error:
        if error.code != 401:
            raise
    _unlock(username)
    return _direct_login(username, password)


def _schemes(case):
    """The security schemes the operation accepts."""
    requirements = case.operation.definition.raw.get("security") or []
    return {name for requirement in requirements for name in requirement}


@schemathesis.auth()
class AssentIdentities:
    def get(self, case, context):
        return {
            "directLogin": _signed_in("ADMIN"),
            "konyAuthorization": _signed_in("CUSTOMER"),
            "systemKey": _setting("SYSTEM_KEY"),
        }

    def set(self, case, tokens, context):
        schemes = _schemes(case)
        if case.headers is None:
            case.headers = {}
        if "directLogin" in schemes:
            case.headers["DirectLogin"] = "token=" + tokens["directLogin"]
        elif "konyAuthorization" in schemes:
            case.headers["X-Kony-Authorization"] = tokens["konyAuthorization"]
        elif "systemKey" in schemes:
            case.headers["Authorization"] = "Bearer " + tokens["systemKey"]
