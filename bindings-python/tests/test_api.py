"""Every API of the package, every error class, and one policy shared by 8 threads."""

from __future__ import annotations

import base64
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import mcp_policy as mp
from mcp_policy import _errors, _native, oauth

POLICY = {
    "authorizations": [
        {
            "authorizedFeatures": [
                {"type": "TOOLS", "methods": ["TOOLS_LIST", "TOOLS_CALL"], "patternType": "LITERAL", "patternValue": "echo"},
                {"type": "TOOLS", "methods": ["TOOLS_LIST", "TOOLS_CALL"], "patternType": "LITERAL", "patternValue": "add"},
            ]
        },
        {
            "condition": "{#request.headers['x-role'][0] == 'admin'}",
            "authorizedFeatures": [
                {"type": "TOOLS", "methods": ["TOOLS_LIST", "TOOLS_CALL"], "patternType": "LITERAL", "patternValue": "admin-only"}
            ],
        },
    ]
}
POLICY_TEXT = json.dumps(POLICY)


def call(name: str, id: int = 1) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": name, "arguments": {}}}


LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
TOOLS = {"jsonrpc": "2.0", "id": 1, "result": {"tools": [{"name": "echo"}, {"name": "get-env"}, {"name": "add"}]}}
JSON = [("content-type", "application/json")]


@pytest.fixture(scope="module")
def policy() -> mp.Policy:
    return mp.Policy.from_json(POLICY_TEXT)


# -- Policy -------------------------------------------------------------------------------


def test_constructors_agree(tmp_path: Path) -> None:
    f = tmp_path / "p.json"
    f.write_text(POLICY_TEXT)
    for p in (
        mp.Policy.from_json(POLICY_TEXT),
        mp.Policy.from_json(POLICY_TEXT.encode()),
        mp.Policy.from_json(bytearray(POLICY_TEXT.encode())),
        mp.Policy.from_file(f),
        mp.Policy.from_file(str(f)),
        mp.Policy.from_dict(POLICY),
    ):
        assert p.rule_count == 2
        assert p.check(call("echo")).allowed
        assert not p.check(call("get-env")).allowed
        assert repr(p) == "Policy(rules=2)"


def test_policy_errors(tmp_path: Path) -> None:
    with pytest.raises(mp.InvalidPolicyError) as e:
        mp.Policy.from_dict({"authorizations": [{"authorizedFeatures": [{"type": "TOOLZ"}]}]})
    err = e.value
    assert isinstance(err, mp.ConfigurationError) and isinstance(err, ValueError)
    assert err.code == "INVALID_POLICY" and err.number == 303
    assert err.answer["error"]["code"] == "INVALID_POLICY"
    assert err.answer["error"]["issues"][0]["path"].startswith("$.authorizations[0]")
    with pytest.raises(mp.InvalidPolicyError, match="not valid JSON"):
        mp.Policy.from_json("{")
    with pytest.raises(mp.InvalidArgumentError, match="cannot read the policy file"):
        mp.Policy.from_file(tmp_path / "missing.json")
    with pytest.raises(mp.InvalidArgumentError, match="from_dict takes a dict, not list"):
        mp.Policy.from_dict([])  # type: ignore[arg-type]
    with pytest.raises(mp.InvalidArgumentError, match=r"policy\.authorizations is a set"):
        mp.Policy.from_dict({"authorizations": {1}})
    with pytest.raises(TypeError, match="must be bytes, bytearray or str"):
        mp.Policy.from_json(42)  # type: ignore[arg-type]


def test_limits(policy: mp.Policy) -> None:
    small = mp.Policy.from_json(POLICY_TEXT, limits={"max_body_bytes": 64, "max_batch_len": 2})
    d = small.check(call("echo"))
    assert d.kind == "invalid_message" and d.answer["code"] == "TOO_LARGE"
    with pytest.raises(mp.InvalidLimitsError, match="max_depth"):
        mp.Policy.from_json(POLICY_TEXT, limits={"max_depth": 0})
    with pytest.raises(mp.InvalidLimitsError, match='unknown limit "max_bodies"'):
        mp.Policy.from_json(POLICY_TEXT, limits={"max_bodies": 1})
    with pytest.raises(mp.InvalidLimitsError, match="non-negative int"):
        mp.Policy.from_json(POLICY_TEXT, limits={"max_depth": "deep"})


