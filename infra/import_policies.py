"""Policy data import: policies and their customers from CSV or JSON Lines into DynamoDB.

    python -m infra.import_policies FILE [FILE...] [--dry-run] [--endpoint-url URL]

A ``.csv`` file has a header row; a ``.jsonl`` file has one JSON object per line. Every row is
validated (``validate_row``, pure) and written as one policy item and one customer item with
BatchWriteItem, 25 items a request (``BatchWriter``); items DynamoDB leaves unprocessed are sent
again with exponential backoff, a bounded number of times. Rows are upserts keyed by the normalised
policy number and the customer id, so importing a file again leaves the same table contents.

Rejected rows are reported on stderr as ``FILE:LINE: rejected: reason; reason``, warnings as
``FILE:LINE: warning: ...``; the reasons name fields, never their values (names, phones and ID numbers
are personal data). The last line on stdout is a JSON summary with the counts. Exit code 0 when every
row was imported, 2 when some rows were rejected or could not be written (the others were imported),
1 on a fatal error (a file that cannot be read, DynamoDB refusing the writes).

Customer ids not given in the file are derived from the ID number, phone or policy number with an
HMAC keyed by the CUSTOMER_ID_KEY setting (keep it as secret as an API key, and the same across runs:
another key gives other ids). Region and credentials come from the environment as boto3 reads them;
``--endpoint-url`` (or the standard ``AWS_ENDPOINT_URL``) points the writes at a local moto server.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import hmac
import json
import random
import re
import sys
import time
import unicodedata
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TextIO

from pynamodb.models import Model

from chalicelib.adapters.models import CustomerModel, PolicyModel
from chalicelib.domain.identity import normalise_phone, normalise_plate, normalise_policy_number
from chalicelib.domain.products import catalogue
from chalicelib.settings import get_settings

FIELDS = ("policy_number", "product", "starts_on", "ends_on", "holder_name", "holder_phone",
          "holder_id_number", "plate", "order_id", "partner_id", "status", "language", "customer_id")
REQUIRED = ("policy_number", "product", "starts_on", "ends_on", "holder_name")
STATUSES = ("ACTIVE", "CANCELLED", "EXPIRED")
LANGUAGES = {"zh-cn": "zh-CN", "en": "en"}
MOTOR_PRODUCT = "motor"
MAX_NAME = 100
MAX_ORDER_ID = 64
SUFFIXES = (".csv", ".jsonl")

BATCH_SIZE = 25  # BatchWriteItem's limit
MAX_ATTEMPTS = 8  # of one batch's items, first send included
BACKOFF_BASE_SECONDS = 0.05
BACKOFF_MAX_SECONDS = 2.0

EXIT_OK, EXIT_FATAL, EXIT_REJECTED = 0, 1, 2

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_ \-]{0,39}")  # safe to echo: cannot be a phone or ID number
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_RESIDENT_ID = re.compile(r"[1-9][0-9]{16}[0-9X]")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


# -- rows --------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ValidRow:
    """One row, validated and normalised: what is stored."""

    policy_number: str
    product: str
    starts_on: str
    ends_on: str
    holder_name: str
    customer_id: str
    holder_phone: str | None = None
    holder_id_number: str | None = None
    plate: str | None = None
    order_id: str | None = None
    partner_id: str | None = None
    status: str = "ACTIVE"
    language: str = "zh-CN"

    def policy_item(self) -> dict[str, dict]:
        """The policy in DynamoDB's wire format, exactly as PolicyModel stores it."""
        return PolicyModel(self.policy_number, product=self.product, customer_id=self.customer_id,
                           holder_name=self.holder_name, holder_phone=self.holder_phone, plate=self.plate,
                           order_id=self.order_id, partner_id=self.partner_id, starts_on=self.starts_on,
                           ends_on=self.ends_on, status=self.status, holder_language=self.language).serialize()

    def customer_item(self) -> dict[str, dict]:
        return CustomerModel(self.customer_id, name=self.holder_name, phone=self.holder_phone,
                             id_number=self.holder_id_number, language=self.language).serialize()


