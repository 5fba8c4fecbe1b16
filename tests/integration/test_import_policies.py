"""The policy importer (python -m infra.import_policies) against moto: rows in, items in the tables,
a report that names lines and reasons but never a person's data. Counts, never timings."""
from __future__ import annotations

import io
import json
from pathlib import Path
from types import SimpleNamespace

import boto3
import pytest

from chalicelib.adapters.models import CustomerModel, PolicyModel
from chalicelib.adapters.resources import Tables
from devkit.aws_calls import count_aws_calls
from infra import import_policies
from infra.import_policies import BatchWriter, Report, configured_customer_id_key, derive_customer_id, import_files
from infra.seed import DEMO_POLICIES_FILE

HEADER = ("policy_number,product,starts_on,ends_on,holder_name,holder_phone,holder_id_number,plate,order_id,"
          "partner_id,status,language,customer_id")

# Made-up people; the ID numbers carry valid check digits unless noted.
CSV_ROWS = [
    "PX2026000001,food_safety,2026-01-01,2026-12-31,陈一,133 1234 5601,,,X-ORDER-1,eleme,,,",
    "PX2026000002,food_safety,2026-01-01,2026-12-31,林二,+86 555 0000 1111,,,,,,,",            # bad phone
    "px2026000003,motor,2026-02-01,2027-01-31,黄三,+8613312345603,310115198503120039,沪B·54321,,motor-direct,,en,",
    "PX2026000004,motor,2026-01-01,2026-12-31,吴四,+8613312345604,,,,motor-direct,,,",               # no plate
    "PX2026000005,online_shopping_fraud,2026-01-01,2026-12-31,陈一,+86-133-1234-5601,,,,,,,",
    "PX2026000006,card_theft,2026-12-31,2026-01-01,郑六,+8613312345606,,,,,,,",                    # dates swapped
]
JSONL_ROWS = [
    {"policy_number": "PY2026000001", "product": "shared_bike_accident", "starts_on": "2026-01-01",
     "ends_on": "2026-12-31", "holder_name": "冯七", "holder_phone": "+8613312345701", "partner_id": "hellobike"},
    "this line is not JSON at all",
    [1, 2, 3],
    {"policy_number": "PY2026000004", "product": "card_theft", "starts_on": "2026-01-01", "ends_on": "2026-12-31",
     "holder_name": "褚八", "holder_id_number": "310104199007010021"},                                # bad check digit
    {"policy_number": "PY2026000005", "product": "rental_account_security", "starts_on": "2026-03-01",
     "ends_on": "2026-09-30", "holder_name": "卫九", "holder_phone": "13312345705", "status": "cancelled"},
    None,  # a blank line
    {"policy_number": "PY2026000007", "product": "motor", "starts_on": "2026-01-01", "ends_on": "2026-12-31",
     "holder_name": "蒋十", "plate": "沪ad 12399", "holder_phone": "+8613312345707"},
]
PERSONAL = ["陈一", "林二", "黄三", "吴四", "郑六", "冯七", "褚八", "卫九", "蒋十",
            "13312345601", "55500001111", "13312345603", "13312345604", "13312345606", "13312345701",
            "13312345705", "13312345707", "310115198503120039", "310104199007010021", "沪B", "54321", "12399"]
GOOD_POLICIES = {"PX2026000001", "PX2026000003", "PX2026000005", "PY2026000001", "PY2026000005", "PY2026000007"}


def write_files(folder: Path) -> tuple[Path, Path]:
    csv_path = folder / "policies.csv"
    csv_path.write_text("\n".join([HEADER, *CSV_ROWS]) + "\n", encoding="utf-8")
    jsonl_path = folder / "policies.jsonl"
    lines = ["" if r is None else r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in JSONL_ROWS]
    jsonl_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return csv_path, jsonl_path


def run(*args: str, client=None) -> tuple[int, str, str, dict]:
    out, err = io.StringIO(), io.StringIO()
    code = import_policies.main(list(args), client=client, out=out, err=err)
    return code, out.getvalue(), err.getvalue(), json.loads(out.getvalue().splitlines()[-1])


def table_contents() -> dict[str, list[dict]]:
    dynamodb = boto3.client("dynamodb")
    contents = {}
    for table, key in ((Tables.POLICIES, "policy_number"), (Tables.CUSTOMERS, "customer_id")):
        items = dynamodb.scan(TableName=table, ConsistentRead=True)["Items"]
        contents[table] = sorted(items, key=lambda item: item[key]["S"])
    return contents


