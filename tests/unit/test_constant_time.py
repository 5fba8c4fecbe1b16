"""Secrets are compared in constant time.

Two checks: a scan of every module under chalicelib/ for a plain ``==`` / ``!=`` whose operands are
named like a secret (signature, token, digest, secret, MAC, key hash, password); and each verifier of
the product run with ``hmac.compare_digest`` replaced, which proves the decision goes through it (a
verifier that also compared with ``==`` would still accept when compare_digest says no).
"""
from __future__ import annotations

import ast
import hmac
import re
from pathlib import Path

import pytest

from chalicelib.domain import signatures, status_token
from chalicelib.domain.errors import Unauthenticated
from chalicelib.domain.signatures import SignatureRejected
from chalicelib.services.auth import AgentAuthenticator, PartnerAuthenticator, hash_api_key
from tests.fakes import FakePartnerDirectory

CHALICELIB = Path(__file__).resolve().parents[2] / "chalicelib"
SECRET_LIKE = re.compile(r"signature|token|digest|secret|(?:^|_)h?mac(?:$|_)|(?:^|_)hash(?:es)?(?:$|_)|password|"
                         r"credential|api_key", re.IGNORECASE)


def _names(node: ast.AST) -> list[str]:
    """The names an operand is made of: ``a.b.c()`` -> c, b, a. A function's arguments are not its value
    (``len(token)`` is a length, not a token), so they are not followed."""
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Attribute):
        return [node.attr, *_names(node.value)]
    if isinstance(node, ast.Call):
        return _names(node.func)
    if isinstance(node, ast.Subscript):  # headers["x-signature"]: the key names what it holds
        key = node.slice.value if isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str) else None
        return [*_names(node.value), *([key] if key else [])]
    return []


def _targets(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, (ast.Tuple, ast.List)):
        return [name for element in node.elts for name in _targets(element)]
    return []


def _secret_holders(tree: ast.AST) -> set[str]:
    """Variables given a secret-like value: ``presented = hash_api_key(token)``, ``for _, expected in
    self._token_hashes``. Module-wide and flow-insensitive: a name once given a secret stays suspect."""
    holders: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            targets, value = getattr(node, "targets", None) or [node.target], node.value
        elif isinstance(node, (ast.For, ast.comprehension)):
            targets, value = [node.target], node.iter
        else:
            continue
        if any(SECRET_LIKE.search(name) for name in _names(value)):
            holders.update(name for target in targets for name in _targets(target))
    return holders


def plain_secret_comparisons(source: str, filename: str = "<source>") -> list[str]:
    """``file:line: names`` for every ``==`` / ``!=`` with an operand named like a secret or holding one."""
    tree = ast.parse(source, filename)
    holders = _secret_holders(tree)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare) or not any(isinstance(op, (ast.Eq, ast.NotEq)) for op in node.ops):
            continue
        names = [name for operand in (node.left, *node.comparators) for name in _names(operand)]
        if any(SECRET_LIKE.search(name) or name in holders for name in names):
            found.append(f"{filename}:{node.lineno}: {' / '.join(names)}")
    return found


def test_no_module_compares_a_secret_with_plain_equality():
    # GIVEN every Python module shipped to Lambda
    modules = sorted(CHALICELIB.rglob("*.py"))
    assert len(modules) > 40

    # WHEN each is scanned for == and != on operands named like secrets
    found = [hit for path in modules
             for hit in plain_secret_comparisons(path.read_text(encoding="utf-8"), str(path.relative_to(CHALICELIB)))]

    # THEN there is none: secrets go through hmac.compare_digest (or are looked up by their hash)
    assert found == []


@pytest.mark.parametrize("source", [
    "ok = signature == expected",
    "ok = expected != request.headers['x-signature']",
    "ok = hashlib.sha256(raw).hexdigest() == stored",
    "ok = identity.key_hash == presented",
    "ok = token.strip() == configured",
    "ok = hmac.new(k, m, 'sha256').digest() == mac",
    "ok = api_key == settings.partner_secret.get_secret_value()",
    "presented = hash_api_key(token)\nok = expected == presented",
    "for agent, expected in self._hashes:\n    ok = expected == presented",
])
def test_the_scan_finds_a_plain_comparison_of_a_secret(source):
    # GIVEN code comparing a secret with ==
    # WHEN it is scanned
    # THEN it is reported
    assert len(plain_secret_comparisons(source)) == 1


