"""Row validation of the policy importer (infra.import_policies.validate_row): pure, no I/O."""
from __future__ import annotations

import functools
import hashlib
import hmac
import io
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infra.import_policies import (
    BadLine,
    ValidRow,
    csv_rows,
    derive_customer_id,
    jsonl_rows,
    normalise_resident_id,
    resident_id_problem,
    validate_row,
)

KEY = b"unit-test-customer-id-key"
validate = functools.partial(validate_row, customer_id_key=KEY)
derive = functools.partial(derive_customer_id, KEY)

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def with_check_digit(first17: str) -> str:
    return first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


VALID_ID = with_check_digit("31011519850312003")  # 310115198503120039
ID_ENDING_IN_X = with_check_digit("11010519491231002")  # 11010519491231002X


def row(**overrides) -> dict:
    base = {"policy_number": "PA2026000123", "product": "food_safety", "starts_on": "2026-01-01",
            "ends_on": "2026-12-31", "holder_name": "张三", "holder_phone": "+8613800138000"}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def problems_of(**overrides) -> list[str]:
    result = validate(row(**overrides))
    assert isinstance(result, list), f"expected problems, got {result}"
    return result


# -- valid rows --------------------------------------------------------------------------------------

def test_a_minimal_row_is_valid_with_defaults():
    # GIVEN a row with only the required fields
    fields = row(holder_phone=None)

    # WHEN it is validated
    result = validate(fields)

    # THEN it is valid, ACTIVE, in zh-CN, with a customer id derived from the policy number
    assert isinstance(result, ValidRow)
    assert (result.status, result.language) == ("ACTIVE", "zh-CN")
    assert result.customer_id == derive("PA2026000123")
    assert result.holder_phone is result.plate is result.order_id is result.partner_id is None


def test_every_field_is_normalised():
    # GIVEN a row written loosely: case, spaces, separators, full-width digits, lower-case X
    fields = {"policy_number": " pa 2026000123 ", "product": " Food_Safety ", "starts_on": "2026-01-01",
              "ends_on": "2026-12-31", "holder_name": "  张三 ", "holder_phone": "138 0013 8000",
              "holder_id_number": ID_ENDING_IN_X.lower(), "plate": "沪a·12345", "order_id": " E123456 ",
              "partner_id": "eleme", "status": "cancelled", "language": "EN", "customer_id": ""}

    # WHEN it is validated
    result = validate(fields)

    # THEN every value is in its stored form
    assert result == ValidRow(policy_number="PA2026000123", product="food_safety", starts_on="2026-01-01",
                              ends_on="2026-12-31", holder_name="张三",
                              customer_id=derive("PA2026000123", "+8613800138000", ID_ENDING_IN_X),
                              holder_phone="+8613800138000", holder_id_number=ID_ENDING_IN_X, plate="沪A12345",
                              order_id="E123456", partner_id="eleme", status="CANCELLED", language="en")


def test_a_motor_row_with_a_new_energy_plate_is_valid():
    result = validate(row(product="motor", plate="沪AD12345"))
    assert isinstance(result, ValidRow) and result.plate == "沪AD12345"


def test_a_given_customer_id_is_kept():
    result = validate(row(customer_id="CUS-PARTNER-42"))
    assert isinstance(result, ValidRow) and result.customer_id == "CUS-PARTNER-42"


def test_one_day_policies_are_valid():
    assert isinstance(validate(row(starts_on="2026-05-01", ends_on="2026-05-01")), ValidRow)


# -- rejections: one reason each ---------------------------------------------------------------------