def test_check_decision(policy: mp.Policy) -> None:
    ok = policy.check(call("echo"))
    assert ok.allowed and bool(ok) and ok.decision == "allow"
    assert ok.reason == "granted" and ok.rule == 0 and ok.status == 200
    assert ok.error is None and ok.response is None and ok.kind is None
    assert ok.required_scopes == [] and ok.batch is None
    assert ok.audit["subject"] == "echo" and ok.audit["aclMethod"] == "TOOLS_CALL"
    no = policy.check(json.dumps(call("get-env", 9)))
    assert not no and no.kind == "not_granted" and no.status == 200
    assert no.reason == "no rule grants TOOLS_CALL on `get-env`"
    assert no.error == {"code": -32602, "message": "Unknown tool: get-env"}
    assert no.response == {"jsonrpc": "2.0", "id": 9, "error": no.error}
    assert no.answer["decision"] == "deny" and no.mode == "hide" and ok.mode is None
    assert "allowed=False" in repr(no)
    with pytest.raises(AttributeError):
        no.allowed = True  # type: ignore[misc]
    # Not governed, list filtered.
    assert policy.check({"jsonrpc": "2.0", "id": 1, "method": "ping"}).reason == "not_governed"
    assert policy.check(LIST).reason == "list_filtered"


def test_check_unreadable_and_batches(policy: mp.Policy) -> None:
    bad = policy.check(b'{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}')
    assert not bad.allowed and bad.kind == "invalid_message"
    assert bad.answer["code"] == "DUPLICATE_KEY" and bad.error["code"] == -32600
    batch = policy.check([call("echo", 1), call("get-env", 2)])
    assert not batch.allowed and batch.decision == "deny"
    assert [d.allowed for d in batch.batch] == [True, False]
    assert batch.reason is None
    each = policy.check_batch([call("echo"), json.dumps(call("nope")), b"{"])
    assert [d.allowed for d in each] == [True, False, False]
    assert each[2].answer["code"] == "SYNTAX"
    with pytest.raises(TypeError, match=r"messages\[0\] must be bytes"):
        policy.check_batch([3])
    with pytest.raises(TypeError, match="message must be bytes"):
        policy.check(3.5)  # type: ignore[arg-type]


def test_context_forms(policy: mp.Policy) -> None:
    admin = {"request": {"headers": {"X-Role": ["admin"]}}}
    assert not policy.check(call("admin-only")).allowed
    assert policy.check(call("admin-only"), admin).allowed
    assert policy.check(call("admin-only"), json.dumps(admin)).allowed
    assert policy.check(call("admin-only"), json.dumps(admin).encode()).allowed
    ctx = mp.Context(admin)
    assert policy.check(call("admin-only"), ctx).allowed
    assert ctx.headers == {"x-role": ["admin"]} or ctx.headers == {"X-Role": ["admin"]}
    h = mp.Context.from_headers([(b"X-Role", b"admin"), ("Authorization", "Bearer secret")], {"user": "alice"})
    assert policy.check(call("admin-only"), h).allowed
    assert "authorization" not in {k.lower() for k in h.headers}
    assert policy.check(call("admin-only"), mp.Context.from_headers({"x-role": ["guest", "admin"]})).allowed is False
    assert repr(mp.Context()) == "Context(headers=0, attributes=0)"
    assert mp.evaluate("{#context.attributes['user']}", h) == "alice"


