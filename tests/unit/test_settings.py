"""Settings from the environment (chalicelib/settings.py)."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from chalicelib.settings import Settings, describe_invalid, get_settings


def test_empty_environment_gives_the_defaults():
    # GIVEN an empty environment
    # WHEN settings are read
    s = Settings.from_env({})

    # THEN the documented defaults apply
    assert s.aws_region == "ap-southeast-1"
    assert s.scoring_queue_url is None and s.dispatch_queue_url is None and s.aws_endpoint_url is None
    assert s.public_base_url == "http://127.0.0.1:8000"
    assert s.max_body_bytes == 64 * 1024
    assert s.max_batch_claims == 25
    assert s.api_key_cache_seconds == 60.0
    assert s.reconcile_after_seconds == 300
    assert s.dispatch_retry_base_seconds == 30


def test_environment_values_are_read_and_converted():
    # GIVEN variables for the settings
    env = {"SCORING_QUEUE_URL": "https://sqs/scoring", "DISPATCH_QUEUE_URL": "https://sqs/dispatch",
           "AWS_ENDPOINT_URL": "http://127.0.0.1:5000", "MAX_BODY_BYTES": "2048", "API_KEY_CACHE_SECONDS": "0.5",
           "RECONCILE_AFTER_SECONDS": "60", "DISPATCH_RETRY_BASE_SECONDS": "5", "AWS_MAX_ATTEMPTS": "2",
           "AWS_REGION": "cn-north-1", "PUBLIC_BASE_URL": "https://claims.example.com"}

    # WHEN settings are read
    s = Settings.from_env(env)

    # THEN each is taken, typed
    assert (s.scoring_queue_url, s.dispatch_queue_url, s.aws_endpoint_url) == \
        ("https://sqs/scoring", "https://sqs/dispatch", "http://127.0.0.1:5000")
    assert (s.max_body_bytes, s.api_key_cache_seconds, s.reconcile_after_seconds) == (2048, 0.5, 60)
    assert (s.dispatch_retry_base_seconds, s.aws_max_attempts, s.aws_region) == (5, 2, "cn-north-1")
    assert s.public_base_url == "https://claims.example.com"


def test_blank_queue_url_means_not_configured():
    # GIVEN blank queue URLs (as an unset template variable leaves them)
    # WHEN settings are read
    s = Settings.from_env({"SCORING_QUEUE_URL": "", "DISPATCH_QUEUE_URL": "", "AWS_ENDPOINT_URL": ""})

    # THEN they count as absent
    assert (s.scoring_queue_url, s.dispatch_queue_url, s.aws_endpoint_url) == (None, None, None)


def test_aws_region_wins_over_the_default_region():
    # GIVEN both region variables
    # WHEN settings are read
    # THEN AWS_REGION (set by Lambda) is used
    assert Settings.from_env({"AWS_REGION": "cn-north-1", "AWS_DEFAULT_REGION": "us-east-1"}).aws_region == "cn-north-1"


@pytest.mark.parametrize("variable, value", [
    ("MAX_BODY_BYTES", "10"),
    ("MAX_BODY_BYTES", "lots"),
    ("API_KEY_CACHE_SECONDS", "-1"),
    ("RECONCILE_AFTER_SECONDS", "5"),
    ("DISPATCH_RETRY_BASE_SECONDS", "901"),
    ("AWS_MAX_ATTEMPTS", "0"),
    ("AWS_MAX_ATTEMPTS", "11"),
    ("AWS_CONNECT_TIMEOUT_SECONDS", "0"),
])
def test_bad_value_is_refused_at_start(variable, value):
    # GIVEN a value out of range or of the wrong type
    # WHEN settings are read
    # THEN validation fails, naming the setting
    with pytest.raises(ValidationError) as raised:
        Settings.from_env({variable: value})
    assert [e["loc"] for e in raised.value.errors()] == [(variable.lower(),)]


def test_settings_cannot_be_changed_once_read():
    # GIVEN settings
    s = Settings.from_env({})

    # WHEN code tries to change one
    # THEN it is refused
    with pytest.raises(ValidationError):
        s.public_base_url = "https://elsewhere.example"


def test_settings_are_read_once_per_container(monkeypatch):
    # GIVEN settings read once
    get_settings.cache_clear()
    first = get_settings()

    # WHEN the environment changes afterwards
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://changed.example")

    # THEN the same settings are answered until the cache is cleared
    assert get_settings() is first
    get_settings.cache_clear()
    assert get_settings().public_base_url == "https://changed.example"
    get_settings.cache_clear()


def test_ivr_webhook_secrets_are_per_vendor_with_rotation_and_never_shown():
    # GIVEN two secrets for one vendor (rotating), one for another, and a bare one
    settings = Settings.from_env({"IVR_WEBHOOK_SECRETS": "acme:aaaaaaaaaaaaaaaa1, acme:bbbbbbbbbbbbbbbb2,"
                                                          "other:cccccccccccccccc3,dddddddddddddddd4"})

    # THEN each is kept with its vendor (a bare secret belongs to "ivr"), and no repr shows one
    assert [(v, s.get_secret_value()) for v, s in settings.ivr_webhook_secrets] == [
        ("acme", "aaaaaaaaaaaaaaaa1"), ("acme", "bbbbbbbbbbbbbbbb2"), ("other", "cccccccccccccccc3"),
        ("ivr", "dddddddddddddddd4")]
    assert "aaaaaaaaaaaaaaaa1" not in repr(settings)


@pytest.mark.parametrize("value", ["acme:short", ":aaaaaaaaaaaaaaaa1", "ac me:aaaaaaaaaaaaaaaa1"])
def test_a_bad_ivr_secret_entry_is_refused_without_echoing_it(value):
    with pytest.raises(ValueError) as refused:
        Settings.from_env({"IVR_WEBHOOK_SECRETS": value})
    assert "entry 1" in str(refused.value)
    assert value.split(":")[-1] not in str(refused.value)


def test_an_agent_token_may_name_the_supervisor_role_and_a_surveyor_token_may_not():
    digest = "cd" * 32
    tokens = Settings.from_env({"AGENT_TOKENS": f"agent-1:{'ab' * 32}, boss-1:{digest}:supervisor"}).agent_tokens
    assert tokens == (("agent-1", "ab" * 32), ("boss-1", digest, "supervisor"))
    with pytest.raises(ValueError):
        Settings.from_env({"AGENT_TOKENS": f"boss-1:{digest}:admin"})
    with pytest.raises(ValueError):
        Settings.from_env({"SURVEYOR_TOKENS": f"SV-1:{digest}:supervisor"})


def test_agent_tokens_are_hashes_only():
    digest = "ab" * 32
    assert Settings.from_env({"AGENT_TOKENS": f"agent-1:{digest.upper()}"}).agent_tokens == (("agent-1", digest),)
    with pytest.raises(ValueError):
        Settings.from_env({"AGENT_TOKENS": "agent-1:plain-token"})


@pytest.mark.parametrize("variable, value, field, expected", [
    ("FORM_LIMIT_PER_PHONE", "7", "form_limit_per_phone", 7),
    ("IVR_SIGNATURE_TOLERANCE_SECONDS", "60", "ivr_signature_tolerance_seconds", 60),
    ("ATTACHMENTS_BUCKET", "my-photos", "attachments_bucket", "my-photos"),
    ("NOTIFY_DLQ_URL", "https://sqs/notify-dlq", "notify_dlq_url", "https://sqs/notify-dlq"),
])
def test_each_setting_is_read_from_the_variable_of_its_own_name(monkeypatch, variable, value, field, expected):
    # GIVEN the process environment sets the variable named after a setting
    monkeypatch.setenv(variable, value)

    # WHEN the settings are read from the environment
    # THEN the setting of that name holds the value, typed
    assert getattr(Settings(), field) == expected


def test_settings_nothing_reads_are_not_settings():
    # GIVEN the variables the stage config sets for Powertools and the deployment, which the app never reads
    env = {"STAGE": "prod", "LOG_LEVEL": "DEBUG", "POWERTOOLS_SERVICE_NAME": "other"}

    # WHEN settings are read
    s = Settings.from_env(env)

    # THEN they are ignored, not kept as settings
    assert not {"stage", "log_level", "service_name"} & set(type(s).model_fields)


def test_a_list_setting_is_never_read_as_json():
    # GIVEN an agent entry written as JSON
    # WHEN settings are read
    # THEN it is refused as an entry in the wrong format, not decoded
    with pytest.raises(ValidationError) as refused:
        Settings.from_env({"AGENT_TOKENS": f'["agent-1:{"ab" * 32}"]'})
    assert "entry 1" in str(refused.value)


@pytest.mark.parametrize("env, line", [
    ({"AGENT_TOKENS": "abc"},
     "invalid setting AGENT_TOKENS: entry 1 is not an id and a token's SHA-256 digest; expected "
     "id:<64 hex digits of the token's SHA-256>[:supervisor] entries, comma-separated"),
    ({"AGENT_TOKENS": f"boss-1:{'cd' * 32}:admin"},
     "invalid setting AGENT_TOKENS: entry 1 has a role other than supervisor; expected "
     "id:<64 hex digits of the token's SHA-256>[:supervisor] entries, comma-separated"),
    ({"MAX_BODY_BYTES": "lots"},
     "invalid setting MAX_BODY_BYTES: input should be a valid integer, unable to parse string as an integer; "
     "expected a whole number at least 1024"),
    ({"AWS_MAX_ATTEMPTS": "11"},
     "invalid setting AWS_MAX_ATTEMPTS: input should be less than or equal to 10; "
     "expected a whole number at least 1 and at most 10"),
    ({"PARTNER_RATE_LIMIT_PER_SECOND": "0"},
     "invalid setting PARTNER_RATE_LIMIT_PER_SECOND: input should be greater than 0; expected a number above 0"),
    ({"ATTACHMENTS_BUCKET": "Bad_Bucket"},
     "invalid setting ATTACHMENTS_BUCKET: string should match pattern '^[a-z0-9][a-z0-9.\\-]{1,61}[a-z0-9]$'; "
     "expected an S3 bucket name: 3 to 63 lower-case letters, digits, dots and hyphens"),
])
def test_a_refused_setting_is_described_in_one_line_for_whoever_starts_the_service(env, line):
    # GIVEN an environment with a variable the service cannot use
    # WHEN settings are read
    with pytest.raises(ValidationError) as refused:
        Settings.from_env(env)

    # THEN one line names the variable, says what is wrong and what it must hold
    assert describe_invalid(refused.value) == line


def test_the_description_of_a_refused_secret_never_shows_it():
    # GIVEN a secret too short, and a second variable refused as well
    env = {"IVR_WEBHOOK_SECRETS": "acme:tiny-s3cr3t", "FORM_LIMIT_PER_PHONE": "0"}

    # WHEN settings are read
    with pytest.raises(ValidationError) as refused:
        Settings.from_env(env)
    line = describe_invalid(refused.value)

    # THEN both variables are named on the one line, and the secret is not shown
    assert "\n" not in line
    assert "IVR_WEBHOOK_SECRETS: entry 1 has a secret of fewer than 16 characters; expected vendor:secret" in line
    assert "FORM_LIMIT_PER_PHONE: input should be greater than or equal to 1" in line
    assert "s3cr3t" not in line
