"""The only place that reads the environment. Validated once per container, then cached."""
from __future__ import annotations

import os
from functools import lru_cache

from pydantic import BaseModel, Field, SecretStr, field_validator


class Settings(BaseModel):
    model_config = {"frozen": True}

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
    reconcile_after_seconds: int = Field(default=300, ge=30)
    dispatch_retry_base_seconds: int = Field(default=30, ge=0, le=900)
    aws_connect_timeout_seconds: float = Field(default=2.0, gt=0)
    aws_read_timeout_seconds: float = Field(default=5.0, gt=0)
    aws_max_attempts: int = Field(default=3, ge=1, le=10)
    log_level: str = "INFO"
    # Key of the HMAC that turns an ID number or phone into a customer id (policy import): a plain hash
    # of an 18-digit ID number can be reversed by trying them all. Never logged (SecretStr).
    customer_id_key: SecretStr | None = None

    @field_validator("aws_endpoint_url", "scoring_queue_url", "dispatch_queue_url", "customer_id_key",
                     mode="before")
    @classmethod
    def _blank_is_none(cls, value):
        return value or None

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
            "reconcile_after_seconds": "RECONCILE_AFTER_SECONDS",
            "dispatch_retry_base_seconds": "DISPATCH_RETRY_BASE_SECONDS",
            "aws_connect_timeout_seconds": "AWS_CONNECT_TIMEOUT_SECONDS",
            "aws_read_timeout_seconds": "AWS_READ_TIMEOUT_SECONDS",
            "aws_max_attempts": "AWS_MAX_ATTEMPTS",
            "log_level": "LOG_LEVEL",
            "customer_id_key": "CUSTOMER_ID_KEY",
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