def test_context_errors(policy: mp.Policy) -> None:
    with pytest.raises(mp.InvalidContextError, match="request"):
        policy.check(call("echo"), {"request": []})
    with pytest.raises(mp.InvalidContextError, match=r"context\.attributes\.when is a datetime"):
        import datetime

        policy.check(call("echo"), {"attributes": {"when": datetime.datetime.now()}})
    with pytest.raises(mp.InvalidContextError, match="keys are str"):
        mp.Context({"attributes": {1: 2}})
    with pytest.raises(mp.InvalidContextError, match="JSON cannot hold"):
        mp.Context({"attributes": {"x": float("nan")}})
    with pytest.raises(mp.InvalidContextError, match="outside the 64-bit range"):
        mp.Context({"attributes": {"x": 1 << 70}})
    with pytest.raises(mp.InvalidContextError, match="deeper than 128"):
        deep: Any = []
        for _ in range(200):
            deep = [deep]
        mp.Context({"attributes": {"x": deep}})
    with pytest.raises(mp.JsonSyntaxError):
        mp.Context("{")
    with pytest.raises(mp.InvalidUtf8Error):
        mp.Context(b"\xff")
    with pytest.raises(mp.InvalidContextError, match="not int"):
        policy.check(call("echo"), 5)  # type: ignore[arg-type]
    with pytest.raises(mp.InvalidContextError, match="attributes"):
        mp.Context.from_headers([], [1])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"headers\[0\] has 3 items"):
        mp.Context.from_headers([("a", "b", "c")])
    with pytest.raises(TypeError, match="not a string"):
        mp.Context.from_headers("x-role: admin")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="header value must be bytes or str"):
        mp.Context.from_headers([("a", 1)])  # type: ignore[list-item]


def test_filter(policy: mp.Policy) -> None:
    f = policy.filter(LIST, TOOLS)
    assert f.rewrite == "replaced"
    assert [t["name"] for t in json.loads(f.body)["result"]["tools"]] == ["echo", "add"]
    assert f.hidden == [{"subject": "get-env", "reason": f.hidden[0]["reason"]}]
    assert f.answer["rewrite"] == "replaced" and "replaced" in repr(f)
    assert policy.filter_response(LIST, TOOLS) == f.body
    same = json.dumps({"jsonrpc": "2.0", "id": 1, "result": {"tools": [{"name": "echo"}]}}).encode()
    assert policy.filter_response(LIST, same) == same
    assert policy.filter(LIST, same).rewrite == "unchanged"
    note = {"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progressToken": 1, "progress": 1}}
    assert policy.filter_response(call("echo"), note) is not None
    with pytest.raises(mp.JsonSyntaxError):
        policy.filter_response(LIST, b"{")
    with pytest.raises(mp.InvalidRequestError, match="server request"):
        policy.filter(LIST, {"jsonrpc": "2.0", "id": 5, "method": "roots/list"})
    with pytest.raises(mp.JsonSyntaxError, match="the request does not parse"):
        policy.filter(b"{", TOOLS)


def test_evaluate(policy: mp.Policy) -> None:
    assert mp.evaluate("{(1 + 2 * 3 == 7)}") is True
    assert mp.evaluate("{(7 / 2.0)}") == 3.5
    assert mp.evaluate("plain text", type="string") == "plain text"
    assert mp.evaluate("{#mcp.name}", None, call("echo")) == "echo"
    assert policy.evaluate("{#request.headers['x'][0]}", {"request": {"headers": {"x": ["y"]}}}) == "y"
    assert mp.evaluate("yes", type="boolean") is True
    with pytest.raises(mp.InvalidExpressionError) as e:
        mp.evaluate("{#request.headers['x'] ==}")
    assert isinstance(e.value, mp.ExpressionError)
    assert e.value.answer["error"]["position"] >= 0 and e.value.answer["error"]["hint"]
    with pytest.raises(mp.EvaluationFailedError):
        mp.evaluate("{#request.headers['x'] matches 'y'}", {"request": {"headers": {"x": ["y"]}}})
    with pytest.raises(mp.InvalidArgumentError, match="type must be"):
        mp.evaluate("{(1 == 1)}", type="number")  # type: ignore[arg-type]
    with pytest.raises(mp.JsonSyntaxError):
        mp.evaluate("{(1 == 1)}", None, b"{")