def derive_customer_id(key: bytes, policy_number: str, phone: str | None = None,
                       id_number: str | None = None) -> str:
    """``CUS-`` and the first 16 hex digits of the HMAC-SHA256 (under ``key``, the CUSTOMER_ID_KEY
    setting) of the ID number if known, else of the E.164 phone, else of the policy number (all
    normalised), so one person gets one id on every run. Keyed because a plain hash of an ID number or a
    phone is reversed by hashing every possible one."""
    basis = id_number or phone or policy_number
    return "CUS-" + hmac.new(key, basis.encode("utf-8"), hashlib.sha256).hexdigest()[:16]


def configured_customer_id_key() -> bytes | None:
    secret = get_settings().customer_id_key
    return secret.get_secret_value().encode("utf-8") if secret else None


def normalise_resident_id(value: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", value)).upper()


def resident_id_problem(value: str) -> str | None:
    """Why ``value`` (already normalised) is not a PRC resident ID number, or None when it is one:
    17 digits (area, birth date YYYYMMDD, sequence) then a check character, ISO 7064 MOD 11-2."""
    if not _RESIDENT_ID.fullmatch(value):
        return "holder_id_number must be 18 characters: 17 digits then a digit or X"
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        born = None
    if born is None or born.year < 1900:
        return "holder_id_number does not contain a valid birth date"
    total = sum(int(digit) * weight for digit, weight in zip(value[:17], _ID_WEIGHTS, strict=True))
    if _ID_CHECK[total % 11] != value[17]:
        return "holder_id_number fails its check digit"
    return None


def _field_label(name: object) -> str:
    text = str(name)
    if not text:
        return "without a name"
    return f"'{text}'" if _FIELD_NAME.fullmatch(text) else "with an unrecognised name"


def validate_row(fields: Mapping[str, Any], products: Collection[str] | None = None, *,
                 customer_id_key: bytes | None = None) -> ValidRow | list[str]:
    """A row's fields (names as in ``FIELDS``; empty or missing optional fields are absent) → the
    normalised row, or the list of problems. No I/O. Problems name the field, never its value. A row
    without a customer_id gets one derived with ``customer_id_key``; without a key it is rejected."""
    if products is None:
        products = catalogue().products.keys()
    problems: list[str] = []

    for name in fields:
        if name not in FIELDS:
            problems.append(f"unknown field {_field_label(name)}")

    def text(name: str) -> str | None:
        value = fields.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            problems.append(f"{name} must be text")
            return None
        return value.strip() or None

    def required(name: str) -> str | None:
        value = text(name)
        if value is None and (fields.get(name) is None or isinstance(fields.get(name), str)):
            problems.append(f"{name} is required")
        return value

    raw_number = required("policy_number")
    policy_number = normalise_policy_number(raw_number) if raw_number else None
    if raw_number and policy_number is None:
        problems.append("policy_number is not a valid policy number (4 to 40 letters, digits, '/' or '-')")

    raw_product = required("product")
    product = raw_product.lower() if raw_product else None
    if product is not None and product not in products:
        problems.append(f"product is not in the catalogue (one of: {', '.join(sorted(products))})")
        product = None

    dates: dict[str, date] = {}
    for name in ("starts_on", "ends_on"):
        value = required(name)
        if value is None:
            continue
        try:
            if not _ISO_DATE.fullmatch(value):
                raise ValueError
            dates[name] = date.fromisoformat(value)
        except ValueError:
            problems.append(f"{name} is not an ISO date (YYYY-MM-DD)")
    if len(dates) == 2 and dates["starts_on"] > dates["ends_on"]:
        problems.append("starts_on is after ends_on")

    holder_name = required("holder_name")
    if holder_name is not None:
        if len(holder_name) > MAX_NAME:
            problems.append(f"holder_name is longer than {MAX_NAME} characters")
        if _CONTROL.search(holder_name):
            problems.append("holder_name contains control characters")

    phone = None
    raw_phone = text("holder_phone")
    if raw_phone is not None:
        phone = normalise_phone(raw_phone)
        if phone is None:
            problems.append("holder_phone is not a valid phone number")

    id_number = None
    raw_id = text("holder_id_number")
    if raw_id is not None:
        id_number = normalise_resident_id(raw_id)
        problem = resident_id_problem(id_number)
        if problem:
            problems.append(problem)
            id_number = None

    plate = None
    raw_plate = text("plate")
    if raw_plate is not None:
        plate = normalise_plate(raw_plate)
        if plate is None:
            problems.append("plate is not a valid licence plate")
    elif product == MOTOR_PRODUCT:
        problems.append("plate is required for motor policies")

    order_id = text("order_id")
    if order_id is not None:
        if len(order_id) > MAX_ORDER_ID:
            problems.append(f"order_id is longer than {MAX_ORDER_ID} characters")
        if _CONTROL.search(order_id):
            problems.append("order_id contains control characters")

    partner_id = text("partner_id")
    if partner_id is not None and not _IDENTIFIER.fullmatch(partner_id):
        problems.append("partner_id must be 1 to 64 letters, digits, '-', '_' or '.'")
    if order_id is not None and partner_id is None:
        # an order id is only unique within the partner that sold the policy: it resolves claims of that
        # partner only, so a policy sold per order must say whose order it is
        problems.append("partner_id is required when order_id is given")

    status = (text("status") or "ACTIVE").upper()
    if status not in STATUSES:
        problems.append(f"status must be one of {', '.join(STATUSES)}")

    raw_language = text("language")
    language = LANGUAGES.get(raw_language.lower()) if raw_language else "zh-CN"
    if language is None:
        problems.append(f"language must be one of {', '.join(LANGUAGES.values())}")

    customer_id = text("customer_id")
    if customer_id is not None and not _IDENTIFIER.fullmatch(customer_id):
        problems.append("customer_id must be 1 to 64 letters, digits, '-', '_' or '.'")
    if customer_id is None and customer_id_key is None:
        problems.append("customer_id is missing and no CUSTOMER_ID_KEY is set to derive it")

    if problems:
        return problems
    # narrowed by the checks above
    assert policy_number and product and holder_name and language
    if not customer_id:
        assert customer_id_key is not None
        customer_id = derive_customer_id(customer_id_key, policy_number, phone, id_number)
    return ValidRow(
        policy_number=policy_number, product=product, starts_on=dates["starts_on"].isoformat(),
        ends_on=dates["ends_on"].isoformat(), holder_name=holder_name,
        customer_id=customer_id,
        holder_phone=phone, holder_id_number=id_number, plate=plate, order_id=order_id,
        partner_id=partner_id, status=status, language=language)


# -- reading -----------------------------------------------------------------------------------------

class FatalImportError(Exception):
    """The import cannot go on: a file cannot be read, or DynamoDB refuses the writes."""


@dataclass(frozen=True)
class BadLine:
    """A line that is not a row at all (a JSONL line that is not a JSON object, a CSV record with
    more values than the header has columns): rejected with ``reason``."""

    reason: str


def check_readable(path: Path) -> None:
    if path.suffix.lower() not in SUFFIXES:
        raise FatalImportError(f"{path}: unknown file type (expected {' or '.join(SUFFIXES)})")
    try:
        with open(path, "rb"):
            pass
    except OSError as error:
        raise FatalImportError(f"{path}: cannot read: {error.strerror or type(error).__name__}") from None
    if path.is_dir():
        raise FatalImportError(f"{path}: cannot read: is a directory")


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | BadLine]]:
    """(line number, fields) for every row of a .csv (header row) or .jsonl file."""
    check_readable(path)
    try:
        if path.suffix.lower() == ".csv":
            with open(path, encoding="utf-8-sig", newline="") as text:
                yield from csv_rows(text)
        else:
            with open(path, "rb") as binary:
                yield from jsonl_rows(binary)
    except MalformedFile as error:
        raise FatalImportError(f"{path}: cannot read: {error}") from None
    except UnicodeDecodeError:
        raise FatalImportError(f"{path}: cannot read: not UTF-8 text") from None
    except OSError as error:
        raise FatalImportError(f"{path}: cannot read: {error.strerror or type(error).__name__}") from None


