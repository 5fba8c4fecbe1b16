"""Partner authentication by API key and the partner's rate limit. Keys are stored only as SHA-256;
lookups are cached per container."""
from __future__ import annotations

import hashlib
import hmac
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from chalicelib.domain.errors import RateLimited, Unauthenticated
from chalicelib.services.ports import PartnerDirectory, PartnerIdentity

MAX_KEY_LENGTH = 256
_NEGATIVE_TTL = 5.0
_MAX_CACHED = 10_000


def hash_api_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


class PartnerRateLimiter:
    """A token bucket per partner, held in this container's memory: ``rate`` requests a second on
    average, up to ``burst`` at once. A request over the limit raises RateLimited with the whole seconds
    until a token is back (the API answers 429 with ``Retry-After``).

    The limit is per container, on purpose: counting in DynamoDB would add a call to every request, and
    the intake path is held to two (TransactWriteItems, SendMessage). Deployed, the API function runs in
    at most its reserved concurrency of containers, so a partner's global cap is that concurrency times
    this limit; API Gateway's stage throttling is the outer guard for everyone. A Lambda container serves
    one request at a time, so the limit bites when a partner's configured rate is below what one container
    serves; the local stack serves every request on threads of one process, where it is the whole limit.

    The partner's own limit comes from its record (read with its API key, cached with it); without one,
    the defaults (PARTNER_RATE_LIMIT_PER_SECOND, PARTNER_RATE_BURST) apply. Thread-safe: one lock around
    a few arithmetic operations.
    """

    _MAX_PARTNERS = 10_000  # buckets kept; partners are few, this only bounds memory

    def __init__(self, rate_per_second: float, burst: int, clock: Callable[[], float] = time.monotonic):
        if rate_per_second <= 0 or burst < 1:
            raise ValueError("a rate limit needs a positive rate and a burst of at least 1")
        self._rate = float(rate_per_second)
        self._burst = int(burst)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # partner id -> (tokens, when counted)
        self._lock = threading.Lock()

    def admit(self, partner: PartnerIdentity) -> None:
        rate = partner.rate_limit_per_second or self._rate
        burst = partner.rate_burst or self._burst
        with self._lock:
            now = self._clock()
            tokens, then = self._buckets.get(partner.partner_id, (float(burst), now))
            tokens = min(float(burst), tokens + max(0.0, now - then) * rate)
            if tokens >= 1.0:
                if len(self._buckets) >= self._MAX_PARTNERS and partner.partner_id not in self._buckets:
                    self._buckets.clear()
                self._buckets[partner.partner_id] = (tokens - 1.0, now)
                return
            self._buckets[partner.partner_id] = (tokens, now)
        raise RateLimited(math.ceil((1.0 - tokens) / rate))


class PartnerAuthenticator:
    """Turns an ``x-api-key`` into the partner it belongs to, and holds the partner to its rate limit.

    A hit in the cache costs no AWS call, so the intake hot path stays at two calls once warm. Every
    route a partner calls with its key goes through here, so the limit covers them all; a request
    refused for its key counts against nobody.
    """

    def __init__(self, directory: PartnerDirectory, ttl_seconds: float,
                 clock: Callable[[], float] = time.monotonic, limiter: PartnerRateLimiter | None = None):
        self._directory = directory
        self._ttl = ttl_seconds
        self._clock = clock
        self._limiter = limiter
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
        if self._limiter is not None:
            self._limiter.admit(identity)
        return identity


@dataclass(frozen=True)
class Agent:
    agent_id: str
    role: str = "agent"  # or "supervisor" (AGENT_TOKENS entry "id:<sha256>:supervisor")

    @property
    def is_supervisor(self) -> bool:
        return self.role == "supervisor"


class AgentAuthenticator:
    """Turns ``Authorization: Bearer <token>`` into an agent's (or a surveyor's) id and role. Settings hold only the
    tokens' SHA-256, each optionally with a role; every configured hash is compared in constant time,
    so timing says nothing about which (or whether one) came close."""

    def __init__(self, token_hashes: tuple[tuple[str, ...], ...],
                 refusal: str = "An agent bearer token is required."):
        self._hashes = token_hashes
        self._refusal = refusal  # surveyors' routes use the same check with their own tokens

    def authenticate(self, authorization: str | None) -> str:
        return self.identify(authorization).agent_id

    def identify(self, authorization: str | None) -> Agent:
        scheme, _, token = (authorization or "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or len(token) > MAX_KEY_LENGTH:
            raise Unauthenticated(self._refusal)
        presented = hash_api_key(token)
        agent = None
        for agent_id, expected, *role in self._hashes:
            if hmac.compare_digest(expected, presented):
                agent = Agent(agent_id, *role)
        if agent is None:
            raise Unauthenticated(self._refusal)
        return agent