class WithheldWrites:
    """Makes moto behave like throttled DynamoDB: the put requests ``withhold`` picks are taken out of
    a BatchWriteItem request before it is sent (botocore ``provide-client-params``) and handed back
    as UnprocessedItems in its answer (``after-call``).
    A request left with nothing to send is answered without reaching moto (``before-call``), as
    DynamoDB refuses an empty request."""

    def __init__(self, client, withhold):
        self.withhold = withhold
        self.withheld = 0
        self.sizes: list[int] = []  # put requests per BatchWriteItem that reached moto
        events = client.meta.events
        events.register("provide-client-params.dynamodb.BatchWriteItem", self._take_out)
        # Last of all before-call handlers, so that counting hooks (on "before-call") still see the call.
        events.register_last("before-call", self._answer_if_empty)
        events.register("after-call.dynamodb.BatchWriteItem", self._hand_back)

    def _take_out(self, params, context, **_):
        kept: dict[str, list] = {}
        held: dict[str, list] = {}
        for table, requests in params["RequestItems"].items():
            for request in requests:
                hold = self.withhold(table, request["PutRequest"]["Item"])
                (held if hold else kept).setdefault(table, []).append(request)
        context["withheld"] = held
        context["nothing_to_send"] = not kept
        self.withheld += sum(len(r) for r in held.values())
        if not kept:
            return None  # sent as it is only as far as before-call
        self.sizes.append(sum(len(r) for r in kept.values()))
        return {**params, "RequestItems": kept}

    def _answer_if_empty(self, model, context, **_):
        if model.name == "BatchWriteItem" and context.get("nothing_to_send"):
            return SimpleNamespace(status_code=200, headers={}), {"UnprocessedItems": {}}
        return None

    def _hand_back(self, parsed, context, **_):
        for table, requests in context.get("withheld", {}).items():
            parsed.setdefault("UnprocessedItems", {}).setdefault(table, []).extend(requests)


# -- the report and the exit code ------------------------------------------------------------------

def test_good_rows_are_imported_and_bad_rows_reported_with_line_and_reason(aws, tmp_path):
    # GIVEN a CSV and a JSON Lines file, each with good and bad rows
    csv_path, jsonl_path = write_files(tmp_path)

    # WHEN both are imported
    code, out, err, summary = run(str(csv_path), str(jsonl_path))

    # THEN the bad rows are reported with their file, line and reason
    rejected = [line for line in err.splitlines() if ": rejected: " in line]
    assert rejected == [
        f"{csv_path}:3: rejected: holder_phone is not a valid phone number",
        f"{csv_path}:5: rejected: plate is required for motor policies",
        f"{csv_path}:7: rejected: starts_on is after ends_on",
        f"{jsonl_path}:2: rejected: line is not valid JSON (Expecting value at column 1)",
        f"{jsonl_path}:3: rejected: line is not a JSON object",
        f"{jsonl_path}:4: rejected: holder_id_number fails its check digit",
    ]
    # AND the summary line counts them (one BatchWriteItem a file), and the exit code says some were rejected
    assert summary == {"summary": "policy_import", "files": 2, "read": 12, "imported": 6, "rejected": 6,
                       "duplicates": 0, "unwritten": 0, "warnings": 0, "batch_write_calls": 2, "retries": 0,
                       "dry_run": False, "exit_code": 2}
    assert code == 2
    # AND the good rows are in the tables, normalised
    stored = {p.policy_number: p for p in PolicyModel.scan() if p.policy_number.startswith(("PX", "PY"))}
    assert set(stored) == GOOD_POLICIES
    motor = stored["PX2026000003"]
    assert (motor.plate, motor.holder_phone, motor.partner_id) == ("沪B54321", "+8613312345603", "motor-direct")
    assert stored["PY2026000007"].plate == "沪AD12399"
    assert stored["PY2026000005"].status == "CANCELLED"
    # AND the customer of the two policies on one phone is one customer, keyed as derived
    key = configured_customer_id_key()
    one_customer = derive_customer_id(key, "PX2026000001", "+8613312345601")
    assert stored["PX2026000001"].customer_id == stored["PX2026000005"].customer_id == one_customer
    assert CustomerModel.get(one_customer).phone == "+8613312345601"
    holder = CustomerModel.get(motor.customer_id)
    assert (holder.id_number, holder.language, holder.name) == ("310115198503120039", "en", "黄三")
    assert motor.customer_id == derive_customer_id(key, "PX2026000003", id_number="310115198503120039")