class MalformedFile(Exception):
    """The file cannot be parsed any further (the message never quotes its content)."""


def csv_rows(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, Any] | BadLine]]:
    """Rows of CSV text with a header row. Blank lines are skipped; column names are matched without
    regard to case or surrounding spaces; a row with fewer values than columns lacks the rest."""
    reader = csv.reader(lines)
    try:
        header = next(reader, None)
        if header is None:
            return
        names = [name.strip().lower() for name in header]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise MalformedFile(f"the header repeats column(s) {', '.join(_field_label(n) for n in repeated)}")
        consumed = reader.line_num
        for values in reader:
            line, consumed = consumed + 1, reader.line_num  # a quoted value may span lines
            if not any(v.strip() for v in values):
                continue
            if len(values) > len(names):
                yield line, BadLine(f"row has {len(values)} values but the header has {len(names)} columns")
                continue
            # a short row leaves its last columns empty
            yield line, {name: value for name, value in zip(names, values, strict=False) if name or value.strip()}
    except csv.Error as error:
        raise MalformedFile(f"malformed CSV near line {reader.line_num} ({error})") from None


def jsonl_rows(lines: Iterable[bytes]) -> Iterator[tuple[int, dict[str, Any] | BadLine]]:
    """Rows of JSON Lines, one object a line; blank lines are skipped. A line that is not a JSON
    object is a BadLine, so the rest of the file is still read."""
    for line, raw in enumerate(lines, start=1):
        if line == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        if not raw.strip():
            continue
        try:
            value = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            yield line, BadLine("line is not UTF-8 text")
            continue
        except json.JSONDecodeError as error:
            yield line, BadLine(f"line is not valid JSON ({error.msg} at column {error.colno})")
            continue
        except RecursionError:
            yield line, BadLine("line is not valid JSON (nested too deeply)")
            continue
        if not isinstance(value, dict):
            yield line, BadLine("line is not a JSON object")
            continue
        yield line, {name.strip().lower(): v for name, v in value.items()}