@pytest.mark.parametrize("overrides, reason", [
    ({"policy_number": None}, "policy_number is required"),
    ({"policy_number": "  "}, "policy_number is required"),
    ({"policy_number": "P#1"}, "policy_number is not a valid policy number (4 to 40 letters, digits, '/' or '-')"),
    ({"product": None}, "product is required"),
    ({"product": "pet_insurance"}, "product is not in the catalogue (one of: card_theft, food_safety, motor, "
                                   "online_shopping_fraud, rental_account_security, shared_bike_accident)"),
    ({"starts_on": None}, "starts_on is required"),
    ({"starts_on": "2026/01/01"}, "starts_on is not an ISO date (YYYY-MM-DD)"),
    ({"starts_on": "20260101"}, "starts_on is not an ISO date (YYYY-MM-DD)"),
    ({"ends_on": "2026-02-30"}, "ends_on is not an ISO date (YYYY-MM-DD)"),
    ({"ends_on": None}, "ends_on is required"),
    ({"starts_on": "2026-12-31", "ends_on": "2026-01-01"}, "starts_on is after ends_on"),
    ({"holder_name": None}, "holder_name is required"),
    ({"holder_name": "x" * 101}, "holder_name is longer than 100 characters"),
    ({"holder_name": "张\n三"}, "holder_name contains control characters"),
    ({"holder_phone": "12345"}, "holder_phone is not a valid phone number"),
    ({"holder_id_number": "31011519850312003"}, "holder_id_number must be 18 characters: 17 digits then a digit or X"),
    ({"holder_id_number": "31011519851332003" + "5"}, "holder_id_number does not contain a valid birth date"),
    ({"holder_id_number": VALID_ID[:-1] + "8"}, "holder_id_number fails its check digit"),
    ({"plate": "沪A1234"}, "plate is not a valid licence plate"),
    ({"product": "motor"}, "plate is required for motor policies"),
    ({"order_id": "E" * 65, "partner_id": "eleme"}, "order_id is longer than 64 characters"),
    ({"order_id": "E1\t23", "partner_id": "eleme"}, "order_id contains control characters"),
    ({"order_id": "E123456"}, "partner_id is required when order_id is given"),
    ({"partner_id": "ele me"}, "partner_id must be 1 to 64 letters, digits, '-', '_' or '.'"),
    ({"status": "LAPSED"}, "status must be one of ACTIVE, CANCELLED, EXPIRED"),
    ({"language": "fr"}, "language must be one of zh-CN, en"),
    ({"customer_id": "CUS 1"}, "customer_id must be 1 to 64 letters, digits, '-', '_' or '.'"),
    ({"holder_phone": 13800138000}, "holder_phone must be text"),
    ({"holder_name": ["张三"]}, "holder_name must be text"),
    ({"colour": "red"}, "unknown field 'colour'"),
    ({"13800138000": "x"}, "unknown field with an unrecognised name"),
])
def test_each_rejection_has_its_own_reason(overrides, reason):
    # GIVEN a valid row with one thing wrong
    # WHEN it is validated
    # THEN that one reason is given
    assert problems_of(**overrides) == [reason]


def test_all_problems_of_a_row_are_reported_together():
    # GIVEN a row with several things wrong
    problems = problems_of(product="motor", holder_phone="000", starts_on="soon")

    # WHEN it is validated THEN each is listed
    assert problems == ["starts_on is not an ISO date (YYYY-MM-DD)", "holder_phone is not a valid phone number",
                        "plate is required for motor policies"]


def test_reasons_never_contain_the_personal_values_of_the_row():
    # GIVEN a row whose personal values are all wrong in some way
    values = {"holder_name": "王小明" * 40, "holder_phone": "+86 999 1234 5678",
              "holder_id_number": VALID_ID[:-1] + "8", "plate": "沪Z9", "13912345678": "x"}

    # WHEN it is validated
    text = " ".join(problems_of(**values))

    # THEN no value (nor its digits) appears in the reasons
    for value in ("王小明", "9991234", "99912345678", VALID_ID[:-1], "沪Z9", "13912345678"):
        assert value not in text


# -- ID number ---------------------------------------------------------------------------------------

@given(area=st.integers(100000, 999999), born=st.dates(), sequence=st.integers(0, 999))
def test_every_well_formed_id_number_with_its_check_digit_is_valid(area, born, sequence):
    # GIVEN 17 digits (area, birth date from 1900 on, sequence) and their ISO 7064 MOD 11-2 check character
    if born.year < 1900:
        born = born.replace(year=1900 + born.year % 100)
    number = with_check_digit(f"{area}{born:%Y%m%d}{sequence:03d}")

    # WHEN it is checked, THEN it passes; with any other check character, it fails
    assert resident_id_problem(number) is None
    for other in "0123456789X":
        if other != number[-1]:
            assert resident_id_problem(number[:-1] + other) == "holder_id_number fails its check digit"


def test_id_numbers_are_normalised_before_checking():
    assert normalise_resident_id(" 11010519491231002x ") == ID_ENDING_IN_X
    assert normalise_resident_id("１１０１０５１９４９１２３１００２ｘ") == ID_ENDING_IN_X
    assert resident_id_problem(ID_ENDING_IN_X) is None


# -- customer id -------------------------------------------------------------------------------------

def test_customer_id_prefers_the_id_number_then_the_phone_then_the_policy_number():
    def expected(basis: str) -> str:
        return "CUS-" + hmac.new(KEY, basis.encode(), hashlib.sha256).hexdigest()[:16]

    assert derive("PA1234", "+8613800138000", VALID_ID) == expected(VALID_ID)
    assert derive("PA1234", "+8613800138000") == expected("+8613800138000")
    assert derive("PA1234") == expected("PA1234")


def test_customer_id_depends_on_the_key_so_it_cannot_be_reversed_by_hashing_every_id_number():
    # GIVEN one person's ID number
    # WHEN ids are derived under two keys
    # THEN they differ, and neither is the plain hash anyone could recompute
    under_one, under_other = derive("PA1234", id_number=VALID_ID), derive_customer_id(b"other", "PA1234",
                                                                                      id_number=VALID_ID)
    assert under_one != under_other
    assert hashlib.sha256(VALID_ID.encode()).hexdigest()[:16] not in (under_one[4:], under_other[4:])


