"""Insurance products as data (chalicelib/data/products.json): perils, limit, deductible, survey, and the
fast-track and auto-approve limits that scoring reads."""
from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

PRODUCTS_FILE = Path(__file__).resolve().parent.parent / "data" / "products.json"
MAX_PHOTO_WINDOW_SECONDS = 900  # SQS's longest message delay


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
    # how long after receipt a claim that says photos follow waits for them before the system approves it;
    # at most 900 s, so one SQS delayed message brings it back
    photo_window_seconds: int = 0

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
        code: Product(code=code, name=p["name"], name_zh=p.get("name_zh", p["name"]), perils=frozenset(p["perils"]),
                      limit=Decimal(p["limit"]),
                      deductible=Decimal(p["deductible"]), currency=p["currency"],
                      typical_claim=Decimal(p["typical_claim"]), field_survey=bool(p["field_survey"]),
                      timezone=p["timezone"], fast_track_limit=Decimal(p.get("fast_track_limit", "0")),
                      auto_approve_below=Decimal(p.get("auto_approve_below", "0")),
                      photo_window_seconds=int(p.get("photo_window_seconds", 0)))
        for code, p in data["products"].items()
    }
    for product in products.values():
        if not 0 <= product.photo_window_seconds <= MAX_PHOTO_WINDOW_SECONDS:
            raise ValueError(f"product {product.code}: photo_window_seconds must be 0 to {MAX_PHOTO_WINDOW_SECONDS}")
    return Catalogue(version=data["version"], products=products)


@lru_cache(maxsize=1)
def catalogue() -> Catalogue:
    return parse_catalogue(json.loads(PRODUCTS_FILE.read_text(encoding="utf-8")))
