"""What ``make run`` prints (infra/local_stack.py banner): where everything is, and only credentials that work
with the environment the stack runs with."""
from __future__ import annotations

from pathlib import Path

import pytest

from chalicelib.services.auth import hash_api_key
from chalicelib.settings import Settings
from infra.local_stack import banner, demo_environment
from infra.seed import (
    DEMO_AGENT_TOKEN,
    DEMO_FORM_PHONE,
    DEMO_FORM_POLICY,
    DEMO_IVR_SECRET,
    DEMO_SUPERVISOR_TOKEN,
    DEMO_SURVEYOR_TOKENS,
    DEMO_TWILIO_AUTH_TOKEN,
)

API = "http://127.0.0.1:8123"
DEMO_SECRETS = {"AGENT_TOKENS": (DEMO_AGENT_TOKEN, DEMO_SUPERVISOR_TOKEN),
                "SURVEYOR_TOKENS": (DEMO_SURVEYOR_TOKENS["SV-SH-001"],),
                "TWILIO_AUTH_TOKEN": (DEMO_TWILIO_AUTH_TOKEN,),
                "IVR_WEBHOOK_SECRETS": (DEMO_IVR_SECRET,)}
OWN = {"AGENT_TOKENS": f"me-001:{hash_api_key('my-own-agent-token')}",
       "SURVEYOR_TOKENS": f"SV-SH-001:{hash_api_key('my-own-surveyor-token')}",
       "TWILIO_AUTH_TOKEN": "my-own-twilio-auth-token",
       "IVR_WEBHOOK_SECRETS": "acme:my-own-ivr-secret-0001"}


def printed(environment: dict[str, str]) -> str:
    settings = Settings.from_env(environment)
    return banner(API, "http://127.0.0.1:5123", "ap-southeast-1", Path("/tmp/moto.log"), 60, settings=settings)


def test_the_demo_environment_prints_the_demo_credentials():
    # GIVEN the stack's own demo environment, nothing overridden
    # WHEN the banner is printed
    text = printed(demo_environment())

    # THEN every demo credential is shown, since each one works
    for credentials in DEMO_SECRETS.values():
        for credential in credentials:
            assert credential in text


@pytest.mark.parametrize("variable", sorted(OWN))
def test_a_credential_the_environment_overrides_is_not_printed(variable):
    # GIVEN a shell that sets its own value for one credential variable
    environment = {**demo_environment(), variable: OWN[variable]}

    # WHEN the banner is printed
    text = printed(environment)

    # THEN no demo credential of that variable is printed (it would be refused), and the banner says whose
    # credential to use instead
    for credential in DEMO_SECRETS[variable]:
        assert credential not in text
    assert f"your own, from {variable}" in text
    # AND the credentials of the other variables still are
    for other, credentials in DEMO_SECRETS.items():
        if other != variable:
            assert all(credential in text for credential in credentials)


def test_an_agent_entry_without_the_supervisor_role_does_not_make_the_demo_supervisor_work():
    # GIVEN the demo agent only, its supervisor entry dropped
    environment = {**demo_environment(), "AGENT_TOKENS": f"agent-001:{hash_api_key(DEMO_AGENT_TOKEN)}"}

    # WHEN the banner is printed
    text = printed(environment)

    # THEN the agent's token is shown and the supervisor's is not
    assert DEMO_AGENT_TOKEN in text
    assert DEMO_SUPERVISOR_TOKEN not in text
    assert "your own, from AGENT_TOKENS" in text


def test_the_banner_says_where_the_claim_form_is_and_what_to_type_in_it():
    # GIVEN the local stack's banner
    text = printed(demo_environment())

    # THEN it gives the claim form's URL, and the demo policy and phone that the form accepts
    assert f"{API}/" in text.split()
    assert DEMO_FORM_POLICY in text
    assert DEMO_FORM_PHONE in text