# -- the exchange API -----------------------------------------------------------------------


def test_guard_forward_and_stream(policy: mp.Policy) -> None:
    guard = policy.guard(resource_metadata_url="https://gw.example/.well-known/oauth-protected-resource", max_pending=8)
    assert guard.max_pending == 8 and guard.resource_metadata_url.startswith("https://")
    assert guard.challenge_scopes == []
    assert policy.guard(challenge_scopes=("mcp:tools",)).challenge_scopes == ["mcp:tools"]
    session = guard.session()
    fwd = guard.client(json.dumps(LIST), JSON, None, session)
    assert isinstance(fwd, mp.Forward)
    assert fwd.content_type == "application/json"
    assert fwd.summary["method"] == "tools/list" and fwd.answer["verdict"] == "forward"
    ex = fwd.exchange
    assert ex.waiting == 1 and session.pending_count == 1 and ex.session.pending_count == 1
    assert ex.server_head(200, "text/event-stream") == "stream"
    text = b"data: " + json.dumps(TOOLS).encode() + b"\n\n"
    s1 = ex.server_chunk(text[:10])
    assert s1.to_client == b"" and not s1.end and s1.to_server == []
    s2 = ex.server_chunk(text[10:])
    assert json.loads(s2.to_client[len(b"data: "):])["result"]["tools"] == [{"name": "echo"}, {"name": "add"}]
    assert s2.notes["answered"] == 1 and s2.notes["hidden"] == 1
    assert s2.answer["notes"]["hidden"] == 1 and "Step(" in repr(s2)
    end = ex.finish()
    assert end.end and end.to_client == b""
    assert session.pending_count == 0 and repr(ex).startswith("Exchange(")


def test_guard_whole_body_and_reply(policy: mp.Policy) -> None:
    guard = policy.guard()
    session = guard.session()
    fwd = guard.client(LIST, {"Content-Type": "application/json"}, None, session)
    ex = fwd.exchange
    assert ex.server_head(200, b"application/json") == "whole"
    a = ex.server_body(json.dumps(TOOLS))
    assert a.status == 200 and a.content_type == "application/json" and not a.unchanged
    assert [t["name"] for t in json.loads(a.body)["result"]["tools"]] == ["echo", "add"]
    assert a.answer["notes"]["hidden"] == 1 and a.to_server == [] and "Answer(" in repr(a)
    # Denied: the engine answers; nothing is forwarded.
    r = guard.client(call("get-env", 3), JSON, None, session)
    assert isinstance(r, mp.Reply)
    assert r.status == 200 and r.kind == "denied" and r.error_code == -32602
    assert json.loads(r.body) == {"jsonrpc": "2.0", "id": 3, "error": {"code": -32602, "message": "Unknown tool: get-env"}}
    assert r.headers == [("content-type", "application/json")] and r.www_authenticate is None
    assert r.answer["verdict"] == "reply" and r.summary["method"] == "tools/call"
    # A header sent twice, a type the engine does not judge, no headers at all.
    twice = guard.client(LIST, [("content-type", "application/json"), ("Content-Type", "application/json")])
    assert isinstance(twice, mp.Reply) and twice.status == 415 and twice.kind == "invalid"
    assert guard.client(LIST, [("content-type", "text/plain")]).status == 415
    assert guard.client(LIST).status == 415
    mismatch = guard.client(call("echo"), JSON + [("mcp-method", "tools/list")])
    assert isinstance(mismatch, mp.Reply) and mismatch.status == 400
    with pytest.raises(TypeError, match="not a string"):
        guard.client(LIST, "content-type: application/json")  # type: ignore[arg-type]


