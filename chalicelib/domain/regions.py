"""Dispatch regions as data (chalicelib/data/regions.json): six-digit administrative codes (GB/T 2260),
their approximate centres and their neighbours, for searching outward from a claim's district."""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

REGIONS_FILE = Path(__file__).resolve().parent.parent / "data" / "regions.json"
UNKNOWN_REGION = "000000"  # a claim reported without a region: an agent completes it; nothing to search
EARTH_RADIUS_KM = 6371.0088  # mean radius

_CODE = re.compile(r"\d{6}")
_CITY = re.compile(r"\d{4}")  # a code's first four digits are its city (prefecture)

Point = tuple[float, float]  # (lat, lon), degrees, WGS84


@dataclass(frozen=True)
class Region:
    code: str
    name_zh: str
    name_en: str
    centre: Point | None
    neighbours: tuple[str, ...]

    def names(self) -> dict[str, str]:
        return {"zh-CN": self.name_zh, "en": self.name_en}


@dataclass(frozen=True)
class RegionTable:
    version: str
    regions: dict[str, Region]
    cities: dict[str, tuple[str, str]] = field(default_factory=dict)  # code prefix -> (zh, en)

    def get(self, code: str) -> Region | None:
        return self.regions.get(code)

    def place_names(self, code: str) -> dict[str, str] | None:
        """A district as a person reads it, city first ("上海市 浦东新区", "Shanghai, Pudong New Area");
        None for a code not in the table."""
        region = self.regions.get(code)
        if region is None:
            return None
        city = self.cities.get(code[:4])
        if city is None:
            return region.names()
        return {"zh-CN": f"{city[0]} {region.name_zh}", "en": f"{city[1]}, {region.name_en}"}

    def neighbours(self, code: str) -> tuple[str, ...]:
        region = self.regions.get(code)
        return region.neighbours if region else ()

    def centre(self, code: str) -> Point | None:
        region = self.regions.get(code)
        return region.centre if region else None

    def search_rings(self, code: str, max_rings: int = 2) -> list[tuple[str, ...]]:
        """Ring 0 is the region itself, ring n the regions n borders away; each code appears in one ring
        only, each ring sorted. The unknown region has no rings; a code missing from the table is its
        own ring 0 (surveyors may work there) with no neighbours known."""
        if max_rings < 0:
            raise ValueError(f"max_rings must be 0 or more, not {max_rings}")
        if code == UNKNOWN_REGION:
            return []
        rings: list[tuple[str, ...]] = [(code,)]
        seen = {code}
        while len(rings) <= max_rings:
            following = sorted({n for c in rings[-1] for n in self.neighbours(c)} - seen)
            if not following:
                break
            rings.append(tuple(following))
            seen.update(following)
        return rings


def _centre(code: str, raw) -> Point | None:
    if raw is None:
        return None
    if not (isinstance(raw, (list, tuple)) and len(raw) == 2
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in raw)):
        raise ValueError(f"region {code}: centre must be [lat, lon] or null, not {raw!r}")
    lat, lon = float(raw[0]), float(raw[1])
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError(f"region {code}: centre {raw!r} is not a valid [lat, lon]")
    return lat, lon


def parse_regions(data: dict) -> RegionTable:
    """Validate and build the table; a ValueError names the offending code(s)."""
    version = data.get("version") if isinstance(data, dict) else None
    if not isinstance(version, str) or not version:
        raise ValueError("regions: a non-empty version string is required")
    raw_regions = data.get("regions")
    if not isinstance(raw_regions, dict) or not raw_regions:
        raise ValueError("regions: a non-empty 'regions' object keyed by code is required")
    regions: dict[str, Region] = {}
    for code, raw in raw_regions.items():
        if not _CODE.fullmatch(code):
            raise ValueError(f"region code {code!r} is not 6 digits")
        try:
            name_zh, name_en, neighbours = raw["name_zh"], raw["name_en"], raw["neighbours"]
        except (KeyError, TypeError) as missing:
            raise ValueError(f"region {code}: missing {missing}") from None
        if not isinstance(neighbours, list) or not all(isinstance(n, str) for n in neighbours):
            raise ValueError(f"region {code}: neighbours must be a list of codes")
        for n in neighbours:
            if not _CODE.fullmatch(n):
                raise ValueError(f"region {code}: neighbour code {n!r} is not 6 digits")
        if code in neighbours:
            raise ValueError(f"region {code} lists itself as a neighbour")
        if len(set(neighbours)) != len(neighbours):
            raise ValueError(f"region {code} lists a neighbour twice")
        regions[code] = Region(code, name_zh, name_en, _centre(code, raw.get("centre")), tuple(sorted(neighbours)))
    for code, region in regions.items():
        for n in region.neighbours:
            if n not in regions:
                raise ValueError(f"region {code} lists neighbour {n}, which is not a known region")
            if code not in regions[n].neighbours:
                raise ValueError(f"region {code} lists {n} as a neighbour but {n} does not list {code}")
    unknown = regions.get(UNKNOWN_REGION)
    if unknown and (unknown.centre is not None or unknown.neighbours):
        raise ValueError(f"region {UNKNOWN_REGION} (unknown) must have no centre and no neighbours")
    return RegionTable(version=version, regions=regions, cities=_cities(data.get("cities", {})))


def _cities(raw) -> dict[str, tuple[str, str]]:
    if not isinstance(raw, dict):
        raise ValueError("regions: 'cities' must be an object keyed by four-digit code prefix")
    cities = {}
    for prefix, names in raw.items():
        if not _CITY.fullmatch(prefix):
            raise ValueError(f"city prefix {prefix!r} is not 4 digits")
        try:
            cities[prefix] = (names["name_zh"], names["name_en"])
        except (KeyError, TypeError) as missing:
            raise ValueError(f"city {prefix}: missing {missing}") from None
    return cities


def load_regions(path: Path = REGIONS_FILE) -> RegionTable:
    return parse_regions(json.loads(Path(path).read_text(encoding="utf-8")))


@lru_cache(maxsize=1)
def region_table() -> RegionTable:
    return load_regions()


def neighbours(code: str) -> tuple[str, ...]:
    return region_table().neighbours(code)


def centre(code: str) -> Point | None:
    return region_table().centre(code)


def search_rings(code: str, max_rings: int = 2) -> list[tuple[str, ...]]:
    return region_table().search_rings(code, max_rings)


def distance_km(a: Point, b: Point) -> float:
    """Great-circle (haversine) distance between two (lat, lon) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))
