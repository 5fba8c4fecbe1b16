"""Surveyors (查勘员) and the choice of whom to ask first for a claim.

Order of candidates: the claim's own district first (surveyors are organised by district and know it),
then its neighbours (ring 1), then theirs (ring 2), then anyone else; within a ring the nearest by
whole kilometres, then the least loaded by share of capacity, then by id. Off-duty and full surveyors
are never candidates. A claim in the unknown region (000000) has no rings to search: it waits until an
agent completes its region.
"""
from __future__ import annotations

import enum
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from chalicelib.domain.regions import Point, distance_km, region_table

DEFAULT_MAX_RINGS = 2
SURVEYOR_ID_PATTERN = r"[A-Za-z0-9_.\-]{1,64}"  # ids as the directory issues them


class SurveyorStatus(str, enum.Enum):
    AVAILABLE = "AVAILABLE"
    OFF_DUTY = "OFF_DUTY"


@dataclass(frozen=True)
class Surveyor:
    surveyor_id: str
    region_code: str
    status: SurveyorStatus
    capacity: int
    active_claims: int = 0
    lat: float | None = None  # the surveyor's base, when known
    lon: float | None = None

    @property
    def has_room(self) -> bool:
        return self.status is SurveyorStatus.AVAILABLE and self.active_claims < self.capacity

    @property
    def base(self) -> Point | None:
        return _point(self.lat, self.lon)


def _point(lat: float | None, lon: float | None) -> Point | None:
    return (float(lat), float(lon)) if lat is not None and lon is not None else None


def regions_to_search(claim_region: str, max_rings: int = DEFAULT_MAX_RINGS) -> list[str]:
    """The claim's region, then its neighbours, then theirs: the regions to ask for surveyors, in order.
    Empty for the unknown region."""
    return [code for ring in region_table().search_rings(claim_region, max_rings) for code in ring]


def candidates_in_order(surveyors: Iterable[Surveyor], claim_location: tuple[float | None, float | None] | None = None,
                        claim_region: str | None = None, max_rings: int = DEFAULT_MAX_RINGS) -> list[Surveyor]:
    """Free surveyors, best first: by ring around ``claim_region`` (own region first; outside the rings
    or unknown last), then distance in whole km when both points are known, then share of capacity, then id.

    ``claim_location`` is the loss's (lat, lon) if known; otherwise the claim region's centre is used.
    A surveyor's point is its base (lat, lon), else its region's centre. With only a list, the order is
    least-loaded then id.
    """
    table = region_table()
    if claim_region is None:
        ring_of: dict[str, int] = {}
        outside = 0
    else:
        ring_of = {code: n for n, ring in enumerate(table.search_rings(claim_region, max_rings)) for code in ring}
        outside = max_rings + 1
    claim_point = _point(*claim_location) if claim_location is not None else None
    if claim_point is None and claim_region is not None:
        claim_point = table.centre(claim_region)

    def key(s: Surveyor):
        point = s.base or table.centre(s.region_code)
        km = round(distance_km(claim_point, point)) if claim_point is not None and point is not None else math.inf
        return ring_of.get(s.region_code, outside), km, s.active_claims / s.capacity, s.surveyor_id

    return sorted((s for s in surveyors if s.has_room), key=key)


def candidates_by_ring(in_region: Callable[[str], Iterable[Surveyor]], claim_region: str,
                       claim_location: tuple[float | None, float | None] | None = None,
                       max_rings: int = DEFAULT_MAX_RINGS) -> Iterator[Surveyor]:
    """Candidates ring by ring, asking ``in_region`` for each region of a ring only once the previous
    rings' candidates are used up: a caller that stops at the first assignment never looks further out."""
    seen: set[str] = set()
    for ring in region_table().search_rings(claim_region, max_rings):
        found = [s for code in ring for s in in_region(code) if s.surveyor_id not in seen]
        seen.update(s.surveyor_id for s in found)
        yield from candidates_in_order(found, claim_location, claim_region, max_rings)
