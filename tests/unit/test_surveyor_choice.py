"""Whom dispatch asks first (chalicelib/domain/surveyor.py)."""
from __future__ import annotations

from chalicelib.domain.surveyor import Surveyor, SurveyorStatus, candidates_in_order

A = SurveyorStatus.AVAILABLE


def test_least_loaded_by_share_of_capacity_comes_first():
    # GIVEN surveyors at 2/3, 1/4 and 0/2 of their capacity
    surveyors = [Surveyor("SV-1", "310115", A, 3, 2), Surveyor("SV-2", "310115", A, 4, 1),
                 Surveyor("SV-3", "310115", A, 2, 0)]

    # WHEN they are ordered
    # THEN the emptiest comes first, by share of capacity
    assert [s.surveyor_id for s in candidates_in_order(surveyors)] == ["SV-3", "SV-2", "SV-1"]


def test_full_and_off_duty_surveyors_are_not_candidates():
    # GIVEN a full surveyor, an off-duty one and a free one
    surveyors = [Surveyor("SV-1", "310115", A, 2, 2), Surveyor("SV-2", "310115", SurveyorStatus.OFF_DUTY, 5, 0),
                 Surveyor("SV-3", "310115", A, 2, 1)]

    # WHEN they are ordered
    # THEN only the free one is a candidate
    assert [s.surveyor_id for s in candidates_in_order(surveyors)] == ["SV-3"]


def test_equal_load_is_ordered_by_id():
    # GIVEN two surveyors equally loaded
    surveyors = [Surveyor("SV-B", "310115", A, 4, 2), Surveyor("SV-A", "310115", A, 2, 1)]

    # WHEN they are ordered
    # THEN the order is stable, by id
    assert [s.surveyor_id for s in candidates_in_order(surveyors)] == ["SV-A", "SV-B"]


def test_nobody_free_means_no_candidates():
    # GIVEN no surveyors
    # WHEN they are ordered
    # THEN there is nobody to ask
    assert candidates_in_order([]) == []
