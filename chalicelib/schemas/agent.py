"""Requests of the agents' and surveyors' routes."""
from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

from chalicelib.domain.outcome import REJECTION_REASONS
from chalicelib.domain.overrides import OVERRIDE_REASON_CODES
from chalicelib.schemas.claims import Money

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]


REASON_CODES = REJECTION_REASONS + OVERRIDE_REASON_CODES
if TYPE_CHECKING:
    ReasonCode = str  # the checker sees a string; pydantic, the enum of the codes above
else:
    ReasonCode = Literal[REASON_CODES]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class DecisionIn(_Strict):
    decision: Literal["accept", "override", "reject"]
    amount: Money | None = None
    reason: Reason | None = None
    # why, from a fixed list: a rejection's as the customer reads it (chalicelib/domain/outcome.py; `reason`
    # stays the agent's own note, never shown to the customer), an override's above the claimed amount
    # (chalicelib/domain/overrides.py)
    reason_code: ReasonCode | None = None
    # a supervisor's explicit "this override is above the cover's limit" (refused for anyone else)
    exceeds_limit: bool = False


class CallerLookupIn(_Strict):
    """The screen pop's question: the caller's number goes in the body, so no access log records it."""

    phone: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class SurveyorStatusIn(_Strict):
    status: Literal["AVAILABLE", "OFF_DUTY"]


class SurveyCompletedIn(_Strict):
    assessed_amount: Money | None = None
    notes: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)] | None = None
