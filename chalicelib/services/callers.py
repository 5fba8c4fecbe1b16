"""Hotline use cases: know the caller before the agent speaks, and take a claim by phone."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from chalicelib.domain import claim as claim_domain
from chalicelib.domain.caller import CallerSummary, Contact, ScreenPop, one_per_step, summarise
from chalicelib.domain.claim import CLOSED_STATUSES, Channel, ClaimSubmission, Location
from chalicelib.domain.errors import FieldProblem, ValidationFailed
from chalicelib.domain.identity import normalise_phone, normalise_policy_number
from chalicelib.domain.perils import PERILS
from chalicelib.observability import logger, traced
from chalicelib.services.intake import Accepted, IntakeRequest, IntakeService
from chalicelib.services.ports import CallerDirectory, ContactLog, ContactStore, PolicyDirectory, Telemetry

HOTLINE_TIMEZONE = ZoneInfo("Asia/Shanghai")  # the insurer's calendar: "today" for a caller
UNKNOWN_REGION = "000000"  # a phone report without a region: an agent completes it
SCREEN_POP_CLAIMS = 20
SCREEN_POP_CONTACTS = 10
CONTACT_MIN_SECONDS = 2.0  # worst case of one SQS send with the Connect functions' client limits


@dataclass(frozen=True)
class IncomingCall:
    """A call reaching one of the IVR channels, as its adapter hands it over."""

    channel: Channel
    call_id: str  # the vendor's id of the call
    caller: str | None  # the number the call came from, as the vendor gave it
    kind: str = "identified"  # the step its contact entry records
    # When the step happened, if the channel's event says so (a replay then rewrites the same entry).
    # Default: now.
    at: datetime | None = None
    # False when the channel asks again on a call whose step is already recorded (a re-prompt).
    record_contact: bool = True


class CallerService:
    """Identification for IVRs (one policy query) and the agent's screen pop (a few queries)."""

    def __init__(self, policies: PolicyDirectory, directory: CallerDirectory, contacts: ContactLog,
                 store: ContactStore, telemetry: Telemetry, clock: Callable[[], datetime] = claim_domain.utc_now):
        self._policies = policies
        self._directory = directory
        self._contacts = contacts
        self._store = store
        self._telemetry = telemetry
        self._clock = clock

    @traced
    def identify(self, raw_phone: str | None) -> tuple[str | None, CallerSummary]:
        """(E.164 phone, summary). A withheld or invalid number costs no call and is not found."""
        phone = normalise_phone(raw_phone)
        if phone is None:
            return None, CallerSummary(found=False)
        summary = summarise(self._policies.by_phone(phone), self._clock().astimezone(HOTLINE_TIMEZONE).date())
        self._telemetry.count("CallersIdentified" if summary.found else "CallersUnknown", 1)
        return phone, summary

    @traced
    def identify_call(self, call: IncomingCall, seconds_left: Callable[[], float] | None = None) -> CallerSummary:
        """Who is calling, and the call's step in the caller's contacts (best effort). The entry is
        skipped when ``seconds_left`` (the caller's remaining time: Connect waits 8 s) is below
        CONTACT_MIN_SECONDS. A failing lookup raises: each channel answers it its own way."""
        phone, caller = self.identify(call.caller)
        if phone and call.record_contact and (seconds_left is None or seconds_left() > CONTACT_MIN_SECONDS):
            self.record(Contact(phone, call.at or self._clock(), call.channel.value, call.kind, call.call_id,
                                customer_id=caller.customer_id))
        return caller

    @traced
    def screen_pop(self, raw_phone: str) -> ScreenPop:
        phone = normalise_phone(raw_phone)
        if phone is None:
            raise ValidationFailed("The phone number is not valid.", [FieldProblem("phone", "is not a phone number")])
        claims = self._directory.claims_by_phone(phone, SCREEN_POP_CLAIMS)
        return ScreenPop(
            phone=phone,
            customer=self._directory.customer_by_phone(phone),
            policies=sorted(self._policies.by_phone(phone), key=lambda p: (p.ends_on, p.policy_number), reverse=True),
            open_claims=[c for c in claims if claim_domain.ClaimStatus(c.status) not in CLOSED_STATUSES],
            # a few more than shown: a step recorded twice still leaves the list full
            contacts=one_per_step(
                self._directory.recent_contacts(phone, 2 * SCREEN_POP_CONTACTS))[:SCREEN_POP_CONTACTS],
        )

    def record(self, contact: Contact) -> None:
        """Best effort: a call never fails because its contact entry could not be queued."""
        try:
            self._contacts.record(contact)
        except Exception:  # noqa: BLE001 - logged and counted; the call goes on
            logger.exception("contact entry not recorded", extra={"channel": contact.channel, "kind": contact.kind})
            self._telemetry.count("ContactsNotRecorded", 1)

    def store_contacts(self, contacts: list[Contact]) -> None:
        """The contacts consumer's side: write a batch of queued entries (idempotent)."""
        self._store.write_many(contacts)
        self._telemetry.count("ContactsRecorded", len(contacts))


