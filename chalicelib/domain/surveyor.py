"""Surveyors (查勘员) and the choice of whom to ask first for a claim."""
from __future__ import annotations

import enum
from dataclasses import dataclass


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

    @property
    def has_room(self) -> bool:
        return self.status is SurveyorStatus.AVAILABLE and self.active_claims < self.capacity


def candidates_in_order(surveyors: list[Surveyor]) -> list[Surveyor]:
    """Free surveyors, least loaded (by share of capacity) first; ties broken by id for stability."""
    free = [s for s in surveyors if s.has_room]
    return sorted(free, key=lambda s: (s.active_claims / s.capacity, s.surveyor_id))
