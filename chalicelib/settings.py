"""The only place that reads the environment. Validated once per container, then cached.

Each setting is read from the environment variable of the same name (upper case): ``max_body_bytes`` from
``MAX_BODY_BYTES``. ``aws_region`` is Lambda's ``AWS_REGION``, else ``AWS_DEFAULT_REGION``.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

from annotated_types import Ge, Gt, Le, Lt
from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from chalicelib.adapters.resources import ATTACHMENTS_BUCKET

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
AGENT_ROLES = ("supervisor",)  # an AGENT_TOKENS entry without a role is a plain agent
_HASHED = "id:<64 hex digits of the token's SHA-256>"


class Settings(BaseSettings):
    # hide_input_in_errors: a rejected value may be a secret, and errors end up in logs.
    # enable_decoding off: the list settings are comma-separated entries (parsed below), not JSON.
    model_config = SettingsConfigDict(frozen=True, hide_input_in_errors=True, enable_decoding=False,
                                      case_sensitive=False, extra="ignore")

    aws_region: str = Field(default="ap-southeast-1", validation_alias=AliasChoices("aws_region", "aws_default_region"))
    # boto3 and PynamoDB honour AWS_ENDPOINT_URL themselves; kept here so it is reported and validated.
    aws_endpoint_url: str | None = None
    scoring_queue_url: str | None = None
    dispatch_queue_url: str | None = None
    public_base_url: str = "http://127.0.0.1:8000"
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    max_batch_claims: int = Field(default=25, ge=1, le=25)
    api_key_cache_seconds: float = Field(default=60.0, ge=0)
    # Partner rate limit, per partner and per container (services/auth.py PartnerRateLimiter): requests a
    # second and the burst a partner may spend at once; a partner record's own values win over these.
    partner_rate_limit_per_second: float = Field(default=100.0, gt=0)
    partner_rate_burst: int = Field(default=200, ge=1)
    reconcile_after_seconds: int = Field(default=300, ge=30)
    dispatch_retry_base_seconds: int = Field(default=30, ge=0, le=900)
    aws_connect_timeout_seconds: float = Field(default=2.0, gt=0)
    aws_read_timeout_seconds: float = Field(default=5.0, gt=0)
    aws_max_attempts: int = Field(default=3, ge=1, le=10)
    # Key of the HMAC that turns an ID number or phone into a customer id (policy import): a plain hash
    # of an 18-digit ID number can be reversed by trying them all. Never logged (SecretStr).
    customer_id_key: SecretStr | None = None
    contacts_queue_url: str | None = None
    # Hotline IVR. Twilio signs every webhook with the account's auth token.
    twilio_auth_token: SecretStr | None = None
    # Generic IVR vendors: "vendor:secret" entries, comma-separated; a vendor may have two at once
    # while it rotates (both verify). A bare "secret" belongs to the vendor "ivr".
    ivr_webhook_secrets: tuple[tuple[str, SecretStr], ...] = Field(
        default=(), description="vendor:secret entries, comma-separated, each secret at least 16 characters "
                                "(a bare secret is the vendor ivr's)")
    ivr_signature_tolerance_seconds: int = Field(default=300, ge=30, le=900)
    # Agents: "agent_id:<hex SHA-256 of the agent's bearer token>" entries; tokens are never stored. An
    # entry ending ":supervisor" is a supervisor (parsed as (id, digest, "supervisor")).
    agent_tokens: tuple[tuple[str, ...], ...] = Field(
        default=(), description=f"{_HASHED}[:{'|'.join(AGENT_ROLES)}] entries, comma-separated")
    # Surveyors, the same way: "surveyor_id:<hex SHA-256>"; a surveyor acts only as themselves.
    surveyor_tokens: tuple[tuple[str, str], ...] = Field(default=(), description=f"{_HASHED} entries, comma-separated")
    # Partner callbacks: "partner_id:secret" entries; the secret signs each notification (X-Signature).
    partner_callback_secrets: tuple[tuple[str, SecretStr], ...] = Field(
        default=(), description="partner_id:secret entries, comma-separated, each secret at least 16 characters")
    notify_queue_url: str | None = None
    notify_dlq_url: str | None = None  # where a notification goes after its last attempt
    # Photos. The deployment names the bucket per account and region (bucket names are global).
    attachments_bucket: str = Field(default=ATTACHMENTS_BUCKET, pattern=r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$",
                                    description="an S3 bucket name: 3 to 63 lower-case letters, digits, dots "
                                                "and hyphens")
    # A field claim nobody could take for this long is escalated to the agent queue.
    dispatch_escalate_after_seconds: int = Field(default=2 * 3600, ge=60)
    # Customer form: signed links to the claim's status page, and rate limits per phone and address.
    status_token_secret: SecretStr | None = None
    status_token_days: int = Field(default=30, ge=1, le=365)
    form_limit_per_phone: int = Field(default=10, ge=1)  # requests per window
    form_limit_per_address: int = Field(default=60, ge=1)
    form_limit_window_seconds: int = Field(default=3600, ge=60)

    @field_validator("aws_endpoint_url", "scoring_queue_url", "dispatch_queue_url", "customer_id_key",
                     "contacts_queue_url", "twilio_auth_token", "status_token_secret", "notify_queue_url",
                     "notify_dlq_url", mode="before")
    @classmethod
    def _blank_is_none(cls, value):
        return value or None

    @field_validator("ivr_webhook_secrets", "partner_callback_secrets", mode="before")
    @classmethod
    def _named_secrets(cls, value, info):
        if not isinstance(value, str):
            return value
        pairs: list[tuple[str, str]] = []
        for entry in filter(None, (part.strip() for part in value.split(","))):
            name, sep, secret = entry.partition(":")
            if not sep and info.field_name == "ivr_webhook_secrets":
                name, secret = "ivr", name  # a bare secret belongs to the vendor "ivr"
            name, secret = name.strip(), secret.strip()
            # the messages name the entry by position only: it holds a secret
            if not name or not _NAME.fullmatch(name):
                raise ValueError(f"entry {len(pairs) + 1} has no valid name before its ':'")
            if len(secret) < 16:
                raise ValueError(f"entry {len(pairs) + 1} has a secret of fewer than 16 characters")
            pairs.append((name, secret))
        return tuple(pairs)

    @field_validator("agent_tokens", "surveyor_tokens", mode="before")
    @classmethod
    def _token_hashes(cls, value, info):
        if not isinstance(value, str):
            return value
        roles = AGENT_ROLES if info.field_name == "agent_tokens" else ()
        pairs: list[tuple[str, ...]] = []
        for entry in filter(None, (part.strip() for part in value.split(","))):
            holder, _, rest = entry.partition(":")
            digest, _, role = rest.partition(":")
            if not _NAME.fullmatch(holder.strip()) or not _SHA256_HEX.fullmatch(digest.strip().lower()):
                raise ValueError(f"entry {len(pairs) + 1} is not an id and a token's SHA-256 digest")
            if role and role.strip() not in roles:
                raise ValueError(f"entry {len(pairs) + 1} has a role other than {' or '.join(roles)}" if roles
                                 else f"entry {len(pairs) + 1} has a role, which these entries never take")
            pairs.append((holder.strip(), digest.strip().lower()) + ((role.strip(),) if role else ()))
        return tuple(pairs)

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment only: no .env file or secrets directory a container could pick up by accident.
        return init_settings, env_settings

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """The settings of this environment, or of ``env`` instead (read the same way: tests, tools)."""
        if env is None:
            return cls()
        source = EnvSettingsSource(cls)
        source.env_vars = {name.lower(): value for name, value in env.items()}  # case_sensitive=False
        return cls.model_validate(source())


_TYPE_WORDS: dict[object, str] = {int: "a whole number", float: "a number"}


def _expected(field_name: str) -> str:
    """What a setting's variable must hold, in words: its description, else its type and bounds."""
    field = Settings.model_fields[field_name]
    if field.description:
        return field.description
    words = [_TYPE_WORDS.get(field.annotation, "text")]
    for rule in field.metadata:
        bound = {Ge: "at least {.ge}", Gt: "above {.gt}", Le: "at most {.le}", Lt: "below {.lt}"}.get(type(rule))
        if bound:
            words.append(("and " if len(words) > 1 else "") + bound.format(rule))
    return " ".join(words)


def describe_invalid(error: ValidationError) -> str:
    """One line for a person starting the service: each variable refused, what is wrong with it and what it
    must hold. Never the value itself (it may be a secret)."""
    problems = []
    for problem in error.errors(include_input=False, include_url=False):
        field_name = str(problem["loc"][0]) if problem["loc"] else ""
        if field_name not in Settings.model_fields:
            problems.append(problem["msg"])
            continue
        variable = "AWS_REGION" if field_name == "aws_region" else field_name.upper()
        what = str(problem["ctx"]["error"]) if problem["type"] == "value_error" else problem["msg"]
        problems.append(f"{variable}: {what[:1].lower()}{what[1:]}; expected {_expected(field_name)}")
    return "invalid setting " + "; ".join(problems)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
