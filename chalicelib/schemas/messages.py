"""Queue message contracts. Every body carries its version; consumers reject what they cannot read."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

CORRELATION_ATTRIBUTE = "correlation_id"


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    v: Literal[1] = 1


class ClaimReceived(_Message):
    """On the scoring queue: a stored claim waits to be scored."""

    type: Literal["claim.received"] = "claim.received"
    claim_id: str = Field(min_length=4, max_length=64)


class SurveyNeeded(_Message):
    """On the dispatch queue: a scored claim needs a surveyor."""

    type: Literal["claim.survey_needed"] = "claim.survey_needed"
    claim_id: str = Field(min_length=4, max_length=64)
    attempt: int = Field(default=0, ge=0)
