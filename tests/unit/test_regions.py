"""Dispatch regions as data (chalicelib/data/regions.json, chalicelib/domain/regions.py)."""
from __future__ import annotations

import copy
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain import regions
from chalicelib.domain.regions import (
    REGIONS_FILE,
    UNKNOWN_REGION,
    centre,
    distance_km,
    neighbours,
    parse_regions,
    region_table,
    search_rings,
)

SHANGHAI = {"310101": "黄浦", "310104": "徐汇", "310105": "长宁", "310106": "静安", "310107": "普陀",
            "310109": "虹口", "310110": "杨浦", "310112": "闵行", "310113": "宝山", "310114": "嘉定",
            "310115": "浦东新区", "310116": "金山", "310117": "松江", "310118": "青浦", "310120": "奉贤",
            "310151": "崇明"}
BEIJING = {"110101": "东城", "110102": "西城", "110105": "朝阳", "110106": "丰台", "110108": "海淀"}
SHENZHEN = {"440303": "罗湖", "440304": "福田", "440305": "南山"}
HANGZHOU = {"330106": "西湖", "330105": "拱墅", "330102": "上城"}
KNOWN = sorted(code for code in region_table().regions if code != UNKNOWN_REGION)


def _shipped() -> dict:
    return json.loads(REGIONS_FILE.read_text(encoding="utf-8"))


# -- the shipped data ----------------------------------------------------------------------------------


@pytest.mark.parametrize("code, name", {**SHANGHAI, **BEIJING, **SHENZHEN, **HANGZHOU}.items())
def test_every_required_district_is_there_with_both_names_and_a_centre(code, name):
    # GIVEN the shipped region table
    # WHEN a required district is looked up
    region = region_table().get(code)

    # THEN it has its Chinese name, an English name and a centre
    assert region is not None
    assert region.name_zh.startswith(name)
    assert region.name_en
    assert region.centre is not None


def test_shipped_table_has_a_version():
    # GIVEN / WHEN the shipped table is loaded
    # THEN it carries a version string
    assert isinstance(region_table().version, str) and region_table().version


def test_neighbours_are_symmetric_and_known():
    # GIVEN the shipped table
    table = region_table()

    # WHEN every neighbour pair is checked
    # THEN each is listed both ways, between known regions, never a region with itself
    for code, region in table.regions.items():
        for n in region.neighbours:
            assert n in table.regions and n != code
            assert code in table.neighbours(n), (code, n)


def test_neighbouring_centres_are_close_and_in_the_same_city():
    # GIVEN the shipped table
    table = region_table()

    # WHEN the centres of every neighbour pair are compared
    # THEN they are within 70 km of each other (Chongming to Pudong is the longest) and share a city prefix
    for code, region in table.regions.items():
        for n in region.neighbours:
            assert code[:4] == n[:4], (code, n)
            assert distance_km(region.centre, table.centre(n)) < 70, (code, n)


def test_centres_lie_in_china():
    # GIVEN / WHEN every known centre is read
    # THEN it lies in China's latitude and longitude range
    for code in KNOWN:
        lat, lon = centre(code)
        assert 18 < lat < 54 and 73 < lon < 135, code


def test_unknown_region_has_no_centre_no_neighbours_and_nothing_to_search():
    # GIVEN the unknown region 000000
    # WHEN it is looked up
    # THEN it exists, with no centre, no neighbours and no rings to search
    assert region_table().get(UNKNOWN_REGION).name_en == "Unknown region"
    assert centre(UNKNOWN_REGION) is None
    assert neighbours(UNKNOWN_REGION) == ()
    assert search_rings(UNKNOWN_REGION) == []


@pytest.mark.parametrize("code, names", [
    ("310115", {"zh-CN": "上海市 浦东新区", "en": "Shanghai, Pudong New Area"}),
    ("440305", {"zh-CN": "深圳市 南山区", "en": "Shenzhen, Nanshan"}),
    ("999999", None),
])
def test_a_district_is_shown_with_its_city_in_each_language(code, names):
    # GIVEN the shipped table, which names the city of each code prefix
    # WHEN a district is to be shown to a person (the claim form's list of places)
    # THEN it reads city then district, as written in each language; a code not in the table has no name
    assert region_table().place_names(code) == names


def test_pudong_neighbours_and_centre():
    # GIVEN / WHEN Pudong (310115) is looked up
    # THEN its neighbours are the districts across the Huangpu and Yangtze and its land neighbours, sorted
    assert neighbours("310115") == ("310101", "310104", "310109", "310110", "310112", "310113", "310120", "310151")
    lat, lon = centre("310115")
    assert 31.0 < lat < 31.4 and 121.4 < lon < 121.9


def test_code_missing_from_the_table_has_no_centre_no_neighbours_and_is_its_own_ring():
    # GIVEN a valid code the table does not cover (Nanjing Xuanwu)
    # WHEN it is looked up
    # THEN nothing is known about it but its own region can still be searched
    assert centre("320102") is None
    assert neighbours("320102") == ()
    assert search_rings("320102") == [("320102",)]


# -- search rings -----------------------------------------------------------------------------------------


def test_pudong_rings_cover_shanghai_in_two_steps():
    # GIVEN Pudong
    # WHEN its search rings are computed
    rings = search_rings("310115")

    # THEN ring 0 is Pudong, ring 1 its neighbours, ring 2 the rest of Shanghai, each sorted
    assert rings == [
        ("310115",),
        ("310101", "310104", "310109", "310110", "310112", "310113", "310120", "310151"),
        ("310105", "310106", "310107", "310114", "310116", "310117", "310118"),
    ]
    assert sorted(c for ring in rings for c in ring) == sorted(SHANGHAI)