def test_the_report_never_contains_the_personal_data_of_the_file(aws, tmp_path):
    # GIVEN files with names, phones, ID numbers and plates, in good rows and bad
    paths = write_files(tmp_path)
    # AND a repeated policy number, so that warnings are written too
    with paths[0].open("a", encoding="utf-8") as f:
        f.write(CSV_ROWS[0].replace("陈一", "陈一一") + "\n")

    # WHEN they are imported
    code, out, err, _ = run(*map(str, paths))

    # THEN neither the report nor the summary contains any of those values
    assert code == 2 and "warning" in err
    report = out + err
    for value in PERSONAL + ["陈一一", "+86"]:
        assert value not in report, value


def test_a_repeated_policy_number_in_a_file_keeps_the_last_row_and_warns(aws, tmp_path):
    # GIVEN a file that names one policy twice, with different holders' details
    path = tmp_path / "dup.csv"
    path.write_text("\n".join([HEADER,
                               "PZ0001,food_safety,2026-01-01,2026-12-31,甲,+8613312340001,,,,,,,",
                               "PZ0002,food_safety,2026-01-01,2026-12-31,乙,+8613312340002,,,,,,,",
                               "pz0001,card_theft,2026-01-01,2026-06-30,丙,+8613312340003,,,,,,,"]) + "\n",
                    encoding="utf-8")

    # WHEN it is imported
    code, _, err, summary = run(str(path))

    # THEN the last row wins, the report says so, and the import still counts as complete
    assert code == 0
    assert f"{path}:4: warning: same policy number as line 2; this row replaces it (the last row wins)" in err
    assert (summary["imported"], summary["duplicates"], summary["rejected"]) == (2, 1, 0)
    policy = PolicyModel.get("PZ0001")
    assert (policy.product, policy.ends_on, policy.holder_phone) == ("card_theft", "2026-06-30", "+8613312340003")


# -- re-running ------------------------------------------------------------------------------------

def test_importing_twice_gives_the_same_tables_and_counts(aws, tmp_path):
    # GIVEN the files imported once
    paths = [str(p) for p in write_files(tmp_path)]
    first_code, _, first_err, first = run(*paths)
    after_first = table_contents()

    # WHEN they are imported again
    second_code, _, second_err, second = run(*paths)

    # THEN the tables hold exactly the same items (no duplicates) and the report is the same
    assert table_contents() == after_first
    assert (second_code, second, second_err) == (first_code, first, first_err)


def test_a_dry_run_validates_and_reports_but_writes_nothing(aws, tmp_path):
    # GIVEN the files
    paths = [str(p) for p in write_files(tmp_path)]
    before = table_contents()

    # WHEN they are imported with --dry-run
    code, _, err, summary = run(*paths, "--dry-run")

    # THEN the same rows are reported, nothing is written and no call is made
    assert code == 2 and summary["rejected"] == 6 and summary["imported"] == 6 and summary["dry_run"] is True
    assert err.count(": rejected: ") == 6 and summary["batch_write_calls"] == 0
    assert table_contents() == before


# -- BatchWriteItem: batches and retries -----------------------------------------------------------

def many_rows(folder: Path, n: int) -> Path:
    path = folder / "many.csv"
    rows = [f"PM{i:08d},food_safety,2026-01-01,2026-12-31,客户{i},+86133{i:08d},,,,,,," for i in range(n)]
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def test_more_than_25_items_are_split_into_batches_of_at_most_25(aws, tmp_path):
    # GIVEN 30 rows of 30 customers: 60 items
    path = many_rows(tmp_path, 30)
    client = boto3.client("dynamodb")
    sizes = WithheldWrites(client, withhold=lambda *_: False).sizes

    # WHEN they are imported
    with count_aws_calls(client) as calls:
        code, _, _, summary = run(str(path), client=client)

    # THEN they go in three BatchWriteItem calls of 25, 25 and 10 items, and all are stored
    assert code == 0 and summary["imported"] == 30
    assert calls == {"BatchWriteItem": 3} and summary["batch_write_calls"] == 3
    assert sizes == [25, 25, 10]
    assert sum(1 for p in PolicyModel.scan() if p.policy_number.startswith("PM0")) == 30


