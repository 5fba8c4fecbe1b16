"""Partner authentication by API key. Keys are stored only as SHA-256; lookups are cached per container."""
from __future__ import annotations

import hashlib
import hmac
import threading
import time
from typing import Callable

from chalicelib.domain.errors import Unauthenticated
from chalicelib.services.ports import PartnerDirectory, PartnerIdentity

MAX_KEY_LENGTH = 256
_NEGATIVE_TTL = 5.0
_MAX_CACHED = 10_000


def hash_api_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


class PartnerAuthenticator:
    """Turns an ``x-api-key`` into the partner it belongs to.

    A hit in the cache costs no AWS call, so the intake hot path stays at two calls once warm.
    """

    def __init__(self, directory: PartnerDirectory, ttl_seconds: float,
                 clock: Callable[[], float] = time.monotonic):
        self._directory = directory
        self._ttl = ttl_seconds
        self._clock = clock
        self._cache: dict[str, tuple[PartnerIdentity | None, float]] = {}
        self._lock = threading.Lock()

    def authenticate(self, api_key: str | None) -> PartnerIdentity:
        if not api_key or len(api_key) > MAX_KEY_LENGTH:
            raise Unauthenticated("A valid x-api-key header is required.")
        key_hash = hash_api_key(api_key)
        now = self._clock()
        cached = self._cache.get(key_hash)
        if cached is not None and cached[1] > now:
            identity = cached[0]
        else:
            identity = self._directory.by_key_hash(key_hash)
            with self._lock:
                if len(self._cache) >= _MAX_CACHED:
                    self._cache.clear()
                self._cache[key_hash] = (identity, now + (self._ttl if identity else _NEGATIVE_TTL))
        if identity is None or not hmac.compare_digest(identity.key_hash, key_hash):
            raise Unauthenticated("A valid x-api-key header is required.")
        return identity


class AgentAuthenticator:
    """Turns ``Authorization: Bearer <token>`` into an agent id. Settings hold only the tokens'
    SHA-256; every configured hash is compared in constant time, so timing says nothing about which
    (or whether one) came close."""

    def __init__(self, token_hashes: tuple[tuple[str, str], ...]):
        self._hashes = token_hashes

    def authenticate(self, authorization: str | None) -> str:
        scheme, _, token = (authorization or "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or len(token) > MAX_KEY_LENGTH:
            raise Unauthenticated("An agent bearer token is required.")
        presented = hash_api_key(token)
        agent = None
        for agent_id, expected in self._hashes:
            if hmac.compare_digest(expected, presented):
                agent = agent_id
        if agent is None:
            raise Unauthenticated("An agent bearer token is required.")
        return agent
