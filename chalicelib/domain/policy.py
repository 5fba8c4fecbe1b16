"""Policies as resolution and coverage see them, and the outcome of tying a claim to one."""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date


class ResolutionOutcome(str, enum.Enum):
    RESOLVED = "RESOLVED"  # exactly one policy
    AMBIGUOUS = "AMBIGUOUS"  # several candidates: an agent chooses
    UNVERIFIED = "UNVERIFIED"  # none found: kept and routed to review, never rejected


class MatchKey(str, enum.Enum):
    POLICY_NUMBER = "policy_number"
    ORDER_ID = "order_id"
    PHONE = "phone"
    PLATE = "plate"


@dataclass(frozen=True)
class Policy:
    policy_number: str
    product: str
    customer_id: str
    starts_on: date
    ends_on: date
    status: str = "ACTIVE"
    partner_id: str | None = None
    holder_phone: str | None = None
    plate: str | None = None
    order_id: str | None = None
    language: str | None = None  # the holder's preferred language
    open_claim_id: str | None = None  # the latest open claim tied to it

    def in_force_on(self, day: date) -> bool:
        return self.status == "ACTIVE" and self.starts_on <= day <= self.ends_on


@dataclass(frozen=True)
class Resolution:
    outcome: ResolutionOutcome
    matched_by: MatchKey | None = None
    policy: Policy | None = None
    candidates: tuple[str, ...] = ()
    keys_tried: tuple[MatchKey, ...] = ()
