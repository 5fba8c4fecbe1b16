"""Claim ids (chalicelib/domain/ids.py): CLM- + 26 Crockford base32 characters, time-sortable, unique."""
from __future__ import annotations

import pytest

from chalicelib.domain.ids import PREFIX, is_claim_id, new_claim_id

CROCKFORD = set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")


def test_claim_id_is_prefixed_and_26_crockford_characters_long():
    # GIVEN the id generator
    # WHEN a new claim id is made
    claim_id = new_claim_id()

    # THEN it is CLM- and 26 characters of the Crockford alphabet
    assert claim_id.startswith(PREFIX)
    body = claim_id[len(PREFIX):]
    assert len(body) == 26
    assert set(body) <= CROCKFORD


def test_claim_ids_sort_by_creation_time():
    # GIVEN ids made at increasing milliseconds, far apart and adjacent
    times = [0, 1, 2, 999, 1_000, 1_700_000_000_000, 1_795_619_141_545, 1_795_619_141_546, 2**48 - 1]

    # WHEN they are sorted as text
    ids = [new_claim_id(now_ms=ms) for ms in times]

    # THEN text order is time order
    assert sorted(ids) == ids


def test_claim_ids_made_in_the_same_millisecond_differ():
    # GIVEN many ids made in one millisecond
    ids = {new_claim_id(now_ms=1_795_619_141_545) for _ in range(10_000)}

    # WHEN they are counted
    # THEN none repeats
    assert len(ids) == 10_000


def test_time_prefix_encodes_the_millisecond():
    # GIVEN the same millisecond twice
    # WHEN two ids are made
    first, second = new_claim_id(now_ms=1_795_619_141_545), new_claim_id(now_ms=1_795_619_141_545)

    # THEN they share the 10-character time prefix and differ after it
    assert first[:len(PREFIX) + 10] == second[:len(PREFIX) + 10]
    assert first[len(PREFIX) + 10:] != second[len(PREFIX) + 10:]


def test_new_claim_id_is_recognised():
    # GIVEN a new claim id
    # WHEN it is checked
    # THEN it is recognised as one
    assert is_claim_id(new_claim_id())


@pytest.mark.parametrize("value", [
    "",
    "CLM-",
    "CLM-01M89KMC8SKZE7MME4AQ1K4GK",      # 25 characters
    "CLM-01M89KMC8SKZE7MME4AQ1K4GK33",    # 27 characters
    "clm-01M89KMC8SKZE7MME4AQ1K4GK3",     # lower-case prefix
    "CLM-01m89kmc8skze7mme4aq1k4gk3",     # lower-case body
    "CLM-01M89KMC8SKZE7MME4AQ1K4GKU",     # U is not in the alphabet
    "CLM-01M89KMC8SKZE7MME4AQ1K4GKI",     # nor I
    "CLM-01M89KMC8SKZE7MME4AQ1K4GKL",     # nor L
    "CLM-01M89KMC8SKZE7MME4AQ1K4GKO",     # nor O
    "POL-01M89KMC8SKZE7MME4AQ1K4GK3",
    "CLM-01M89KMC8SKZE7MME4AQ1K4G/3",
], ids=repr)
def test_anything_else_is_not_a_claim_id(value):
    # GIVEN a value that is not a claim id
    # WHEN it is checked
    # THEN it is refused
    assert not is_claim_id(value)