# -- writing -----------------------------------------------------------------------------------------

def _hash_key(model: type[Model]) -> str:
    name = model._hash_keyname
    if name is None:
        raise TypeError(f"{model.__name__} has no hash key")
    return name


KEY_OF_TABLE = {model.Meta.table_name: _hash_key(model) for model in (PolicyModel, CustomerModel)}


@dataclass
class _Pending:
    item: dict[str, dict]
    lines: list[int]


@dataclass(frozen=True)
class UnwrittenItem:
    table: str
    lines: tuple[int, ...]  # the rows that wanted this item written


class BatchWriter:
    """Puts items with BatchWriteItem, ``batch_size`` a request, in the order given.

    A second put of the same key before its batch is sent replaces the first (BatchWriteItem refuses
    two writes of one key in a request). Items left unprocessed are sent again after an exponential
    backoff with jitter, up to ``max_attempts`` sends in all; those still unprocessed then are kept in
    ``unwritten``. Any other refusal raises FatalImportError."""

    def __init__(self, client: Any, *, batch_size: int = BATCH_SIZE, max_attempts: int = MAX_ATTEMPTS,
                 backoff_base: float = BACKOFF_BASE_SECONDS, backoff_max: float = BACKOFF_MAX_SECONDS,
                 sleep: Callable[[float], None] = time.sleep, jitter: Callable[[], float] = random.random):
        if not 1 <= batch_size <= BATCH_SIZE:
            raise ValueError(f"batch_size must be 1 to {BATCH_SIZE}")
        self._client = client
        self._batch_size = batch_size
        self._max_attempts = max(1, max_attempts)
        self._backoff_base = backoff_base
        self._backoff_max = backoff_max
        self._sleep = sleep
        self._jitter = jitter
        self._pending: dict[tuple[str, str], _Pending] = {}
        self.calls = 0
        self.retries = 0
        self.unwritten: list[UnwrittenItem] = []

    @property
    def max_attempts(self) -> int:
        return self._max_attempts

    def put(self, table: str, item: dict[str, dict], line: int) -> None:
        key = (table, next(iter(item[KEY_OF_TABLE[table]].values())))
        pending = self._pending.get(key)
        if pending is not None:
            pending.item = item
            pending.lines.append(line)
            return
        self._pending[key] = _Pending(item, [line])
        if len(self._pending) >= self._batch_size:
            self.flush()

    def flush(self) -> None:
        batch, self._pending = self._pending, {}
        if batch:
            self._send(batch)

    def _send(self, batch: dict[tuple[str, str], _Pending]) -> None:
        remaining = batch
        for attempt in range(1, self._max_attempts + 1):
            request: dict[str, list] = {}
            for (table, _), pending in remaining.items():
                request.setdefault(table, []).append({"PutRequest": {"Item": pending.item}})
            answer = self._call(request)
            left: dict[tuple[str, str], _Pending] = {}
            for table, requests in (answer.get("UnprocessedItems") or {}).items():
                for unprocessed in requests:
                    item = unprocessed.get("PutRequest", {}).get("Item", {})
                    key = (table, next(iter(item.get(KEY_OF_TABLE.get(table, ""), {}).values()), None))
                    if key in remaining:
                        left[key] = remaining[key]
            remaining = left
            if not remaining:
                return
            if attempt < self._max_attempts:
                self.retries += 1
                self._sleep(self._backoff(attempt))
        self.unwritten += [UnwrittenItem(table, tuple(p.lines)) for (table, _), p in remaining.items()]

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self._backoff_max, self._backoff_base * 2 ** (attempt - 1))
        return ceiling * (0.5 + self._jitter() / 2)

    def _call(self, request: dict[str, list]) -> dict:
        from botocore.exceptions import BotoCoreError, ClientError

        self.calls += 1
        try:
            return self._client.batch_write_item(RequestItems=request)
        except ClientError as error:
            # The code and message only: a refusal's message never needs the items to be understood.
            code = error.response.get("Error", {}).get("Code", "error")
            hint = " (are the tables created? see infra.provision)" if code == "ResourceNotFoundException" else ""
            raise FatalImportError(f"DynamoDB refused BatchWriteItem: {code}{hint}") from None
        except BotoCoreError as error:
            raise FatalImportError(f"cannot reach DynamoDB: {type(error).__name__}: {error}") from None


