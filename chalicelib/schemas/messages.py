"""Queue message contracts. Every body carries its version; consumers reject what they cannot read."""
from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

CORRELATION_ATTRIBUTE = "correlation_id"


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    v: Literal[1] = 1


class ClaimMessage(_Message):
    """A message about one claim (the consumers' batch loop reads its id before anything else)."""

    claim_id: str = Field(min_length=4, max_length=64)


class ClaimReceived(ClaimMessage):
    """On the scoring queue: a stored claim waits to be scored."""

    type: Literal["claim.received"] = "claim.received"


class SurveyNeeded(ClaimMessage):
    """On the dispatch queue: a scored claim needs a surveyor."""

    type: Literal["claim.survey_needed"] = "claim.survey_needed"
    attempt: int = Field(default=0, ge=0)


class ContactRecorded(_Message):
    """On the contacts queue: one step of one IVR call, for the agent's screen pop."""

    type: Literal["contact.recorded"] = "contact.recorded"
    phone: str = Field(pattern=r"^\+[1-9][0-9]{4,15}$")
    at: AwareDatetime
    channel: str = Field(min_length=1, max_length=32)
    kind: str = Field(min_length=1, max_length=40)
    contact_id: str = Field(min_length=1, max_length=128)
    claim_id: str | None = Field(default=None, max_length=64)
    customer_id: str | None = Field(default=None, max_length=64)


class PartnerNotice(ClaimMessage):
    """On the notify queue: tell the claim's partner that its status changed."""

    type: Literal["claim.status_changed"] = "claim.status_changed"
    event_seq: int = Field(ge=1)
    status: str = Field(min_length=1, max_length=32)
    attempt: int = Field(default=0, ge=0)
    # when the status changed; a notice queued before this field existed has none (its claim's
    # ``updated_at`` stands in)
    at: AwareDatetime | None = None