@dataclass(frozen=True)
class PhoneReport:
    """A claim reported on a call, as any IVR channel's adapter hands it over."""

    channel: Channel
    owner: str  # "ivr:connect", "ivr:twilio", "ivr:<vendor>"
    call_id: str
    caller: str | None  # the number the call came from, as the vendor gave it
    loss_type: str
    occurred_at: datetime | None = None  # default: the time of the call
    amount: Decimal | None = None  # not stated: an agent asks; 0 on the claim
    currency: str = "CNY"
    policy_number: str | None = None
    order_id: str | None = None
    plate: str | None = None
    region_code: str | None = None
    address: str | None = None
    description: str | None = None
    claimant_name: str | None = None
    correlation_id: str | None = None
    # When the call's step happened, if the channel's event says so: its contact entries are keyed on
    # it, so a replayed event rewrites the same entry. Default: the time of the call (now).
    contact_at: datetime | None = None


class PhoneIntake:
    """A claim from a call: idempotent on the call's id, and the same loss reported again from the
    same number on the same day (the caller hung up and called back) answers the first claim."""

    def __init__(self, intake: IntakeService, callers: CallerService,
                 clock: Callable[[], datetime] = claim_domain.utc_now):
        self._intake = intake
        self._callers = callers
        self._clock = clock

    @traced
    def report(self, report: PhoneReport, seconds_left: Callable[[], float] | None = None) -> Accepted:
        """The call's contact entry is stored with the claim, in its transaction. A report of a loss
        already reported on another call stores nothing new; its contact entry goes through the contacts
        queue, skipped when ``seconds_left`` (the caller's remaining time: Connect waits 8 s) is below
        CONTACT_MIN_SECONDS."""
        if report.loss_type not in PERILS:
            raise ValidationFailed("The loss type is not known.",
                                   [FieldProblem("loss.type", "is not a known loss type")])
        now = self._clock()
        occurred_at = report.occurred_at or now
        contact_at = report.contact_at or now
        phone = normalise_phone(report.caller)
        submission = ClaimSubmission(
            channel=report.channel,
            loss_type=report.loss_type,
            occurred_at=occurred_at,
            description=report.description or f"Reported by phone ({report.channel.value}); details to be taken "
                                               f"by an agent.",
            location=Location(report.region_code or UNKNOWN_REGION, report.address),
            amount=report.amount if report.amount is not None else Decimal("0"),
            currency=report.currency,
            claimant_name=report.claimant_name,
            claimant_phone=phone or None,
            policy_number=normalise_policy_number(report.policy_number) or None,
            order_id=report.order_id,
            plate=report.plate,
        )
        loss_day = occurred_at.astimezone(HOTLINE_TIMEZONE).date().isoformat()
        guard = f"hotline#{phone}#{report.loss_type}#{loss_day}" if phone else None
        contact = Contact(phone, contact_at, report.channel.value, "claim_reported", report.call_id) if phone else None
        accepted = self._intake.submit(IntakeRequest(owner=report.owner, submission=submission,
                                                     idempotency_key=f"call:{report.call_id}",
                                                     correlation_id=report.correlation_id, duplicate_guard=guard,
                                                     key_names_the_report=True, contact=contact))
        # Stored with the claim, or a retry of this call (recorded the first time): nothing more to record.
        if phone and accepted.already_reported and (seconds_left is None or seconds_left() > CONTACT_MIN_SECONDS):
            self._callers.record(Contact(phone, contact_at, report.channel.value, "claim_already_reported",
                                         report.call_id, accepted.claim_id))
        return accepted
