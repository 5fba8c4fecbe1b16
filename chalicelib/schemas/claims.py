"""Request and response models of the claim contract (versioned with the API: /v1)."""
from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from chalicelib.domain.claim import Channel, ClaimSubmission, Location
from chalicelib.domain.errors import DomainError, FieldProblem, MalformedBody, PayloadTooLarge, ValidationFailed
from chalicelib.domain.perils import MOTOR, PERILS, line_of
from chalicelib.schemas.dates import OffsetDateTime

if TYPE_CHECKING:
    LossType = str  # the checker sees a string; pydantic, the enum of the perils (domain/perils.py)
else:
    LossType = Literal[tuple(PERILS)]

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Ref = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:\-]{1,64}$")]
# [0-9], not \d: the validator's \d also takes other scripts' digits ('３１０１１５', '١٢'), which Decimal
# would read but nothing downstream (region tables, the agent's screen) expects.
Money = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,12}(\.[0-9]{1,2})?$")]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Phone = Annotated[str, StringConstraints(pattern=r"^\+?[0-9][0-9 \-()]{4,30}$")]
RegionCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]

MAX_ATTACHMENTS_EXPECTED = 10


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class PolicyIn(_Strict):
    number: Annotated[Text, StringConstraints(max_length=40)] | None = None
    order_id: Annotated[Text, StringConstraints(max_length=64)] | None = None


class ClaimantIn(_Strict):
    name: Annotated[Text, StringConstraints(max_length=100)] | None = None
    phone: Phone | None = None


class LocationIn(_Strict):
    region_code: RegionCode
    address: Annotated[Text, StringConstraints(max_length=500)] | None = None
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)


class LossIn(_Strict):
    type: LossType
    occurred_at: OffsetDateTime
    description: Annotated[Text, StringConstraints(max_length=4000)]
    location: LocationIn


class AmountIn(_Strict):
    value: Money
    currency: Currency


class VehicleIn(_Strict):
    plate: Annotated[Text, StringConstraints(max_length=16)]


class ClaimIn(_Strict):
    """A claim as partners, the form and IVR vendors send it."""

    external_ref: Ref | None = None
    policy: PolicyIn = PolicyIn()
    claimant: ClaimantIn | None = None
    loss: LossIn
    amount: AmountIn
    vehicle: VehicleIn | None = None
    # photos that will follow (POST /v1/claims/{id}/attachments): the system approves nothing before
    # they are in or the product's photo window has closed
    attachments_expected: int | None = Field(default=None, ge=1, le=MAX_ATTACHMENTS_EXPECTED)

    def problems(self) -> list[FieldProblem]:
        """Rules across fields, each reported on the field that would fix it."""
        problems = []
        if not (self.policy.number or self.policy.order_id or (self.claimant and self.claimant.phone)
                or self.vehicle):
            problems.append(FieldProblem(
                "policy.number", "give at least one of policy.number, policy.order_id, claimant.phone, vehicle.plate"))
        if line_of(self.loss.type) == MOTOR and not self.vehicle:
            problems.append(FieldProblem("vehicle.plate", "is required for motor losses"))
        if Decimal(self.amount.value) <= 0:
            problems.append(FieldProblem("amount.value", "must be greater than 0"))
        return problems

    def to_submission(self, channel: Channel) -> ClaimSubmission:
        problems = self.problems()
        if problems:
            raise ValidationFailed("The claim is not valid.", problems)
        loc = self.loss.location
        return ClaimSubmission(
            channel=channel,
            loss_type=self.loss.type,
            occurred_at=self.loss.occurred_at,
            description=self.loss.description,
            location=Location(loc.region_code, loc.address, loc.lat, loc.lon),
            amount=Decimal(self.amount.value),
            currency=self.amount.currency,
            claimant_name=self.claimant.name if self.claimant else None,
            claimant_phone=self.claimant.phone if self.claimant else None,
            policy_number=self.policy.number,
            order_id=self.policy.order_id,
            plate=self.vehicle.plate if self.vehicle else None,
            external_ref=self.external_ref,
            attachments_expected=self.attachments_expected,
        )


def problems_of(error: ValidationError, prefix: str = "") -> list[FieldProblem]:
    """Field problems without echoing the submitted values (they may be personal data)."""
    out = []
    for item in error.errors(include_input=False, include_url=False):
        path = ".".join(str(p) for p in item["loc"] if not str(p).startswith("function-"))
        kind = item["type"]
        if kind == "extra_forbidden":
            problem = "unknown field"
        elif kind == "missing":
            problem = "is required"
        elif kind == "value_error":
            problem = item["msg"].removeprefix("Value error, ")
        else:
            problem = item["msg"]
        out.append(FieldProblem(".".join(p for p in (prefix, path) if p), problem))
    return out


def parse_claim(raw: bytes | str, channel: Channel, prefix: str = "") -> ClaimSubmission:
    try:
        claim = ClaimIn.model_validate_json(raw)
    except ValidationError as exc:
        if any(err["type"] == "json_invalid" for err in exc.errors()):
            raise MalformedBody("The body is not valid JSON.") from None
        raise ValidationFailed("The claim is not valid.", problems_of(exc, prefix)) from None
    try:
        return claim.to_submission(channel)
    except ValidationFailed as exc:  # locate the problem inside a batch, as for schema problems
        raise ValidationFailed(exc.message, [FieldProblem(".".join(p for p in (prefix, d.field) if p), d.problem)
                                             for d in exc.details]) from None


def parse_batch(body: Any, channel: Channel, max_claims: int,
                max_claim_bytes: int) -> list[ClaimSubmission | DomainError]:
    """A batch body, ``{"claims": [...]}`` with 1 to ``max_claims`` claims and nothing else (else the whole
    request is refused). Each claim is parsed on its own and held to the single route's size limit: it
    is its submission or its error, with fields named ``claims.<index>.…``."""
    items = body.get("claims") if isinstance(body, dict) and set(body) == {"claims"} else None
    if not isinstance(items, list) or not 1 <= len(items) <= max_claims:
        raise ValidationFailed("The batch is not valid.", [FieldProblem(
            "claims", f"give a list of 1 to {max_claims} claims and nothing else")])
    parsed: list[ClaimSubmission | DomainError] = []
    for index, item in enumerate(items):
        try:
            raw = json.dumps(item, ensure_ascii=False).encode("utf-8")
            if len(raw) > max_claim_bytes:
                raise PayloadTooLarge(f"The claim is larger than {max_claim_bytes} bytes.")
            parsed.append(parse_claim(raw, channel, prefix=f"claims.{index}"))
        except DomainError as error:
            parsed.append(error)
    return parsed