def test_unprocessed_items_are_sent_again_until_written(aws, tmp_path):
    # GIVEN 30 rows (60 items: batches of 25, 25, 10)
    path = many_rows(tmp_path, 30)
    client = boto3.client("dynamodb")
    # AND a DynamoDB that leaves 5 policies of the first batch and 3 of the second unprocessed once
    once = {f"PM{i:08d}" for i in (0, 1, 2, 3, 4, 15, 16, 17)}

    def first_time(table, item):
        number = item.get("policy_number", {}).get("S")
        if number in once:
            once.discard(number)
            return True
        return False

    # WHEN the rows are imported
    with count_aws_calls(client) as calls:
        withheld = WithheldWrites(client, withhold=first_time)
        code, _, err, summary = run(str(path), client=client)

    # THEN each batch's unprocessed items were sent again, and every row is stored
    assert withheld.withheld == 8 and withheld.sizes == [20, 5, 22, 3, 10]
    assert calls == {"BatchWriteItem": 5} and summary["retries"] == 2
    assert code == 0 and summary["imported"] == 30 and summary["unwritten"] == 0
    assert ": not written:" not in err
    assert sum(1 for p in PolicyModel.scan() if p.policy_number.startswith("PM0")) == 30
    assert sum(1 for c in CustomerModel.scan() if c.name.startswith("客户")) == 30


def test_items_never_processed_are_reported_after_a_bounded_number_of_attempts(aws, tmp_path):
    # GIVEN a DynamoDB that never processes one policy's item
    path = many_rows(tmp_path, 3)
    client = boto3.client("dynamodb")
    delays: list[float] = []
    writer = BatchWriter(client, max_attempts=5, sleep=delays.append, jitter=lambda: 1.0)

    # WHEN the rows are imported
    with count_aws_calls(client) as calls:
        WithheldWrites(client, withhold=lambda table, item: item.get("policy_number") == {"S": "PM00000001"})
        report = io.StringIO()
        outcome = import_files([path], writer=writer, report=Report(report))

    # THEN it was tried 5 times, waiting twice as long each time, then reported by line; the others are stored
    assert calls == {"BatchWriteItem": 5}
    assert delays == [0.05, 0.1, 0.2, 0.4]
    assert f"{path}:3: not written: DynamoDB left this row's items unprocessed after 5 attempts" in report.getvalue()
    assert (outcome.counts.imported, outcome.counts.unwritten, outcome.exit_code) == (2, 1, 2)
    assert {p.policy_number for p in PolicyModel.scan() if p.policy_number.startswith("PM0")} == {
        "PM00000000", "PM00000002"}


# -- fatal errors ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["missing.csv", "policies.xlsx"])
def test_a_file_that_cannot_be_read_is_fatal_and_nothing_is_written(aws, tmp_path, name):
    # GIVEN a readable file and one that is missing or of an unknown type
    good = many_rows(tmp_path, 2)
    other = tmp_path / name
    if name.endswith(".xlsx"):
        other.write_bytes(b"PK\x03\x04")

    # WHEN both are imported
    code, _, err, summary = run(str(good), str(other))

    # THEN the import stops with exit code 1 before writing anything
    assert code == 1 and summary["exit_code"] == 1 and "fatal" in summary
    assert f"fatal: {other}: " in err
    assert not [p for p in PolicyModel.scan() if p.policy_number.startswith("PM0")]


def test_missing_tables_are_a_fatal_error(aws, tmp_path):
    # GIVEN no policies table
    boto3.client("dynamodb").delete_table(TableName=Tables.POLICIES)

    # WHEN a file is imported
    code, _, err, _ = run(str(many_rows(tmp_path, 2)))

    # THEN the import says why and exits 1
    assert code == 1
    assert "fatal: DynamoDB refused BatchWriteItem: ResourceNotFoundException" in err


# -- the demo data -----------------------------------------------------------------------------------

def test_the_demo_policies_are_seeded_through_the_importer(aws):
    # GIVEN the seeded tables (the aws fixture seeds)
    # WHEN the demo file is imported again
    code, _, err, summary = run(str(DEMO_POLICIES_FILE))

    # THEN every row was valid and nothing changed: 8 policies, 7 customers
    assert (code, err.count(": rejected:"), summary["imported"]) == (0, 0, 8)
    numbers = {p.policy_number for p in PolicyModel.scan()}
    assert {"PA2026000123", "PB2026000456", "PM2026000789", "PM2026000790"} <= numbers
    assert len(list(CustomerModel.scan())) == 7
    # AND the customer with two policies on one phone finds both by phone
    both = list(PolicyModel.by_phone.query("+8613600136000"))
    assert {p.product for p in both} == {"food_safety", "online_shopping_fraud"}
    assert len({p.customer_id for p in both}) == 1
    assert [p.policy_number for p in PolicyModel.by_plate.query("沪AD12345")] == ["PM2026000790"]