def dynamodb_client(endpoint_url: str | None = None) -> Any:
    """A DynamoDB client as boto3 configures one from the environment, optionally at ``endpoint_url``."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError

    try:
        return boto3.client("dynamodb", endpoint_url=endpoint_url,
                            config=Config(retries={"mode": "standard", "max_attempts": 5}))
    except BotoCoreError as error:  # no region, bad endpoint URL
        raise FatalImportError(f"cannot set up the DynamoDB client: {error}") from None


# -- the import --------------------------------------------------------------------------------------

POLICIES_TABLE = PolicyModel.Meta.table_name
CUSTOMERS_TABLE = CustomerModel.Meta.table_name


@dataclass
class Counts:
    read: int = 0
    imported: int = 0
    rejected: int = 0
    duplicates: int = 0  # valid rows replaced by a later row with the same policy number
    unwritten: int = 0  # valid rows whose policy or customer item could never be written
    warnings: int = 0
    customers: int = 0  # distinct customers among the imported rows

    def add(self, other: Counts) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class Report:
    """Writes rejections and warnings as they are found; reasons never carry field values."""

    err: TextIO = field(default_factory=lambda: sys.stderr)

    def rejected(self, path: Path, line: int, reasons: Iterable[str]) -> None:
        self.err.write(f"{path}:{line}: rejected: {'; '.join(reasons)}\n")

    def warning(self, path: Path, line: int, message: str) -> None:
        self.err.write(f"{path}:{line}: warning: {message}\n")

    def unwritten(self, path: Path, line: int, message: str) -> None:
        self.err.write(f"{path}:{line}: not written: {message}\n")

    def file_done(self, path: Path, counts: Counts, dry_run: bool) -> None:
        verb = "would be imported" if dry_run else "imported"
        self.err.write(f"{path}: {counts.read} rows read, {counts.imported} {verb}, {counts.rejected} rejected, "
                       f"{counts.duplicates} replaced by a later row, {counts.unwritten} not written\n")


def import_file(path: Path, writer: BatchWriter | None, report: Report,
                products: Collection[str] | None = None, customer_id_key: bytes | None = None) -> Counts:
    """Validates every row of one file and, unless ``writer`` is None (dry run), writes the valid ones.
    Customer ids are derived with ``customer_id_key``, by default the CUSTOMER_ID_KEY setting."""
    products = catalogue().products.keys() if products is None else products
    customer_id_key = customer_id_key if customer_id_key is not None else configured_customer_id_key()
    counts = Counts()
    valid = 0
    last_line_of_policy: dict[str, int] = {}
    customer_seen: dict[str, tuple[int, int]] = {}  # customer id -> (line, fingerprint of its details)
    superseded: set[int] = set()
    unwritten_before = len(writer.unwritten) if writer else 0
    for line, fields in read_rows(path):
        counts.read += 1
        result = ([fields.reason] if isinstance(fields, BadLine)
                  else validate_row(fields, products, customer_id_key=customer_id_key))
        if isinstance(result, list):
            counts.rejected += 1
            report.rejected(path, line, result)
            continue
        valid += 1
        earlier = last_line_of_policy.get(result.policy_number)
        if earlier is not None:
            superseded.add(earlier)
            counts.warnings += 1
            report.warning(path, line, f"same policy number as line {earlier}; this row replaces it (the last "
                                       f"row wins)")
        last_line_of_policy[result.policy_number] = line
        details = hash((result.holder_name, result.holder_phone, result.holder_id_number, result.language))
        seen = customer_seen.get(result.customer_id)
        if seen is not None and seen[1] != details:
            counts.warnings += 1
            report.warning(path, line, f"same customer as line {seen[0]} with other details; this row's "
                                       f"customer details are kept")
        customer_seen[result.customer_id] = (line, details)
        if writer is not None:
            writer.put(POLICIES_TABLE, result.policy_item(), line)
            writer.put(CUSTOMERS_TABLE, result.customer_item(), line)
    unwritten: set[int] = set()
    if writer is not None:
        writer.flush()
        for failed in writer.unwritten[unwritten_before:]:
            unwritten.update(line for line in failed.lines if line not in superseded)
        for line in sorted(unwritten):
            report.unwritten(path, line, f"DynamoDB left this row's items unprocessed after "
                                         f"{writer.max_attempts} attempts")
    counts.duplicates = len(superseded)
    counts.unwritten = len(unwritten)
    counts.imported = valid - counts.duplicates - counts.unwritten
    counts.customers = len(customer_seen)
    return counts


@dataclass
class Outcome:
    counts: Counts
    files: int
    dry_run: bool
    batch_write_calls: int = 0
    retries: int = 0
    fatal: str | None = None

    @property
    def exit_code(self) -> int:
        if self.fatal:
            return EXIT_FATAL
        return EXIT_REJECTED if self.counts.rejected or self.counts.unwritten else EXIT_OK

    def summary(self) -> str:
        c = self.counts
        data = {"summary": "policy_import", "files": self.files, "read": c.read, "imported": c.imported,
                "rejected": c.rejected, "duplicates": c.duplicates, "unwritten": c.unwritten,
                "warnings": c.warnings, "batch_write_calls": self.batch_write_calls, "retries": self.retries,
                "dry_run": self.dry_run, "exit_code": self.exit_code}
        if self.fatal:
            data["fatal"] = self.fatal
        return json.dumps(data)


def import_files(paths: Iterable[Path | str], *, client: Any = None, dry_run: bool = False,
                 endpoint_url: str | None = None, report: Report | None = None,
                 writer: BatchWriter | None = None) -> Outcome:
    """Every file in order (all checked readable first). Writes through ``writer``, else one built on
    ``client``, else on a client from the environment; nothing is written on a dry run."""
    files = [Path(p) for p in paths]
    report = report or Report()
    outcome = Outcome(Counts(), files=len(files), dry_run=dry_run)
    try:
        for path in files:
            check_readable(path)
        if not dry_run and writer is None:
            writer = BatchWriter(client if client is not None else dynamodb_client(endpoint_url))
        for path in files:
            counts = import_file(path, None if dry_run else writer, report)
            report.file_done(path, counts, dry_run)
            outcome.counts.add(counts)
    except FatalImportError as error:
        outcome.fatal = str(error)
        report.err.write(f"fatal: {error}\n")
    if writer is not None and not dry_run:
        outcome.batch_write_calls, outcome.retries = writer.calls, writer.retries
    return outcome


def main(argv: list[str] | None = None, *, client: Any = None, out: TextIO | None = None,
         err: TextIO | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.import_policies",
                                     description="Import policies and their customers from CSV or JSON Lines.")
    parser.add_argument("files", nargs="+", metavar="FILE", help="a .csv (with a header row) or .jsonl file")
    parser.add_argument("--dry-run", action="store_true", help="validate and report; write nothing")
    parser.add_argument("--endpoint-url", help="DynamoDB endpoint (default: boto3's, e.g. AWS_ENDPOINT_URL)")
    args = parser.parse_args(argv)
    out = out or sys.stdout
    outcome = import_files(args.files, client=client, dry_run=args.dry_run, endpoint_url=args.endpoint_url,
                           report=Report(err or sys.stderr))
    out.write(outcome.summary() + "\n")
    out.flush()
    return outcome.exit_code


if __name__ == "__main__":
    sys.exit(main())