def test_without_a_key_a_row_needing_a_derived_customer_id_is_rejected():
    # GIVEN no CUSTOMER_ID_KEY
    # WHEN a row without a customer id is validated, and one with a customer id
    # THEN the first is rejected with a reason naming the setting; the second needs no key
    assert validate_row(row()) == ["customer_id is missing and no CUSTOMER_ID_KEY is set to derive it"]
    assert isinstance(validate_row(row(customer_id="CUS-PARTNER-42")), ValidRow)


def test_customer_id_is_stable_however_the_phone_is_written():
    # GIVEN two policies of one customer whose phone is written differently on each row
    first = validate(row(policy_number="PA0001", holder_phone="138 0013 8000"))
    second = validate(row(policy_number="PF0002", product="online_shopping_fraud",
                              holder_phone="+86-138-0013-8000"))

    # WHEN they are validated
    # THEN both rows name the same customer, derived from the E.164 phone, and the same on every run
    assert first.customer_id == second.customer_id == derive("PA0001", "+8613800138000")
    assert first.customer_id == "CUS-" + hmac.new(KEY, b"+8613800138000", hashlib.sha256).hexdigest()[:16]


def test_customer_id_from_an_id_number_does_not_depend_on_its_case():
    lower = validate(row(holder_id_number=ID_ENDING_IN_X.lower()))
    upper = validate(row(holder_id_number=ID_ENDING_IN_X, holder_phone="+8613900139000"))
    assert lower.customer_id == upper.customer_id


# -- items -------------------------------------------------------------------------------------------

def test_items_are_the_models_storage_shape_without_absent_attributes():
    # GIVEN a valid row without plate, order or partner
    valid = validate(row(holder_id_number=VALID_ID))

    # WHEN it is turned into items
    policy, customer = valid.policy_item(), valid.customer_item()

    # THEN they hold the stored forms, and nothing for absent optional fields (GSI keys stay sparse)
    assert policy == {"policy_number": {"S": "PA2026000123"}, "product": {"S": "food_safety"},
                      "customer_id": {"S": valid.customer_id}, "holder_name": {"S": "张三"},
                      "holder_phone": {"S": "+8613800138000"}, "starts_on": {"S": "2026-01-01"},
                      "ends_on": {"S": "2026-12-31"}, "status": {"S": "ACTIVE"}, "holder_language": {"S": "zh-CN"}}
    assert customer == {"customer_id": {"S": valid.customer_id}, "name": {"S": "张三"},
                        "phone": {"S": "+8613800138000"}, "id_number": {"S": VALID_ID},
                        "language": {"S": "zh-CN"}}


# -- reading -----------------------------------------------------------------------------------------

def test_csv_rows_carry_their_line_numbers_and_skip_blank_lines():
    # GIVEN CSV text with a header, a blank line and a value spanning two lines
    text = io.StringIO("Policy_Number , product\nPA0001,food_safety\n\nPA0002,\"multi\nline\"\nPA0003,motor,extra\n",
                       newline="")

    # WHEN it is read
    rows = list(csv_rows(text))

    # THEN each row has the line it starts on; header names are matched loosely
    assert rows == [(2, {"policy_number": "PA0001", "product": "food_safety"}),
                    (4, {"policy_number": "PA0002", "product": "multi\nline"}),
                    (6, BadLine("row has 3 values but the header has 2 columns"))]


def test_a_csv_value_under_a_column_without_a_name_is_an_unknown_field():
    # GIVEN a header with an empty last column name and a row with a value there
    rows = list(csv_rows(io.StringIO("policy_number,\nPA0001,surprise\nPA0002,\n")))

    # WHEN the rows are validated
    # THEN the value is not silently dropped
    assert rows[0][1] == {"policy_number": "PA0001", "": "surprise"}
    assert "unknown field without a name" in validate(rows[0][1])
    assert rows[1][1] == {"policy_number": "PA0002"}


def test_a_jsonl_line_that_is_not_a_json_object_is_a_bad_line():
    # GIVEN JSON Lines with an object, an array, a number, broken JSON, a blank line, bad UTF-8
    lines = [json.dumps({"policy_number": "PA0001"}), "[1, 2]", "42", "{\"policy_number\": ", "",
             json.dumps({"Product": "motor"}, ensure_ascii=False)]
    data = ("\n".join(lines) + "\n").encode("utf-8") + b"\xff\xfe\n"

    # WHEN it is read
    rows = list(jsonl_rows(io.BytesIO(data)))

    # THEN the object rows are dicts and the others bad lines, each with its line number
    assert [line for line, _ in rows] == [1, 2, 3, 4, 6, 7]
    assert rows[0][1] == {"policy_number": "PA0001"}
    assert rows[1][1] == rows[2][1] == BadLine("line is not a JSON object")
    assert isinstance(rows[3][1], BadLine) and rows[3][1].reason.startswith("line is not valid JSON")
    assert rows[4][1] == {"product": "motor"}
    assert rows[5][1] == BadLine("line is not UTF-8 text")
