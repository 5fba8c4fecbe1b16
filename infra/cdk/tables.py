"""DynamoDB table definitions read from the PynamoDB models: the one source of truth.

``Model._get_schema()`` is what PynamoDB's own ``create_table`` sends (and so what the local moto
stack creates, ``infra/provision.py``); the CDK stack builds its tables from the very same data.
"""
from __future__ import annotations

from dataclasses import dataclass

from chalicelib.adapters.models import ALL_MODELS


@dataclass(frozen=True)
class KeyAttr:
    name: str
    type: str  # "S", "N" or "B"


@dataclass(frozen=True)
class IndexSpec:
    name: str
    partition_key: KeyAttr
    sort_key: KeyAttr | None
    projection_type: str  # "ALL", "KEYS_ONLY" or "INCLUDE"
    non_key_attributes: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableSpec:
    name: str
    partition_key: KeyAttr
    sort_key: KeyAttr | None
    global_indexes: tuple[IndexSpec, ...]
    ttl_attribute: str | None
    model_name: str

    @property
    def attribute_definitions(self) -> dict[str, str]:
        """Every key attribute of the table and its indexes -> its DynamoDB type."""
        keys = [self.partition_key, self.sort_key]
        for index in self.global_indexes:
            keys += [index.partition_key, index.sort_key]
        return {k.name: k.type for k in keys if k is not None}


def _keys(key_schema: list[dict], types: dict[str, str]) -> tuple[KeyAttr, KeyAttr | None]:
    by_type = {k["KeyType"]: k["AttributeName"] for k in key_schema}
    hash_key = KeyAttr(by_type["HASH"], types[by_type["HASH"]])
    range_key = KeyAttr(by_type["RANGE"], types[by_type["RANGE"]]) if "RANGE" in by_type else None
    return hash_key, range_key


def table_spec(model) -> TableSpec:
    schema = model._get_schema()
    if schema.get("local_secondary_indexes"):
        raise NotImplementedError(f"{model.__name__}: local secondary indexes are not deployed by infra/cdk yet")
    types = {a["AttributeName"]: a["AttributeType"] for a in schema["attribute_definitions"]}
    hash_key, range_key = _keys(schema["key_schema"], types)
    indexes = []
    for gsi in sorted(schema.get("global_secondary_indexes", []), key=lambda g: g["index_name"]):
        index_types = {a["AttributeName"]: a["AttributeType"] for a in gsi["attribute_definitions"]}
        partition, sort = _keys(gsi["key_schema"], {**types, **index_types})
        projection = gsi["projection"]
        indexes.append(IndexSpec(gsi["index_name"], partition, sort, projection["ProjectionType"],
                                 tuple(projection.get("NonKeyAttributes", ()))))
    ttl = model._ttl_attribute()
    return TableSpec(model.Meta.table_name, hash_key, range_key, tuple(indexes),
                     ttl.attr_name if ttl is not None else None, model.__name__)


def table_specs() -> tuple[TableSpec, ...]:
    return tuple(table_spec(model) for model in ALL_MODELS)