def test_stateless_requests_follow_their_tasks(policy: mp.Policy) -> None:
    # MCP 2026-07-28 has no sessions: each request comes with a fresh one, and the guard keeps
    # the task bindings, so a task created by one request is followed by the next.
    guard = policy.guard()
    h = JSON + [("mcp-protocol-version", "2026-07-28"), ("mcp-method", "tools/call"), ("mcp-name", "echo")]
    fwd = guard.client(call("echo"), h, None, guard.session())
    assert isinstance(fwd, mp.Forward)
    assert fwd.exchange.server_head(200, "application/json") == "whole"
    task = {"jsonrpc": "2.0", "id": 1, "result": {"resultType": "task", "taskId": "t-1", "status": "working"}}
    assert fwd.exchange.server_body(json.dumps(task)).status == 200
    get = {"jsonrpc": "2.0", "id": 2, "method": "tasks/get", "params": {"taskId": "t-1"}}
    h = JSON + [("mcp-protocol-version", "2026-07-28"), ("mcp-method", "tasks/get"), ("mcp-name", "t-1")]
    assert isinstance(guard.client(get, h, None, guard.session()), mp.Forward)
    h = JSON + [("mcp-protocol-version", "2025-11-25")]
    own = guard.client(get, h, None, guard.session())  # an earlier revision: its session's only
    assert isinstance(own, mp.Reply) and b"Unknown task: t-1" in own.body


def test_server_requests_and_stdio() -> None:
    policy = mp.Policy.from_file(Path(__file__).resolve().parents[2] / "cases/policies/exchange.json")
    guard = policy.guard()
    session = guard.session()
    get = guard.stream(session)
    assert get.server_head(200, "text/event-stream") == "stream"
    # A server request the policy refuses (sampling is not granted): not delivered, answered
    # back to the server.
    sampling = {"jsonrpc": "2.0", "id": 40, "method": "sampling/createMessage", "params": {"messages": [], "maxTokens": 1}}
    step = get.server_chunk(b"data: " + json.dumps(sampling).encode() + b"\n\n")
    assert step.to_server and json.loads(step.to_server[0])["id"] == 40
    assert step.notes["refused"] == 1
    # One message at a time (stdio).
    fwd = guard.client(call("echo", 12), JSON, None, session)
    result = {"jsonrpc": "2.0", "id": 12, "result": {"content": []}}
    assert session.route(result) == fwd.exchange.id
    assert session.route({"jsonrpc": "2.0", "method": "notifications/message", "params": {}}) == "unsolicited"
    assert session.route(b"{") == "unreadable"
    d = fwd.exchange.server_message(json.dumps(result))
    assert json.loads(d.message) == result and d.to_server == [] and d.answer["notes"]["answered"] == 1
    assert "Delivery(" in repr(d)
    with pytest.raises(mp.DuplicateKeyError) as e:
        fwd.exchange.server_message(b'{"jsonrpc":"2.0","id":1,"id":2,"result":{}}')
    assert e.value.answer["error"]["hint"] and "id" in e.value.message
    # A failing session: every waiting request gets an error.
    other = guard.client(call("echo", 13), JSON, None, session)
    failed = session.fail_all("the process died")
    assert [i for i, _ in failed] == [other.exchange.id]
    assert json.loads(failed[0][1])["error"]["message"] == "the process died"
    session.set_resumable(True)
    assert "Session(" in repr(session)


def test_step_up() -> None:
    policy = mp.Policy.from_file(Path(__file__).resolve().parents[2] / "cases/policies/exchange.json")
    admin = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "admin-reset"}}
    d = policy.check(admin)
    assert not d.allowed and d.status == 403 and d.required_scopes == ["mcp:admin"]
    assert policy.check(admin, {"attributes": {"user.roles": ["mcp:admin"]}}).allowed
    meta = "https://gw.example.com/.well-known/oauth-protected-resource/mcp"
    r = policy.guard(resource_metadata_url=meta).client(admin, JSON)
    assert isinstance(r, mp.Reply) and r.status == 403
    assert 'error="insufficient_scope"' in r.www_authenticate and meta in r.www_authenticate
    assert ("www-authenticate", r.www_authenticate) in r.headers


