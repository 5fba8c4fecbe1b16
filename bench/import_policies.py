"""Policy import benchmark: rows per second of the importer against raw BatchWriteItem, same moto.

Run ``python -m bench.import_policies [--rows N | --quick]`` (default 25,000 rows, about 2 minutes;
100,000 rows take about 8). It starts its own moto server (the
helpers of ``bench.intake``), creates the tables, writes N valid policy rows to a temporary CSV, then
measures in one run against the same server:

  (a) the importer end to end: ``infra.import_policies.import_files`` reading, validating and writing
      the CSV (the ``python -m infra.import_policies`` path, in process);
  (b) raw boto3 ``batch_write_item`` of the same items, already serialised, 25 per request.

Both start from empty tables. It prints figures and never asserts on time; it fails only when an
import gives a wrong answer (a row rejected or not written), because then the figures mean nothing.
"""
from __future__ import annotations

import argparse
import io
import os
import resource
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from bench.harness import REGION, begin

# 100,000 rows take about 8 minutes here (2 CPUs; moto writes ~770 rows/s, the importer ~620 rows/s,
# measured with --rows 100000), so the default is what completes in about 2 minutes.
DEFAULT_ROWS = 25_000
QUICK_ROWS = 5_000
PRODUCTS = ("food_safety", "shared_bike_accident", "online_shopping_fraud", "card_theft",
            "rental_account_security", "motor")
PLATE_CHARS = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I or O on plates
OFFICES = "ABCDEFGHJKLMNPQRSTUVWXYZ"
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
HEADER = ("policy_number,product,starts_on,ends_on,holder_name,holder_phone,holder_id_number,plate,order_id,"
          "partner_id,status,language,customer_id\n")


def _plate(i: int) -> str:
    tail = ""
    for _ in range(5):
        i, digit = divmod(i, len(PLATE_CHARS))
        tail = PLATE_CHARS[digit] + tail
    return f"沪{OFFICES[i % len(OFFICES)]}·{tail}"


def _id_number(i: int) -> str:
    """A resident ID number of its own for every i below a million: area, birth date, sequence."""
    born = date(1950, 1, 1) + timedelta(days=i % 20000)
    first17 = f"{310000 + i // 1000 % 10000}{born:%Y%m%d}{i % 1000:03d}"
    return first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def write_rows(path: Path, n: int) -> None:
    """N valid rows, one customer each: every product, a fifth with ID numbers, motor rows with plates
    written with a middle dot, phones written in several ways (so normalising does some work)."""
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(HEADER)
        for i in range(n):
            product = PRODUCTS[i % len(PRODUCTS)]
            national = f"13{i % 10}{i:08d}"
            phone = (f"+86{national}", f"{national[:3]} {national[3:7]} {national[7:]}", f"86{national}")[i % 3]
            id_number = _id_number(i) if i % 5 == 0 else ""
            plate = _plate(i) if product == "motor" else ""
            order_id = f"ORD{i:09d}" if product == "food_safety" else ""
            f.write(f"BP{i:010d},{product},2026-01-01,2026-12-31,客户{i},{phone},{id_number},{plate},{order_id},"
                    f"bench,ACTIVE,zh-CN,\n")


def serialised_items(path: Path) -> list[tuple[str, dict]]:
    """The (table, item) pairs the importer writes for the file, in its order."""
    from infra.import_policies import (
        CUSTOMERS_TABLE,
        POLICIES_TABLE,
        configured_customer_id_key,
        read_rows,
        validate_row,
    )

    items = []
    key = configured_customer_id_key()
    for _, fields in read_rows(path):
        row = validate_row(fields, customer_id_key=key)
        items.append((POLICIES_TABLE, row.policy_item()))
        items.append((CUSTOMERS_TABLE, row.customer_item()))
    return items


def raw_write(client, items: list[tuple[str, dict]]) -> int:
    """BatchWriteItem of 25 items a call, resending any UnprocessedItems; returns the calls made."""
    calls = 0
    for start in range(0, len(items), 25):
        request: dict[str, list] = {}
        for table, item in items[start:start + 25]:
            request.setdefault(table, []).append({"PutRequest": {"Item": item}})
        while request:
            calls += 1
            request = client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
    return calls


def count_items(client, table: str) -> int:
    pages = client.get_paginator("scan").paginate(TableName=table, Select="COUNT")
    return sum(page["Count"] for page in pages)


def fresh_tables(client) -> None:
    from chalicelib.adapters.models import CustomerModel, PolicyModel
    from infra.provision import create_tables

    for model in (PolicyModel, CustomerModel):
        if model.exists():
            client.delete_table(TableName=model.Meta.table_name)
            client.get_waiter("table_not_exists").wait(TableName=model.Meta.table_name)
    create_tables()


def mib(kib: int) -> float:
    return kib / 1024  # ru_maxrss is in KiB on Linux


def progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def run(rows: int, out) -> None:
    import boto3
    from botocore.config import Config

    from infra.import_policies import CUSTOMERS_TABLE, POLICIES_TABLE, Report, dynamodb_client, import_files

    p = out.write
    admin = boto3.client("dynamodb", region_name=REGION, config=Config(retries={"mode": "standard"}))
    fresh_tables(admin)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "policies.csv"
        t0 = time.perf_counter()
        write_rows(path, rows)
        generate_s = time.perf_counter() - t0
        progress(f"{rows} rows written to a CSV ({path.stat().st_size / 2**20:.1f} MiB) in {generate_s:.1f} s")

        # (a) the importer, end to end, on a client built as the command line builds it
        client = dynamodb_client()
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        report = io.StringIO()
        progress("importer: reading, validating, writing ...")
        c0, t0 = time.process_time(), time.perf_counter()
        outcome = import_files([path], client=client, report=Report(report))
        importer_s, importer_cpu = time.perf_counter() - t0, time.process_time() - c0
        rss_importer = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        if outcome.exit_code != 0 or outcome.counts.imported != rows:
            raise RuntimeError(f"the import went wrong: {outcome.summary()}\n{report.getvalue()[-2000:]}")
        stored = (count_items(admin, POLICIES_TABLE), count_items(admin, CUSTOMERS_TABLE))
        if stored != (rows, rows):
            raise RuntimeError(f"expected {rows} policies and customers, found {stored}")

        # (b) raw BatchWriteItem of the same items, serialised beforehand (not timed), fresh tables
        progress("raw batch_write_item: serialising the same items (untimed) ...")
        items = serialised_items(path)
        fresh_tables(admin)
        raw_client = boto3.client("dynamodb", region_name=REGION, config=Config(retries={"mode": "standard"}))
        progress("raw batch_write_item: writing ...")
        c0, t0 = time.process_time(), time.perf_counter()
        raw_calls = raw_write(raw_client, items)
        raw_s, raw_cpu = time.perf_counter() - t0, time.process_time() - c0
        stored = (count_items(admin, POLICIES_TABLE), count_items(admin, CUSTOMERS_TABLE))
        if stored != (rows, rows):
            raise RuntimeError(f"raw write: expected {rows} policies and customers, found {stored}")

    importer_rate, raw_rate = rows / importer_s, rows / raw_s
    p(f"Policy import benchmark: {rows} rows (2 items each: policy + customer), moto server on 127.0.0.1, "
      f"region {REGION}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs\n\n")
    p(f"  {'path':<44}{'seconds':>9}{'rows/s':>10}{'BWI calls':>11}{'per 1000 rows':>15}{'client cpu s':>14}\n")
    p(f"  {'(a) importer: parse + validate + write':<44}{importer_s:>9.1f}{importer_rate:>10.0f}"
      f"{outcome.batch_write_calls:>11}{outcome.batch_write_calls / rows * 1000:>15.1f}{importer_cpu:>14.1f}\n")
    p(f"  {'(b) raw boto3 batch_write_item, same items':<44}{raw_s:>9.1f}{raw_rate:>10.0f}"
      f"{raw_calls:>11}{raw_calls / rows * 1000:>15.1f}{raw_cpu:>14.1f}\n\n")
    p(f"  importer rate / raw rate: {importer_rate / raw_rate:.2f}  (the importer takes "
      f"{importer_s / raw_s:.2f}x the raw write's time)\n")
    p(f"  importer client CPU per 1000 rows: {importer_cpu / rows * 1000 * 1e3:.0f} ms "
      f"(raw write: {raw_cpu / rows * 1000 * 1e3:.0f} ms); the rest of the wall time is waiting for moto\n")
    p(f"  retries of unprocessed items: importer {outcome.retries}\n")
    p(f"  generating the CSV (not measured above): {generate_s:.1f} s\n\n")
    p(f"Peak memory (ru_maxrss): benchmark process {mib(rss_before):.1f} MiB before the import, "
      f"{mib(rss_importer):.1f} MiB after it (the raw phase then holds every item in memory: "
      f"{mib(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss):.1f} MiB)")
    out.flush()


def _args(argv: list[str] | None):
    parser = argparse.ArgumentParser(prog="python -m bench.import_policies", description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, help=f"rows to import (default {DEFAULT_ROWS})")
    parser.add_argument("--quick", action="store_true", help=f"a smoke run of {QUICK_ROWS} rows")
    args = parser.parse_args(argv)
    args.rows = args.rows or (QUICK_ROWS if args.quick else DEFAULT_ROWS)
    if args.rows < 1:
        parser.error("--rows must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    started, moto = begin()
    out = sys.stdout
    try:
        moto.start()
        run(args.rows, out)
    finally:
        moto.stop()
    if moto.peak_rss_kib:
        out.write(f", moto server {mib(moto.peak_rss_kib):.1f} MiB")
    out.write(f"\nWall time of the whole run: {time.monotonic() - started:.1f} s\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
