"""Whom dispatch asks first (chalicelib/domain/surveyor.py)."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.regions import distance_km, region_table
from chalicelib.domain.surveyor import (
    Surveyor,
    SurveyorStatus,
    candidates_by_ring,
    candidates_in_order,
    regions_to_search,
)

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


# -- by region: own district, then neighbours, then theirs ----------------------------------------------------

LUJIAZUI = (31.2397, 121.4998)  # a loss on the Pudong bank of the Huangpu


def _ids(surveyors) -> list[str]:
    return [s.surveyor_id for s in surveyors]


class _Directory:
    """A surveyor lookup by region that records which regions were asked for."""

    def __init__(self, surveyors: list[Surveyor]):
        self.surveyors = surveyors
        self.asked: list[str] = []

    def in_region(self, region_code: str) -> list[Surveyor]:
        self.asked.append(region_code)
        return [s for s in self.surveyors if s.region_code == region_code]


def test_a_surveyor_has_no_base_unless_given_one():
    # GIVEN a surveyor built as before, and one with a base
    # WHEN their bases are read
    # THEN only the second has one
    assert Surveyor("SV-1", "310115", A, 2).base is None
    assert Surveyor("SV-2", "310115", A, 2, 0, 31.2, 121.5).base == (31.2, 121.5)


def test_own_region_comes_before_a_closer_neighbour():
    # GIVEN a loss on the Pudong riverbank, a Pudong surveyor based ~55 km away in Nanhui and a
    # Huangpu surveyor based on the Bund, ~1 km away across the river
    pudong = Surveyor("SV-PD", "310115", A, 3, 2, lat=30.8900, lon=121.9200)
    huangpu = Surveyor("SV-HP", "310101", A, 3, 0, lat=31.2400, lon=121.4900)

    # WHEN they are ordered for the claim
    ordered = candidates_in_order([huangpu, pudong], claim_location=LUJIAZUI, claim_region="310115")

    # THEN the Pudong surveyor comes first: surveyors are organised by district, and the district's own
    # surveyor knows its roads, garages and police stations; the closer neighbour is the fallback
    assert _ids(ordered) == ["SV-PD", "SV-HP"]


def test_neighbours_are_the_fallback_when_nobody_in_the_own_region_is_free():
    # GIVEN Pudong's surveyors full or off duty, free ones in Xuhui and Hongkou (ring 1) and Songjiang (ring 2)
    surveyors = [Surveyor("SV-PD-1", "310115", A, 2, 2), Surveyor("SV-PD-2", "310115", SurveyorStatus.OFF_DUTY, 3, 0),
                 Surveyor("SV-SJ", "310117", A, 3, 0), Surveyor("SV-XH", "310104", A, 3, 0),
                 Surveyor("SV-HK", "310109", A, 3, 0)]

    # WHEN they are ordered for a Pudong claim without coordinates (Pudong's centre stands in)
    ordered = candidates_in_order(surveyors, claim_region="310115")

    # THEN the neighbours come first, nearest centre first (Hongkou ~6 km, Xuhui ~11 km), then ring 2
    assert _ids(ordered) == ["SV-HK", "SV-XH", "SV-SJ"]


def test_ring_two_is_searched_when_ring_one_has_nobody_free():
    # GIVEN a Nanshan claim, nobody in Nanshan, Futian's surveyor full, Luohu's free, and a free one in Beijing
    directory = _Directory([Surveyor("SV-FT", "440304", A, 2, 2), Surveyor("SV-LH", "440303", A, 2, 1),
                            Surveyor("SV-BJ", "110105", A, 5, 0)])

    # WHEN candidates are taken ring by ring
    ordered = list(candidates_by_ring(directory.in_region, "440305"))

    # THEN Luohu (two borders away) is the candidate; Beijing is never asked
    assert _ids(ordered) == ["SV-LH"]
    assert directory.asked == ["440305", "440304", "440303"]


def test_surveyors_outside_the_rings_come_last_when_given():
    # GIVEN a Luohu surveyor (ring 2 of Nanshan) and an idle Beijing surveyor
    surveyors = [Surveyor("SV-BJ", "110105", A, 5, 0), Surveyor("SV-LH", "440303", A, 2, 1)]

    # WHEN they are ordered for a Nanshan claim
    # THEN the Beijing surveyor, outside every ring, comes last
    assert _ids(candidates_in_order(surveyors, claim_region="440305")) == ["SV-LH", "SV-BJ"]


def test_nearest_first_within_a_ring_even_if_busier():
    # GIVEN Pudong's surveyors all full, and three free ring-1 surveyors: Yangpu based ~6 km from the loss
    # (busy), Xuhui based ~10 km away (idle), and Minhang with no base (its centre, ~18 km, stands in)
    surveyors = [Surveyor("SV-PD", "310115", A, 1, 1, lat=31.2400, lon=121.5100),
                 Surveyor("SV-MH", "310112", A, 4, 0),
                 Surveyor("SV-XH", "310104", A, 4, 0, lat=31.1700, lon=121.4400),
                 Surveyor("SV-YP", "310110", A, 4, 3, lat=31.2900, lon=121.5200)]

    # WHEN they are ordered for the claim
    ordered = candidates_in_order(surveyors, claim_location=LUJIAZUI, claim_region="310115")

    # THEN the nearest comes first, whatever their load
    assert _ids(ordered) == ["SV-YP", "SV-XH", "SV-MH"]


def test_near_tie_in_distance_is_broken_by_load():
    # GIVEN two surveyors 2.6 km and 3.4 km from the loss (both ~3 km) in the same region, the nearer busier
    loss = (31.2000, 121.5000)
    nearer = Surveyor("SV-NEAR", "310115", A, 3, 2, lat=31.2000 + 2.6 / 111.2, lon=121.5000)
    farther = Surveyor("SV-FAR", "310115", A, 3, 0, lat=31.2000 + 3.4 / 111.2, lon=121.5000)
    assert round(distance_km(loss, nearer.base)) == round(distance_km(loss, farther.base)) == 3

    # WHEN they are ordered
    ordered = candidates_in_order([nearer, farther], claim_location=loss, claim_region="310115")

    # THEN distances in the same whole kilometre count as equal and the less loaded comes first
    assert _ids(ordered) == ["SV-FAR", "SV-NEAR"]


def test_least_loaded_first_among_equally_near_neighbours():
    # GIVEN two free Xuhui surveyors without bases (both at Xuhui's centre), at 3/4 and 1/4 of capacity
    surveyors = [Surveyor("SV-XH-1", "310104", A, 4, 3), Surveyor("SV-XH-2", "310104", A, 4, 1)]

    # WHEN they are ordered for a Pudong claim
    # THEN the less loaded comes first
    assert _ids(candidates_in_order(surveyors, claim_location=LUJIAZUI, claim_region="310115")) == \
        ["SV-XH-2", "SV-XH-1"]


def test_claim_location_with_a_missing_coordinate_falls_back_to_the_region_centre():
    # GIVEN a claim location with a latitude but no longitude, and Hongkou and Xuhui surveyors
    surveyors = [Surveyor("SV-XH", "310104", A, 3, 0), Surveyor("SV-HK", "310109", A, 3, 1)]

    # WHEN they are ordered
    ordered = candidates_in_order(surveyors, claim_location=(31.24, None), claim_region="310115")

    # THEN Pudong's centre is used: Hongkou (~6 km) before Xuhui (~11 km)
    assert _ids(ordered) == ["SV-HK", "SV-XH"]


def test_off_duty_and_full_surveyors_are_never_chosen_in_any_ring():
    # GIVEN full and off-duty surveyors in the own region and a neighbour, and one free in ring 2
    directory = _Directory([Surveyor("SV-PD-FULL", "310115", A, 2, 2),
                            Surveyor("SV-PD-OFF", "310115", SurveyorStatus.OFF_DUTY, 2, 0),
                            Surveyor("SV-HP-FULL", "310101", A, 1, 1),
                            Surveyor("SV-HP-OFF", "310101", SurveyorStatus.OFF_DUTY, 2, 0),
                            Surveyor("SV-JA", "310106", A, 2, 1)])

    # WHEN candidates are taken ring by ring, and ordered from the whole list
    by_ring = list(candidates_by_ring(directory.in_region, "310115", LUJIAZUI))
    at_once = candidates_in_order(directory.surveyors, LUJIAZUI, "310115")

    # THEN only the free one is ever a candidate
    assert _ids(by_ring) == _ids(at_once) == ["SV-JA"]


def test_rings_further_out_are_not_asked_while_a_nearer_candidate_is_taken():
    # GIVEN a free Pudong surveyor and free neighbours
    directory = _Directory([Surveyor("SV-PD", "310115", A, 2, 1), Surveyor("SV-HP", "310101", A, 2, 0)])

    # WHEN dispatch takes the first candidate and stops (it was assigned)
    first = next(candidates_by_ring(directory.in_region, "310115"))

    # THEN only Pudong was asked for
    assert first.surveyor_id == "SV-PD"
    assert directory.asked == ["310115"]


def test_only_the_regions_of_a_ring_are_asked_when_the_previous_ring_is_used_up():
    # GIVEN Pudong's only surveyor is full and a Huangpu one is free
    directory = _Directory([Surveyor("SV-PD", "310115", A, 1, 1), Surveyor("SV-HP", "310101", A, 2, 0)])

    # WHEN dispatch takes the first candidate
    first = next(candidates_by_ring(directory.in_region, "310115"))

    # THEN Pudong, then its neighbours (in code order) were asked, and not ring 2
    assert first.surveyor_id == "SV-HP"
    assert directory.asked == ["310115", "310101", "310104", "310109", "310110", "310112", "310113", "310120",
                               "310151"]


def test_regions_to_search_flattens_the_rings():
    # GIVEN / WHEN the regions to search for a Nanshan claim are listed
    # THEN they run own region, neighbours, their neighbours
    assert regions_to_search("440305") == ["440305", "440304", "440303"]
    assert regions_to_search("440305", max_rings=1) == ["440305", "440304"]
    assert regions_to_search("310115")[:2] == ["310115", "310101"]
    assert len(regions_to_search("310115")) == 16


def test_unknown_region_has_nobody_by_ring_and_the_claim_waits_for_an_agent():
    # GIVEN a claim reported without a region (000000) and free surveyors across Shanghai
    directory = _Directory([Surveyor("SV-PD", "310115", A, 2, 0), Surveyor("SV-HP", "310101", A, 2, 0)])

    # WHEN candidates are taken ring by ring, even with the caller's coordinates
    by_ring = list(candidates_by_ring(directory.in_region, "000000", LUJIAZUI))

    # THEN there are no regions to search and nobody is asked: no fallback to "anyone anywhere"; the claim
    # waits (WAITING_FOR_SURVEYOR, retried with backoff) until an agent completes its region
    assert regions_to_search("000000") == []
    assert by_ring == []
    assert directory.asked == []


def test_unknown_region_given_a_list_still_orders_everyone_free_in_one_ring():
    # GIVEN free surveyors handed over directly for a claim in the unknown region
    surveyors = [Surveyor("SV-PD", "310115", A, 2, 1), Surveyor("SV-HP", "310101", A, 2, 0)]

    # WHEN they are ordered
    # THEN nobody has a ring, so all count as outside it and the order is least-loaded, then id
    assert _ids(candidates_in_order(surveyors, claim_region="000000")) == ["SV-HP", "SV-PD"]


# -- properties ---------------------------------------------------------------------------------------------

CODES = sorted(region_table().regions) + ["320102"]


@st.composite
def _surveyors(draw) -> list[Surveyor]:
    count = draw(st.integers(0, 12))
    out = []
    for i in range(count):
        capacity = draw(st.integers(1, 5))
        based = draw(st.booleans())
        out.append(Surveyor(f"SV-{i:02d}", draw(st.sampled_from(CODES)), draw(st.sampled_from(SurveyorStatus)),
                            capacity, draw(st.integers(0, capacity)),
                            draw(st.floats(30.6, 31.9)) if based else None,
                            draw(st.floats(120.8, 122.0)) if based else None))
    return out


_claim_points = st.none() | st.tuples(st.floats(30.6, 31.9), st.floats(120.8, 122.0))


@given(surveyors=_surveyors(), claim_region=st.none() | st.sampled_from(CODES), claim_location=_claim_points)
def test_order_is_a_permutation_of_the_free_surveyors(surveyors, claim_region, claim_location):
    # GIVEN any surveyors and any claim
    # WHEN they are ordered
    ordered = candidates_in_order(surveyors, claim_location, claim_region)

    # THEN every free surveyor appears once, and no full or off-duty one
    assert sorted(_ids(ordered)) == sorted(s.surveyor_id for s in surveyors if s.has_room)
    assert all(s.has_room for s in ordered)


@given(surveyors=_surveyors(), claim_region=st.sampled_from(CODES), claim_location=_claim_points)
def test_ring_by_ring_is_the_whole_order_over_the_searched_regions(surveyors, claim_region, claim_location):
    # GIVEN any surveyors and any claim with a region
    directory = _Directory(surveyors)
    searched = set(regions_to_search(claim_region))

    # WHEN candidates are taken ring by ring
    by_ring = list(candidates_by_ring(directory.in_region, claim_region, claim_location))

    # THEN it is the same order as all the free surveyors of the searched regions ordered at once
    assert by_ring == candidates_in_order([s for s in surveyors if s.region_code in searched],
                                          claim_location, claim_region)
