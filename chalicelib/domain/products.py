"""Insurance products as data (chalicelib/data/products.json): perils, limit, deductible, survey, and the
fast-track and auto-approve limits that scoring reads."""
from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

PRODUCTS_FILE = Path(__file__).resolve().parent.parent / "data" / "products.json"


@dataclass(frozen=True)
class Product:
    code: str
    name: str  # English
    name_zh: str
    perils: frozenset[str]
    limit: Decimal
    deductible: Decimal
    currency: str
    typical_claim: Decimal
    field_survey: bool
    timezone: str
    fast_track_limit: Decimal = Decimal("0")  # claimed amount up to which a clean claim may be fast-tracked
    auto_approve_below: Decimal = Decimal("0")  # a fast-tracked payout below this is approved without a person

    def names(self) -> dict[str, str]:
        return {"zh-CN": self.name_zh, "en": self.name}


@dataclass(frozen=True)
class Catalogue:
    version: str
    products: dict[str, Product]

    def get(self, code: str) -> Product | None:
        return self.products.get(code)


def parse_catalogue(data: dict) -> Catalogue:
    products = {
        code: Product(code=code, name=p["name"], name_zh=p.get("name_zh", p["name"]), perils=frozenset(p["perils"]), limit=Decimal(p["limit"]),
                      deductible=Decimal(p["deductible"]), currency=p["currency"],
                      typical_claim=Decimal(p["typical_claim"]), field_survey=bool(p["field_survey"]),
                      timezone=p["timezone"], fast_track_limit=Decimal(p.get("fast_track_limit", "0")),
                      auto_approve_below=Decimal(p.get("auto_approve_below", "0")))
        for code, p in data["products"].items()
    }
    return Catalogue(version=data["version"], products=products)


@lru_cache(maxsize=1)
def catalogue() -> Catalogue:
    return parse_catalogue(json.loads(PRODUCTS_FILE.read_text(encoding="utf-8")))