def test_failures(policy: mp.Policy) -> None:
    guard = policy.guard()
    fwd = guard.client(call("echo", 5), JSON)
    r = fwd.exchange.fail_reply("timeout", "no answer in 30 s")
    assert r.status == 504 and r.kind == "failed" and json.loads(r.body)["error"]["code"] == -32000
    assert r.answer["status"] == 504
    fwd = guard.client(call("echo", 6), JSON)
    fwd.exchange.server_head(200, "text/event-stream")
    s = fwd.exchange.fail_stream("broken", "connection reset")
    assert s.end and b'"id":6' in s.to_client
    with pytest.raises(mp.InvalidArgumentError, match="failure must be one of"):
        fwd.exchange.fail_reply("exploded", "x")  # type: ignore[arg-type]


def test_parse_errors_raise_their_classes() -> None:
    tight = mp.Policy.from_json(
        POLICY_TEXT,
        limits={"max_body_bytes": 4096, "max_depth": 8, "max_batch_len": 2, "max_string_bytes": 16, "max_object_keys": 4},
    )
    ex = tight.guard().stream(tight.guard().session())
    cases: list[tuple[bytes, type[mp.McpPolicyError]]] = [
        (b"[" * 20 + b"]" * 20, mp.TooDeepError),
        (b"{" + b" " * 5000 + b"}", mp.TooLargeError),
        (b"[" + b",".join([b'{"jsonrpc":"2.0","method":"x"}'] * 3) + b"]", mp.BatchTooLongError),
        (b'{"jsonrpc":"2.0","method":"' + b"x" * 40 + b'"}', mp.StringTooLongError),
        (b'{"a":1,"b":2,"c":3,"d":4,"e":5}', mp.TooManyKeysError),
        (b'{"jsonrpc":"2.0","method":"\xff"}', mp.InvalidUtf8Error),
        (b'{"jsonrpc":"2.0","method":"\\ud800"}', mp.LoneSurrogateError),
        (b"{nope", mp.JsonSyntaxError),
        (b'{"jsonrpc":"2.0","method":"x"} 1', mp.TrailingDataError),
        (b'{"jsonrpc":"2.0","id":1,"id":1,"result":{}}', mp.DuplicateKeyError),
        (b'{"id":1,"result":{}}', mp.InvalidRequestError),
    ]
    for data, cls in cases:
        with pytest.raises(cls) as e:
            ex.server_message(data)
        assert e.value.answer["error"]["code"] == cls.code, data
        assert isinstance(e.value, mp.MessageError) or isinstance(e.value, mp.ProtocolError)


# -- OAuth ----------------------------------------------------------------------------------


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def rsa() -> tuple[Any, dict[str, Any]]:
    from cryptography.hazmat.primitives.asymmetric import rsa as rsa_mod

    key = rsa_mod.generate_private_key(public_exponent=65537, key_size=2048)
    nums = key.public_key().public_numbers()
    jwk = {
        "kty": "RSA",
        "kid": "k1",
        "use": "sig",
        "alg": "RS256",
        "n": b64(nums.n.to_bytes((nums.n.bit_length() + 7) // 8, "big")),
        "e": b64(nums.e.to_bytes(3, "big")),
    }
    return key, {"keys": [jwk]}


def token(key: Any, **claims: Any) -> str:
    import jwt

    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})


