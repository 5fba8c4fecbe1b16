"""PartnerAuthenticator with a fake directory: keys matched by SHA-256, lookups cached per container."""
from __future__ import annotations

import hashlib

import pytest

from chalicelib.domain.errors import Unauthenticated
from chalicelib.services.auth import MAX_KEY_LENGTH, PartnerAuthenticator, hash_api_key
from chalicelib.services.ports import PartnerIdentity
from tests.fakes import FakePartnerDirectory, MonotonicClock

KEY = "demo-key-eleme-7f3a9c"


@pytest.fixture
def directory() -> FakePartnerDirectory:
    return FakePartnerDirectory({hash_api_key(KEY): "eleme"})


@pytest.fixture
def clock() -> MonotonicClock:
    return MonotonicClock()


@pytest.fixture
def auth(directory, clock) -> PartnerAuthenticator:
    return PartnerAuthenticator(directory, ttl_seconds=60, clock=clock)


def test_key_is_hashed_with_sha256():
    # GIVEN a key
    # WHEN it is hashed
    # THEN it is the hex SHA-256 of its UTF-8 bytes (what the api-keys table stores)
    assert hash_api_key(KEY) == hashlib.sha256(KEY.encode("utf-8")).hexdigest()


def test_known_key_authenticates_its_partner(auth):
    # GIVEN a key the directory knows
    # WHEN it is presented
    identity = auth.authenticate(KEY)

    # THEN it is the partner's identity
    assert identity == PartnerIdentity("eleme", hash_api_key(KEY))


def test_second_use_of_a_key_is_answered_from_the_cache(auth, directory):
    # GIVEN a key used once
    auth.authenticate(KEY)

    # WHEN it is used again within the TTL
    identity = auth.authenticate(KEY)

    # THEN the directory was asked only once
    assert identity.partner_id == "eleme"
    assert directory.lookups == 1


def test_cached_key_is_looked_up_again_after_the_ttl(auth, directory, clock):
    # GIVEN a key cached a while ago
    auth.authenticate(KEY)

    # WHEN it is used after the TTL
    clock.advance(60.1)
    auth.authenticate(KEY)

    # THEN the directory is asked again
    assert directory.lookups == 2


def test_key_revoked_in_the_directory_stops_working_after_the_ttl(auth, directory, clock):
    # GIVEN a key in use, then removed from the directory
    auth.authenticate(KEY)
    directory.by_hash.clear()

    # WHEN it is used after the TTL
    clock.advance(61)

    # THEN it is refused
    with pytest.raises(Unauthenticated):
        auth.authenticate(KEY)


def test_unknown_key_is_refused(auth):
    # GIVEN a key nobody issued
    # WHEN it is presented
    # THEN it is refused
    with pytest.raises(Unauthenticated):
        auth.authenticate("guessed-key")


def test_unknown_key_is_cached_briefly(auth, directory, clock):
    # GIVEN an unknown key refused once
    with pytest.raises(Unauthenticated):
        auth.authenticate("guessed-key")

    # WHEN it is tried again a moment later
    clock.advance(4)
    with pytest.raises(Unauthenticated):
        auth.authenticate("guessed-key")

    # THEN the directory was not asked again
    assert directory.lookups == 1


def test_negative_result_expires_so_a_newly_issued_key_works(auth, directory, clock):
    # GIVEN a key refused before it was issued
    with pytest.raises(Unauthenticated):
        auth.authenticate("new-key")
    directory.by_hash[hash_api_key("new-key")] = PartnerIdentity("hellobike", hash_api_key("new-key"))

    # WHEN it is used a few seconds later
    clock.advance(5.1)

    # THEN it works
    assert auth.authenticate("new-key").partner_id == "hellobike"


@pytest.mark.parametrize("key", [None, ""], ids=["missing", "empty"])
def test_missing_key_is_refused_without_a_lookup(auth, directory, key):
    # GIVEN no key
    # WHEN a request comes without one
    # THEN it is refused and the directory is not asked
    with pytest.raises(Unauthenticated):
        auth.authenticate(key)
    assert directory.lookups == 0


def test_too_long_key_is_refused_without_a_lookup(auth, directory):
    # GIVEN a key longer than any issued
    # WHEN it is presented
    # THEN it is refused before hashing or looking up
    with pytest.raises(Unauthenticated):
        auth.authenticate("k" * (MAX_KEY_LENGTH + 1))
    assert directory.lookups == 0


def test_key_of_the_maximum_length_is_looked_up(auth, directory):
    # GIVEN a key exactly at the length limit
    long_key = "k" * MAX_KEY_LENGTH
    directory.by_hash[hash_api_key(long_key)] = PartnerIdentity("eleme", hash_api_key(long_key))

    # WHEN it is presented
    # THEN it works
    assert auth.authenticate(long_key).partner_id == "eleme"


def test_directory_answer_for_another_hash_is_refused(directory, clock):
    # GIVEN a directory that answers an identity whose hash does not match the key
    directory.by_hash[hash_api_key(KEY)] = PartnerIdentity("eleme", hash_api_key("another-key"))
    auth = PartnerAuthenticator(directory, ttl_seconds=60, clock=clock)

    # WHEN the key is presented
    # THEN it is refused
    with pytest.raises(Unauthenticated):
        auth.authenticate(KEY)


def test_zero_ttl_looks_up_every_time(directory, clock):
    # GIVEN caching switched off
    auth = PartnerAuthenticator(directory, ttl_seconds=0, clock=clock)

    # WHEN a key is used twice
    auth.authenticate(KEY)
    auth.authenticate(KEY)

    # THEN both uses asked the directory
    assert directory.lookups == 2