@pytest.mark.parametrize("max_rings, expected", [
    (0, [("440305",)]),
    (1, [("440305",), ("440304",)]),
    (2, [("440305",), ("440304",), ("440303",)]),
    (5, [("440305",), ("440304",), ("440303",)]),
])
def test_rings_stop_at_max_rings_or_when_nothing_is_left(max_rings, expected):
    # GIVEN Nanshan, Shenzhen, at the end of a chain Nanshan - Futian - Luohu
    # WHEN rings are computed up to max_rings
    # THEN there are at most max_rings + 1, and no empty rings
    assert search_rings("440305", max_rings) == expected


def test_negative_max_rings_is_refused():
    # GIVEN / WHEN a negative ring count is asked for
    # THEN it is refused
    with pytest.raises(ValueError, match="max_rings"):
        search_rings("310115", -1)


@given(code=st.sampled_from(KNOWN), max_rings=st.integers(0, 4))
def test_rings_are_disjoint_sorted_and_grow_by_one_border(code, max_rings):
    # GIVEN any known region and ring count
    # WHEN its rings are computed
    rings = search_rings(code, max_rings)

    # THEN ring 0 is the region, rings are sorted and disjoint, and each ring is exactly the
    # not-yet-seen neighbours of the one before
    assert rings[0] == (code,)
    assert len(rings) <= max_rings + 1
    flat = [c for ring in rings for c in ring]
    assert len(flat) == len(set(flat))
    seen = {code}
    for before, ring in zip(rings, rings[1:], strict=False):  # each ring with the one after it
        assert list(ring) == sorted(ring)
        assert set(ring) == {n for c in before for n in neighbours(c)} - seen
        seen |= set(ring)


# -- distance -------------------------------------------------------------------------------------------------


def test_distance_between_shanghai_and_beijing_is_about_1070_km():
    # GIVEN People's Square, Shanghai and Tiananmen, Beijing
    # WHEN the great-circle distance is computed
    km = distance_km((31.2304, 121.4737), (39.9087, 116.3975))

    # THEN it is about 1,067 km, both ways
    assert 1060 < km < 1075
    assert distance_km((39.9087, 116.3975), (31.2304, 121.4737)) == pytest.approx(km)


def test_one_degree_of_latitude_is_about_111_km_and_a_point_is_0_km_from_itself():
    # GIVEN / WHEN / THEN
    assert distance_km((31.0, 121.0), (32.0, 121.0)) == pytest.approx(111.2, abs=0.1)
    assert distance_km((31.2, 121.5), (31.2, 121.5)) == 0


# -- validation of a broken copy ------------------------------------------------------------------------------


def _drop(data, code, neighbour):
    data["regions"][code]["neighbours"].remove(neighbour)


@pytest.mark.parametrize("breakage, names", [
    pytest.param(lambda d: _drop(d, "310104", "310115"), ["310115", "310104"], id="one-way neighbour"),
    pytest.param(lambda d: d["regions"].__setitem__("31011", d["regions"].pop("310116")), ["31011"],
                 id="code not 6 digits"),
    pytest.param(lambda d: d["regions"]["310116"]["neighbours"].append("3101"), ["310116", "3101"],
                 id="neighbour not 6 digits"),
    pytest.param(lambda d: d["regions"]["440305"]["neighbours"].append("440306"), ["440305", "440306"],
                 id="unknown neighbour"),
    pytest.param(lambda d: d["regions"]["440305"]["neighbours"].append("440305"), ["440305"], id="own neighbour"),
    pytest.param(lambda d: d["regions"]["440305"]["neighbours"].append("440304"), ["440305"], id="neighbour twice"),
    pytest.param(lambda d: d["regions"]["440305"].__setitem__("centre", [122.5, 113.9]), ["440305"],
                 id="centre off the globe"),
    pytest.param(lambda d: d["regions"]["440305"].__setitem__("centre", "22.5,113.9"), ["440305"],
                 id="centre not a pair"),
    pytest.param(lambda d: d["regions"]["440305"].pop("name_en"), ["440305", "name_en"], id="missing name"),
    pytest.param(lambda d: d["regions"]["000000"]["neighbours"].append("310115"), ["000000"],
                 id="unknown region with a neighbour"),
    pytest.param(lambda d: d.pop("version"), ["version"], id="no version"),
    pytest.param(lambda d: d["cities"].__setitem__("310", {"name_zh": "上海", "name_en": "Shanghai"}), ["310"],
                 id="city prefix not 4 digits"),
    pytest.param(lambda d: d["cities"]["3101"].pop("name_zh"), ["3101", "name_zh"], id="city without a name"),
])
def test_broken_copy_is_refused_with_a_message_naming_the_codes(breakage, names):
    # GIVEN a copy of the shipped data, broken one way
    data = copy.deepcopy(_shipped())
    breakage(data)

    # WHEN it is parsed
    with pytest.raises(ValueError) as refused:
        parse_regions(data)

    # THEN the error names what is wrong
    for name in names:
        assert name in str(refused.value)


def test_one_way_neighbour_message_says_which_side_is_missing():
    # GIVEN a copy where Xuhui no longer lists Pudong, though Pudong lists Xuhui
    data = copy.deepcopy(_shipped())
    _drop(data, "310104", "310115")

    # WHEN it is parsed
    # THEN the message says so in those words
    with pytest.raises(ValueError, match="region 310115 lists 310104 as a neighbour but 310104 does not list 310115"):
        parse_regions(data)


def test_shipped_file_parses_as_is():
    # GIVEN / WHEN the shipped file is parsed afresh
    # THEN it is valid and the same as the cached table
    assert regions.load_regions() == region_table()