def test_jwt_validation(rsa: tuple[Any, dict[str, Any]], policy: mp.Policy) -> None:
    key, jwks = rsa
    meta = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
    v = oauth.JwtValidator(
        jwks, ["https://as.example.com"], "https://mcp.example.com/mcp", required_scopes=["mcp:tools"], resource_metadata=meta
    )
    assert v.key_count == 1
    now = int(time.time())
    good = token(key, iss="https://as.example.com", aud="https://mcp.example.com/mcp", sub="alice", scope="mcp:tools", exp=now + 600)
    p = v.validate(good)
    assert p.user == "alice" and p.scopes == ["mcp:tools"] and p.issuer == "https://as.example.com"
    assert p.audience == ["https://mcp.example.com/mcp"] and p.expires_at == now + 600
    assert p.claims["sub"] == "alice" and p.client_id == "https://mcp.example.com/mcp"
    assert p.attributes["user"] == "alice" and p.attributes["user.roles"] == ["mcp:tools"]
    assert "alice" in repr(p)
    ctx = mp.Context.from_headers([], p.attributes)
    assert mp.evaluate("{#context.attributes['user']}", ctx) == "alice"
    expired = token(key, iss="https://as.example.com", aud="https://mcp.example.com/mcp", sub="a", scope="mcp:tools", exp=now - 3600)
    with pytest.raises(mp.InvalidTokenError) as e:
        v.validate(expired)
    assert isinstance(e.value, mp.TokenError)
    assert e.value.answer["error"]["status"] == 401
    assert 'error="invalid_token"' in e.value.answer["error"]["wwwAuthenticate"]
    narrow = token(key, iss="https://as.example.com", aud="https://mcp.example.com/mcp", sub="a", scope="other", exp=now + 60)
    with pytest.raises(mp.InsufficientScopeError) as e2:
        v.validate(narrow, now)
    assert e2.value.answer["error"]["status"] == 403 and "mcp:tools" in e2.value.answer["error"]["wwwAuthenticate"]
    with pytest.raises(mp.InvalidTokenError, match="malformed"):
        v.validate("not.a.jwt")


def test_jwt_validator_errors(rsa: tuple[Any, dict[str, Any]]) -> None:
    _, jwks = rsa
    with pytest.raises(mp.InvalidJwksError):
        oauth.JwtValidator({"keys": []}, ["https://as.example.com"], "https://mcp.example.com/mcp")
    with pytest.raises(mp.InvalidJwksError):
        oauth.JwtValidator(b"{", ["https://as.example.com"], "https://mcp.example.com/mcp")
    with pytest.raises(mp.InvalidValidatorConfigError):
        oauth.JwtValidator(jwks, [], "https://mcp.example.com/mcp")
    with pytest.raises(mp.InvalidValidatorConfigError, match="unknown algorithm"):
        oauth.JwtValidator(jwks, ["https://as.example.com"], "https://mcp.example.com/mcp", algorithms=["XX1"])


def test_challenges_and_metadata() -> None:
    status, value = oauth.bearer_challenge("https://gw/.well-known/oauth-protected-resource", scopes=["a", "b"])
    assert status == 401 and 'resource_metadata="https://gw/.well-known/oauth-protected-resource"' in value
    status, value = oauth.bearer_challenge("https://gw/m", scopes=["a"], error="insufficient_scope", description="more", realm="r")
    assert status == 403 and 'error="insufficient_scope"' in value and 'realm="r"' in value
    parsed = oauth.parse_www_authenticate(value)
    assert parsed[0]["scheme"] == "Bearer" and parsed[0]["params"]["scope"] == "a"
    assert parsed[0]["token68"] is None
    with pytest.raises(mp.InvalidChallengeError):
        oauth.parse_www_authenticate('Bearer realm="unterminated')
    doc = oauth.protected_resource_metadata(
        "https://mcp.example.com/mcp", ["https://as.example.com"], scopes_supported=["mcp:tools"], resource_name="Demo"
    )
    assert doc["resource"] == "https://mcp.example.com/mcp" and doc["scopes_supported"] == ["mcp:tools"]
    assert doc["resource_name"] == "Demo"
    assert oauth.validate_protected_resource_metadata(doc, "https://mcp.example.com/mcp")["resource"] == doc["resource"]
    with pytest.raises(mp.InvalidMetadataError):
        oauth.validate_protected_resource_metadata(doc, "https://other.example.com/mcp")
    with pytest.raises(mp.InvalidMetadataError):
        oauth.protected_resource_metadata("ftp://x/mcp", ["https://as.example.com"])
    assert oauth.protected_resource_metadata_url("https://mcp.example.com/mcp") == (
        "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
    )
    with pytest.raises(mp.InvalidUrlError):
        oauth.protected_resource_metadata_url("not a url")


# -- errors ---------------------------------------------------------------------------------


