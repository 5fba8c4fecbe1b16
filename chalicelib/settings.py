"""The only place that reads the environment. Validated once per container, then cached."""
from __future__ import annotations

import os
import re
from functools import lru_cache

from pydantic import BaseModel, Field, SecretStr, field_validator

from chalicelib.adapters.resources import ATTACHMENTS_BUCKET


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
AGENT_ROLES = ("supervisor",)  # an AGENT_TOKENS entry without a role is a plain agent


class Settings(BaseModel):
    # hide_input_in_errors: a rejected value may be a secret, and errors end up in logs
    model_config = {"frozen": True, "hide_input_in_errors": True}

    service_name: str = "claims_intake"
    stage: str = "dev"
    aws_region: str = "ap-southeast-1"
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
    log_level: str = "INFO"
    # Key of the HMAC that turns an ID number or phone into a customer id (policy import): a plain hash
    # of an 18-digit ID number can be reversed by trying them all. Never logged (SecretStr).
    customer_id_key: SecretStr | None = None
    contacts_queue_url: str | None = None
    # Hotline IVR. Twilio signs every webhook with the account's auth token.
    twilio_auth_token: SecretStr | None = None
    # Generic IVR vendors: "vendor:secret" entries, comma-separated; a vendor may have two at once
    # while it rotates (both verify). A bare "secret" belongs to the vendor "ivr".
    ivr_webhook_secrets: tuple[tuple[str, SecretStr], ...] = ()
    ivr_signature_tolerance_seconds: int = Field(default=300, ge=30, le=900)
    # Agents: "agent_id:<hex SHA-256 of the agent's bearer token>" entries; tokens are never stored. An
    # entry ending ":supervisor" is a supervisor (parsed as (id, digest, "supervisor")).
    agent_tokens: tuple[tuple[str, ...], ...] = ()
    # Surveyors, the same way: "surveyor_id:<hex SHA-256>"; a surveyor acts only as themselves.
    surveyor_tokens: tuple[tuple[str, str], ...] = ()
    # Partner callbacks: "partner_id:secret" entries; the secret signs each notification (X-Signature).
    partner_callback_secrets: tuple[tuple[str, SecretStr], ...] = ()
    notify_queue_url: str | None = None
    notify_dlq_url: str | None = None  # where a notification goes after its last attempt
    # Photos. The deployment names the bucket per account and region (bucket names are global).
    attachments_bucket: str = Field(default=ATTACHMENTS_BUCKET, pattern=r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
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
        variable = {"ivr_webhook_secrets": "IVR_WEBHOOK_SECRETS"}.get(info.field_name, "PARTNER_CALLBACK_SECRETS")
        pairs = []
        for entry in filter(None, (part.strip() for part in value.split(","))):
            name, sep, secret = entry.partition(":")
            if not sep and info.field_name == "ivr_webhook_secrets":
                name, secret = "ivr", name  # a bare secret belongs to the vendor "ivr"
            name, secret = name.strip(), secret.strip()
            if not name or not _NAME.fullmatch(name) or len(secret) < 16:
                # the message names the entry by position only: it holds a secret
                raise ValueError(f"{variable} entry {len(pairs) + 1} must be name:secret, "
                                 f"the secret at least 16 characters")
            pairs.append((name, secret))
        return tuple(pairs)

    @field_validator("agent_tokens", "surveyor_tokens", mode="before")
    @classmethod
    def _token_hashes(cls, value, info):
        if not isinstance(value, str):
            return value
        variable = info.field_name.upper()
        roles = AGENT_ROLES if info.field_name == "agent_tokens" else ()
        pairs = []
        for entry in filter(None, (part.strip() for part in value.split(","))):
            holder, _, rest = entry.partition(":")
            digest, _, role = rest.partition(":")
            if not _NAME.fullmatch(holder.strip()) or not _SHA256_HEX.fullmatch(digest.strip().lower()) \
                    or (role and role.strip() not in roles):
                shape = "id:<64 hex digits of the token's SHA-256>" + (
                    f"[:{'|'.join(roles)}]" if roles else "")
                raise ValueError(f"{variable} entry {len(pairs) + 1} must be {shape}")
            pairs.append((holder.strip(), digest.strip().lower()) + ((role.strip(),) if role else ()))
        return tuple(pairs)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "Settings":
        env = os.environ if env is None else env
        mapping = {
            "stage": "STAGE",
            "scoring_queue_url": "SCORING_QUEUE_URL",
            "dispatch_queue_url": "DISPATCH_QUEUE_URL",
            "aws_endpoint_url": "AWS_ENDPOINT_URL",
            "public_base_url": "PUBLIC_BASE_URL",
            "max_body_bytes": "MAX_BODY_BYTES",
            "api_key_cache_seconds": "API_KEY_CACHE_SECONDS",
            "partner_rate_limit_per_second": "PARTNER_RATE_LIMIT_PER_SECOND",
            "partner_rate_burst": "PARTNER_RATE_BURST",
            "reconcile_after_seconds": "RECONCILE_AFTER_SECONDS",
            "dispatch_retry_base_seconds": "DISPATCH_RETRY_BASE_SECONDS",
            "aws_connect_timeout_seconds": "AWS_CONNECT_TIMEOUT_SECONDS",
            "aws_read_timeout_seconds": "AWS_READ_TIMEOUT_SECONDS",
            "aws_max_attempts": "AWS_MAX_ATTEMPTS",
            "log_level": "LOG_LEVEL",
            "customer_id_key": "CUSTOMER_ID_KEY",
            "contacts_queue_url": "CONTACTS_QUEUE_URL",
            "twilio_auth_token": "TWILIO_AUTH_TOKEN",
            "ivr_webhook_secrets": "IVR_WEBHOOK_SECRETS",
            "ivr_signature_tolerance_seconds": "IVR_SIGNATURE_TOLERANCE_SECONDS",
            "agent_tokens": "AGENT_TOKENS",
            "status_token_secret": "STATUS_TOKEN_SECRET",
            "surveyor_tokens": "SURVEYOR_TOKENS",
            "partner_callback_secrets": "PARTNER_CALLBACK_SECRETS",
            "notify_queue_url": "NOTIFY_QUEUE_URL",
            "notify_dlq_url": "NOTIFY_DLQ_URL",
            "attachments_bucket": "ATTACHMENTS_BUCKET",
            "dispatch_escalate_after_seconds": "DISPATCH_ESCALATE_AFTER_SECONDS",
            "status_token_days": "STATUS_TOKEN_DAYS",
            "form_limit_per_phone": "FORM_LIMIT_PER_PHONE",
            "form_limit_per_address": "FORM_LIMIT_PER_ADDRESS",
            "form_limit_window_seconds": "FORM_LIMIT_WINDOW_SECONDS",
            "service_name": "POWERTOOLS_SERVICE_NAME",
        }
        values = {field: env[var] for field, var in mapping.items() if var in env}
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
        if region:
            values["aws_region"] = region
        return cls(**values)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
