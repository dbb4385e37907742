"""An integrator's first day, through a client generated from Assent's OpenAPI document.

Run by tests/server/generated_client.rs with the generated package (`assent_client`) on
PYTHONPATH. Everything goes through the package's models and API functions; only the
credentials are set on the client, as the document's security schemes describe them.

Environment:
  ASSENT_BASE_URL        the server
  ASSENT_CONSUMER_KEY    a consumer's key (`assentd admin create-consumer`)
  ASSENT_OPERATOR        username:password of a user holding CanCreateBank
  ASSENT_CODES_FILE      the JSON-lines file the server writes one-time codes to
                         (ASSENT_OTP_DELIVERY=file:PATH)
"""

import json
import os
import sys

import httpx

from assent_client import AuthenticatedClient, Client
from assent_client.api.obp_authentication import direct_login
from assent_client.api.obp_banks import create_bank
from assent_client.api.obp_consents import answer_consent_challenge, create_consent
from assent_client.api.obp_users import (
    answer_verification,
    create_user,
    current_user,
    start_verification,
)
from assent_client.models import (
    BankJson,
    ConsentAnswerJson,
    ContactVerificationAnswerJson,
    ContactVerificationRequestJson,
    CreateConsentJson,
    CreateUserJson,
)

BASE_URL = os.environ["ASSENT_BASE_URL"]
CONSUMER_KEY = os.environ["ASSENT_CONSUMER_KEY"]
OPERATOR, OPERATOR_PASSWORD = os.environ["ASSENT_OPERATOR"].split(":", 1)
CODES_FILE = os.environ["ASSENT_CODES_FILE"]

USERNAME = "felixsmith"
PASSWORD = "Tr0ub4dour&3x"
EMAIL = "felixsmith@example.com"
BANK_ID = "gh.29.uk"
# Sign-up and login hash a password: slower than the client's default timeout allows on a
# busy test machine.
TIMEOUT = httpx.Timeout(60.0)


def expect(response, status, what):
    """The response's parsed model, once its status is the one expected."""
    if response.status_code != status:
        sys.exit(f"{what}: expected {status}, got {response.status_code}: {response.content!r}")
    return response.parsed


def last_code(destination):
    """The newest one-time code the server sent to `destination`."""
    with open(CODES_FILE, encoding="utf-8") as file:
        messages = [json.loads(line) for line in file if line.strip()]
    codes = [m["code"] for m in messages if m["destination"] == destination]
    if not codes:
        sys.exit(f"no code was sent to {destination}: {messages}")
    return codes[-1]


def signed_in(username, password):
    """A client sending `DirectLogin: token=...`, the directLogin scheme's header."""
    anonymous = Client(base_url=BASE_URL, timeout=TIMEOUT)
    credentials = f'username={username}, password="{password}", consumer_key={CONSUMER_KEY}'
    token = expect(
        direct_login.sync_detailed(client=anonymous, direct_login=credentials), 201, "DirectLogin"
    ).token
    return AuthenticatedClient(
        base_url=BASE_URL,
        timeout=TIMEOUT,
        token=f"token={token}",
        prefix="",
        auth_header_name="DirectLogin",
    )


def main():
    anonymous = Client(base_url=BASE_URL, timeout=TIMEOUT)

    new_user = CreateUserJson(
        username=USERNAME, password=PASSWORD, email=EMAIL, first_name="Felix", last_name="Smith"
    )
    user = expect(create_user.sync_detailed(client=anonymous, body=new_user), 201, "sign up")
    assert user.username == USERNAME, user
    assert user.email == EMAIL, user
    assert user.email_verified is False, user

    felix = signed_in(USERNAME, PASSWORD)
    me = expect(current_user.sync_detailed(client=felix), 200, "current user")
    assert me.user_id == user.user_id, (me, user)
    assert me.username == USERNAME, me

    # Codes for a consent go only to a contact its owner has proved.
    verification = expect(
        start_verification.sync_detailed(
            client=felix, body=ContactVerificationRequestJson(channel="EMAIL")
        ),
        201,
        "start email verification",
    )
    assert verification.status == "INITIATED", verification
    verified = expect(
        answer_verification.sync_detailed(
            verification.verification_id,
            client=felix,
            body=ContactVerificationAnswerJson(answer=last_code(EMAIL)),
        ),
        200,
        "answer email verification",
    )
    assert verified.status == "VERIFIED", verified

    operator = signed_in(OPERATOR, OPERATOR_PASSWORD)
    bank = BankJson(id=BANK_ID, short_name="uk", full_name="UK bank")
    created_bank = expect(create_bank.sync_detailed(client=operator, body=bank), 201, "bank")
    assert created_bank.id == BANK_ID, created_bank

    consent = expect(
        create_consent.sync_detailed(
            BANK_ID, "EMAIL", client=felix, body=CreateConsentJson(everything=True)
        ),
        201,
        "consent request",
    )
    assert consent.status == "INITIATED", consent
    accepted = expect(
        answer_consent_challenge.sync_detailed(
            BANK_ID,
            consent.consent_id,
            client=felix,
            body=ConsentAnswerJson(answer=last_code(EMAIL)),
        ),
        201,
        "consent challenge",
    )
    assert accepted.consent_id == consent.consent_id, (accepted, consent)
    assert accepted.status == "ACCEPTED", accepted

    # The third party: the consent scheme's two headers, Consent-JWT and Consumer-Key.
    third_party = AuthenticatedClient(
        base_url=BASE_URL,
        timeout=TIMEOUT,
        token=accepted.jwt,
        prefix="",
        auth_header_name="Consent-JWT",
        headers={"Consumer-Key": CONSUMER_KEY},
    )
    on_behalf = expect(current_user.sync_detailed(client=third_party), 200, "current user by consent")
    assert on_behalf.user_id == user.user_id, (on_behalf, user)
    assert on_behalf.username == USERNAME, on_behalf

    print("generated client: signed up, logged in, consented and read by consent")


if __name__ == "__main__":
    main()