def test_every_error_code_has_its_class() -> None:
    native = _native.error_codes()
    assert len(native) == 34
    assert [(c.number, c.code) for c in _errors.BY_CODE.values()] == native
    groups = {1: mp.MessageError, 2: mp.ProtocolError, 3: mp.ConfigurationError, 4: mp.ExpressionError,
              5: mp.TokenError, 6: mp.OAuthDocumentError, 9: mp.HostError}
    for number, name in native:
        cls = _errors.BY_CODE[name]
        assert getattr(mp, cls.__name__) is cls
        assert issubclass(cls, groups[number // 100]) and issubclass(cls, mp.McpPolicyError)
        assert issubclass(cls, ValueError) and cls.__doc__
        e = cls("what went wrong")
        assert e.code == name and e.number == number and str(e) == "what went wrong"
        assert e.details == {"code": name, "number": number, "message": "what went wrong"}
    # No class shadows a builtin name.
    import builtins

    assert not any(hasattr(builtins, c.__name__) for c in _errors.BY_CODE.values())


# -- threads and the GIL ----------------------------------------------------------------------


def test_one_policy_from_8_threads(policy: mp.Policy) -> None:
    messages = [call("echo", i) if i % 3 else call("get-env", i) for i in range(300)]
    expected = [policy.check(m).answer for m in messages]
    guard = policy.guard()
    errors: list[str] = []

    def worker(n: int) -> None:
        try:
            session = guard.session()
            for _ in range(5):
                for m, e in zip(messages, expected):
                    if policy.check(m).answer != e:
                        errors.append(f"thread {n}: check differs for {m}")
                        return
                f = guard.client(LIST, JSON, None, session)
                f.exchange.server_head(200, "application/json")
                body = json.loads(f.exchange.server_body(json.dumps(TOOLS)).body)
                if [t["name"] for t in body["result"]["tools"]] != ["echo", "add"]:
                    errors.append(f"thread {n}: filter differs")
        except Exception as exc:  # reported below, not swallowed
            errors.append(f"thread {n}: {exc!r}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_large_inputs_release_the_gil(policy: mp.Policy) -> None:
    # A 12 MB tools/list answer: while one thread filters it, another still runs Python.
    tools = [{"name": f"tool-{i}", "description": "x" * 200} for i in range(50_000)]
    big = json.dumps({"jsonrpc": "2.0", "id": 1, "result": {"tools": tools}}).encode()
    inside = threading.Event()
    done = threading.Event()
    ticks_inside = 0

    def filtering() -> None:
        inside.set()
        for _ in range(3):
            policy.filter_response(LIST, big)
        done.set()

    t = threading.Thread(target=filtering)
    t.start()
    inside.wait()
    while not done.is_set():
        ticks_inside += 1
    t.join()
    # Holding the GIL through three filter passes would let this loop run only at the
    # interpreter's switch points (a few times); released, it spins freely meanwhile.
    assert ticks_inside > 1000, ticks_inside


def test_stubs_match_the_native_module() -> None:
    """Every class, method and function of `_native.pyi` exists, every public member of the
    native classes is in the stubs, and every one has a docstring."""
    import ast

    stub = Path(mp.__file__).with_name("_native.pyi")
    tree = ast.parse(stub.read_text())
    problems: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            cls = getattr(_native, node.name, None)
            if cls is None:
                problems.append(f"no class {node.name}")
                continue
            stubbed = {f.name for f in node.body if isinstance(f, ast.FunctionDef)}
            problems += [f"{node.name}.{m} is not native" for m in stubbed if not hasattr(cls, m)]
            for m in dir(cls):
                if m.startswith("_"):
                    continue
                if m not in stubbed:
                    problems.append(f"{node.name}.{m} is not in the stubs")
                if not getattr(cls, m).__doc__:
                    problems.append(f"{node.name}.{m} has no docstring")
        elif isinstance(node, ast.FunctionDef) and not hasattr(_native, node.name):
            problems.append(f"no function {node.name}")
    assert problems == []
    assert Path(mp.__file__).with_name("py.typed").exists()