@pytest.mark.parametrize("source", [
    "ok = hmac.compare_digest(signature, expected)",
    "short = len(token) > 64",
    "bearer = scheme.lower() != 'bearer'",
    "machine = machine_id == other_id",
    "missing = signature is None",
])
def test_the_scan_leaves_other_comparisons_alone(source):
    # GIVEN code that compares no secret with ==
    # WHEN it is scanned
    # THEN nothing is reported
    assert plain_secret_comparisons(source) == []


# -- every verifier decides through compare_digest ----------------------------------------------------

@pytest.fixture
def compare_digest(monkeypatch):
    """hmac.compare_digest, counted; ``.answer`` set to False makes it refuse everything."""
    real = hmac.compare_digest

    class Spy:
        def __init__(self):
            self.calls = 0
            self.answer: bool | None = None  # None: the real answer

        def __call__(self, a, b):
            self.calls += 1
            result = real(a, b)
            return result if self.answer is None else self.answer

    spy = Spy()
    monkeypatch.setattr(hmac, "compare_digest", spy)
    return spy


KEY = "partner-key-for-the-test-0001"
TOKEN = "agent-bearer-token-for-the-test"
SECRET = "vendor-webhook-secret-for-the-test"
NOW = 1_790_000_000


def _partner():
    auth = PartnerAuthenticator(FakePartnerDirectory({hash_api_key(KEY): "eleme"}), ttl_seconds=60)
    return auth.authenticate(KEY).partner_id == "eleme"


def _agent():
    return AgentAuthenticator((("agent-007", hash_api_key(TOKEN)),)).authenticate(f"Bearer {TOKEN}") == "agent-007"


def _vendor_webhook():
    body = b'{"type":"call.started"}'
    header = signatures.sign_webhook(SECRET, NOW, body)
    return signatures.verify_webhook(header, body, [("vendor-a", SECRET)], now=NOW) == "vendor-a"


def _twilio():
    url, params = "https://claims.example.com/v1/ivr/twilio/voice", {"CallSid": "CA1", "From": "+15550000000"}
    signature = signatures.twilio_signature("twilio-auth-token", url, params)
    return signatures.twilio_signature_valid("twilio-auth-token", url, params, signature)


def _status_token():
    secret = b"status-token-secret-for-the-test"
    token = status_token.issue(secret, "CLM-01M89KN7JB04VKQXB3E9A3HNRC", "en", NOW + 3600)
    return status_token.verify(secret, "CLM-01M89KN7JB04VKQXB3E9A3HNRC", token, NOW) is not None


VERIFIERS = {"partner api key": _partner, "agent or surveyor bearer token": _agent,
             "vendor webhook signature": _vendor_webhook, "twilio signature": _twilio,
             "status page token": _status_token}
REFUSALS = (Unauthenticated, SignatureRejected)


@pytest.mark.parametrize("verify", VERIFIERS.values(), ids=VERIFIERS.keys())
def test_each_verifier_accepts_through_compare_digest(verify, compare_digest):
    # GIVEN a genuine credential
    # WHEN it is verified
    accepted = verify()

    # THEN it is accepted, and compare_digest was asked
    assert accepted is True
    assert compare_digest.calls >= 1


@pytest.mark.parametrize("verify", VERIFIERS.values(), ids=VERIFIERS.keys())
def test_each_verifier_refuses_when_compare_digest_says_no(verify, compare_digest):
    # GIVEN compare_digest answering "different" for everything
    compare_digest.answer = False

    # WHEN a genuine credential is verified
    try:
        accepted = verify()
    except REFUSALS:
        accepted = False

    # THEN it is refused: no other comparison could have let it through
    assert accepted is False
    assert compare_digest.calls >= 1
