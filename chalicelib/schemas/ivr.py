"""Inputs of the hotline channels: Amazon Connect contact-flow events, Twilio webhooks, vendor events."""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from chalicelib.domain.errors import FieldProblem, ValidationFailed
from chalicelib.domain.ivr import peril_for_digit
from chalicelib.domain.perils import PERILS
from chalicelib.schemas.claims import AmountIn, LocationIn, LossType, PolicyIn, Text, VehicleIn
from chalicelib.schemas.dates import OffsetDateTime

CallId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:\-]{1,128}$")]


# -- Amazon Connect ----------------------------------------------------------------------------------

# Connect's own limits are far below these (ids are UUIDs, contact attributes 32 KB in all); they bound
# what a misconfigured flow or a forged invocation can make us read. Beyond them: result=error, BAD_EVENT.
CONNECT_MAX_TEXT = 256
CONNECT_MAX_ENTRIES = 256
CONNECT_MAX_AMOUNT = Decimal("1000000000")  # whole yuan keyed in on the phone stay below it
REGION_CODE_DIGITS = 6


class _Lenient(BaseModel):
    """Connect adds fields over time; only what is used is read."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class ConnectEndpoint(_Lenient):
    address: str | None = Field(default=None, alias="Address", max_length=CONNECT_MAX_TEXT)
    type: str | None = Field(default=None, alias="Type", max_length=CONNECT_MAX_TEXT)


class ConnectContactData(_Lenient):
    contact_id: CallId = Field(alias="ContactId")
    initial_contact_id: str | None = Field(default=None, alias="InitialContactId", max_length=CONNECT_MAX_TEXT)
    channel: str | None = Field(default=None, alias="Channel", max_length=CONNECT_MAX_TEXT)
    customer_endpoint: ConnectEndpoint | None = Field(default=None, alias="CustomerEndpoint")
    attributes: dict[str, Any] = Field(default_factory=dict, alias="Attributes", max_length=CONNECT_MAX_ENTRIES)


class ConnectDetails(_Lenient):
    contact_data: ConnectContactData = Field(alias="ContactData")
    parameters: dict[str, Any] = Field(default_factory=dict, alias="Parameters", max_length=CONNECT_MAX_ENTRIES)


class ContactFlowEvent(_Lenient):
    name: str | None = Field(default=None, alias="Name", max_length=CONNECT_MAX_TEXT)
    details: ConnectDetails = Field(alias="Details")

    @property
    def caller(self) -> str | None:
        endpoint = self.details.contact_data.customer_endpoint
        return endpoint.address if endpoint else None

    def value(self, name: str) -> str | None:
        """An input by name: the block's parameters first, then the contact's attributes. Blank is none."""
        for source in (self.details.parameters, self.details.contact_data.attributes):
            raw = source.get(name) if isinstance(source, dict) else None
            if raw is not None and str(raw).strip():
                return str(raw).strip()
        return None

    # What a flow collects from the caller is read leniently: an input that is not what it should be
    # is none (an agent asks for it), never an error that would cost the caller the claim.

    @property
    def loss_type(self) -> str | None:
        """The peril, named by the flow (``loss_type``) or keyed in from the menu (``loss_digit``)."""
        named = self.value("loss_type")
        if named in PERILS:
            return named
        return peril_for_digit(self.value("loss_digit"))

    @property
    def amount(self) -> Decimal | None:
        """Keyed in on the phone: whole yuan, digits only (a trailing '#' is the end key), above 0 and
        below CONNECT_MAX_AMOUNT."""
        raw = (self.value("amount") or "").rstrip("#")
        if not raw:
            return None
        try:
            value = Decimal(raw)
        except InvalidOperation:
            return None
        return value if raw.isdigit() and 0 < value < CONNECT_MAX_AMOUNT else None

    @property
    def region_code(self) -> str | None:
        """Six ASCII digits (other scripts' digits are not a region code)."""
        region = self.value("region_code") or ""
        return region if region.isascii() and region.isdigit() and len(region) == REGION_CODE_DIGITS else None


_CONNECT_UNSAFE = re.compile(r"[^A-Za-z0-9_\-]")


def connect_value(value: object) -> str:
    """A value Connect accepts in a Lambda answer: letters, digits, '-' and '_' only. Policy numbers
    may hold '/', which never occurs with '_' in them, so '/' → '_' is reversible."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _CONNECT_UNSAFE.sub("", str(value).replace("/", "_"))


# -- generic IVR vendors -------------------------------------------------------------------------------

class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


Phone = Annotated[str, StringConstraints(pattern=r"^\+?[0-9][0-9 \-()]{4,30}$")]


class CallStarted(_Strict):
    type: Literal["call.started"]
    call_id: CallId
    caller: Phone | None = None
    occurred_at: OffsetDateTime | None = None


class PhoneLossIn(_Strict):
    """The loss as the partner body shapes it; on a call only its type is sure to be known."""

    type: LossType
    occurred_at: OffsetDateTime | None = None
    description: Annotated[Text, StringConstraints(max_length=4000)] | None = None
    location: LocationIn | None = None


class ClaimReported(_Strict):
    type: Literal["claim.reported"]
    call_id: CallId
    caller: Phone | None = None
    occurred_at: OffsetDateTime | None = None  # of the event
    policy: PolicyIn = PolicyIn()
    loss: PhoneLossIn
    amount: AmountIn | None = None
    vehicle: VehicleIn | None = None


# -- Twilio Voice --------------------------------------------------------------------------------------

class TwilioCallForm(BaseModel):
    """Twilio's call parameters, as a Voice webhook posts them (form-encoded). Only CallSid is required;
    Twilio adds parameters over time (all of them signed), so others are kept, not rejected. No field has
    a length limit of its own: the whole form is at most 16 KiB (413), and a long SpeechResult is cut by
    the menu, never an error."""

    model_config = ConfigDict(extra="allow", frozen=True)

    CallSid: str = Field(pattern=r"^[A-Za-z0-9]{2,64}$", description="Twilio's id of the call.")
    From: str | None = Field(default=None, description="The caller's number (E.164), or a client or SIP address.")
    To: str | None = None
    AccountSid: str | None = None
    CallStatus: str | None = None
    Direction: str | None = None
    Digits: str | None = Field(default=None, description="Keys pressed (gather).")
    SpeechResult: str | None = Field(default=None, description="What the caller said (gather).")
    Confidence: str | None = None


def twilio_form(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """The form's parameters (the last of a repeated name wins), once CallSid is a call's id."""
    form = dict(pairs)
    try:
        TwilioCallForm.model_validate(form)
    except ValidationError:
        raise ValidationFailed("The call is not identified.", [FieldProblem("CallSid", "is required")]) from None
    return form
