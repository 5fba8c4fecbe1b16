"""Who is calling: what an IVR and an agent need to know about a caller, from their policies."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from chalicelib.domain.policy import Policy

DEFAULT_LANGUAGE = "zh-CN"


@dataclass(frozen=True)
class CallerSummary:
    """Enough for a voice menu and a greeting; no name, ID number or phone in it."""

    found: bool
    customer_id: str | None = None
    active_policies: int = 0
    primary_policy: str | None = None
    primary_product: str | None = None
    open_claim_id: str | None = None
    language: str = DEFAULT_LANGUAGE
    products: tuple[str, ...] = ()  # of the policies in force, for the menu

    @property
    def ambiguous(self) -> bool:
        return self.active_policies > 1


def summarise(policies: list[Policy], today: date) -> CallerSummary:
    """The caller's summary from the policies on their phone. The primary policy is the one in force
    that started last (ties: policy number), else the one that ended last; the customer is that
    policy's holder. The open claim is the latest one marked on any of the policies."""
    if not policies:
        return CallerSummary(found=False)
    in_force = sorted((p for p in policies if p.in_force_on(today)),
                      key=lambda p: (p.starts_on, p.policy_number), reverse=True)
    primary = in_force[0] if in_force else max(policies, key=lambda p: (p.ends_on, p.policy_number))
    open_claims = sorted((p.open_claim_id for p in policies if p.open_claim_id), reverse=True)  # ids sort by time
    return CallerSummary(
        found=True,
        customer_id=primary.customer_id,
        active_policies=len(in_force),
        primary_policy=primary.policy_number,
        primary_product=primary.product,
        open_claim_id=open_claims[0] if open_claims else None,
        language=primary.language or DEFAULT_LANGUAGE,
        products=tuple(dict.fromkeys(p.product for p in in_force)),
    )


@dataclass(frozen=True)
class Contact:
    """One step of one IVR call, as the agent's screen pop lists it."""

    phone: str  # E.164
    at: datetime
    channel: str  # a Channel value
    kind: str  # "identified", "claim_reported", "claim_already_reported", "call_started"
    contact_id: str  # the vendor's id of the call (Connect ContactId, Twilio CallSid, vendor call id)
    claim_id: str | None = None
    customer_id: str | None = None


def one_per_step(contacts: list[Contact]) -> list[Contact]:
    """The entries in their order, each step of each call once (its first entry). Amazon Connect's and
    Twilio's events carry no time of their own, so a flow that identifies a caller again or a retried
    webhook is stored as a second entry of the same step; the agent sees the call once all the same."""
    first: dict[tuple[str, str, str], Contact] = {}
    for contact in sorted(contacts, key=lambda c: c.at, reverse=True):
        first[(contact.channel, contact.contact_id, contact.kind)] = contact  # the oldest is seen last
    kept = {id(contact) for contact in first.values()}
    return [contact for contact in contacts if id(contact) in kept]


@dataclass(frozen=True)
class CustomerRecord:
    customer_id: str
    name: str
    phone: str | None
    id_number: str | None
    language: str = DEFAULT_LANGUAGE


@dataclass(frozen=True)
class CallerClaim:
    claim_id: str
    status: str
    channel: str
    loss_type: str
    received_at: str
    policy_number: str | None = None


@dataclass(frozen=True)
class ScreenPop:
    """What an agent sees as a call connects."""

    phone: str
    customer: CustomerRecord | None
    policies: list[Policy] = field(default_factory=list)
    open_claims: list[CallerClaim] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)
