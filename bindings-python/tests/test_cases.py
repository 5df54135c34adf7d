"""The shared data cases (``cases/policy``, ``cases/expr``, ``cases/exchange``) through the
Python package, with the outcomes the Rust runners get (``core/tests/cases_*.rs``)."""

from __future__ import annotations

import json
from typing import Any

import case_runner as cr
from case_runner import Case, CaseError, Failures, Spec

import mcp_policy as mp


def context_of(text: str | None) -> mp.Context | None:
    if text is None:
        return None
    try:
        return mp.Context(text)
    except mp.McpPolicyError as e:
        raise CaseError(f"bad context: {e}") from e


def judge_policy(case: Case) -> Any:
    policy = case.input("policy")
    if policy is None:
        raise CaseError("no policy (neither the case nor its file gives one)")
    if case.expect_key == "expectPolicy":
        if any(case.gives(k) for k in ("message", "request", "response", "context")):
            raise CaseError("an `expectPolicy` case judges only its policy")
        try:
            mp.Policy.from_json(policy)
        except mp.InvalidPolicyError as e:
            return e.answer
        raise CaseError("the policy compiled; `expectPolicy` expects it refused")
    try:
        engine = mp.Policy.from_json(policy)
    except mp.InvalidPolicyError as e:
        raise CaseError(f"the policy does not compile: {e.answer}") from e
    ctx = context_of(case.input_text("context"))
    message, request, response = case.input("message"), case.input("request"), case.input("response")
    if message is not None and request is None and response is None:
        return engine.check(message, ctx).answer
    if message is None and request is not None and response is not None:
        try:
            return engine.filter(request, response, ctx).answer
        except mp.McpPolicyError as e:
            if e.message.startswith("the request does not parse"):
                raise CaseError(e.message) from e
            return e.answer
    raise CaseError("give either `message`, or `request` and `response`")


def test_policy_cases() -> None:
    n = cr.run(
        Spec(
            folder="policy",
            file_inputs=["policy", "context"],
            case_inputs=["policy", "message", "request", "response", "context"],
            case_keys=[],
            expects=["expect", "expectPolicy"],
        ),
        judge_policy,
    )
    assert n > 0


def judge_expr(case: Case) -> Any:
    expression = case.str("expression")
    if expression is None:
        raise CaseError("no `expression`")
    ty = case.str("type") or "auto"
    if ty not in ("auto", "string", "boolean"):
        raise CaseError(f"unknown `type` {ty!r}")
    ctx = context_of(case.input_text("context"))
    message = case.input("message")
    try:
        return {"value": mp.evaluate(expression, ctx, message, ty)}
    except (mp.InvalidExpressionError, mp.EvaluationFailedError) as e:
        return e.answer
    except mp.MessageError as e:
        raise CaseError(f"the message does not parse: {e}") from e


def test_expr_cases() -> None:
    n = cr.run(
        Spec(
            folder="expr",
            file_inputs=["context", "message"],
            case_inputs=["context", "message"],
            case_keys=["expression", "type"],
            expects=["expect"],
        ),
        judge_expr,
    )
    assert n > 0


# --- exchange ---------------------------------------------------------------------------

MAX_SPLIT_REPLAY = 16 * 1024
FILE_KEYS = {"description", "policy", "policyFile", "options", "cases"}
CASE_KEYS = {"name", "resumable", "steps"}
STEP_KEYS = {
    "body", "bodyText", "bodyFile", "headers", "context", "data", "dataText", "dataFile",
    "status", "contentType", "contentEncoding", "lastEventId", "failure", "detail", "streaming",
}
STEP_KINDS = ["client", "head", "chunks", "finish", "body", "message", "stream", "route", "fail", "failAll"]
FAILURES = {"unreachable", "timeout", "broken", "shutting_down", "unjudgeable"}


def header_value(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, str):
        return v
    raise CaseError(f"a header value must be a string, found {cr.show(v)}")


def chunk_list(step: dict[str, Any]) -> list[bytes]:
    data = step.get("data")
    if not isinstance(data, list):
        raise CaseError('`chunks` steps give their bytes as `data`: ["…", …]')
    if not all(isinstance(c, str) for c in data):
        raise CaseError("each chunk is a string")
    return [c.encode() for c in data]


class Run:
    def __init__(self, guard: mp.Guard, session: mp.Session) -> None:
        self.guard = guard
        self.session = session
        self.exchanges: dict[str, mp.Exchange] = {}
        self.labels: dict[int, str] = {}

    def exchange(self, name: str) -> mp.Exchange:
        if name not in self.exchanges:
            raise CaseError(f"no exchange named `{name}` (open it with a `client` or `stream` step first)")
        return self.exchanges[name]

    def step(self, step: dict[str, Any], split: list[bytes] | None) -> Any:
        kind = next((k for k in STEP_KINDS if k in step), None)
        if kind is None:
            raise CaseError(f"a step needs one of {STEP_KINDS}")
        ctx = None
        if "context" in step:
            try:
                ctx = mp.Context(cr.compact(step["context"]))
            except mp.McpPolicyError as e:
                raise CaseError(f"context: {e}") from e

        def label(k: str) -> str:
            v = step.get(k)
            if not isinstance(v, str):
                raise CaseError(f"`{k}` must name the exchange (a string)")
            return v

        def data() -> bytes:
            b = cr.resolve(step, "data")
            if b is None:
                raise CaseError(f"`{kind}` steps give `data` or `dataText`")
            return b

        if kind == "client":
            name = label("client")
            body = cr.resolve(step, "body")
            if body is None:
                raise CaseError("`client` needs `body` or `bodyText`")
            h = step.get("headers")
            if h is None:
                headers = [("content-type", "application/json")]
            elif isinstance(h, dict):
                headers = [(k, header_value(v) or "") for k, v in h.items()]
            elif isinstance(h, list):
                headers = []
                for p in h:
                    if not (isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p)):
                        raise CaseError(f"a header pair is [name, value], found {cr.show(p)}")
                    headers.append((p[0], p[1]))
            else:
                raise CaseError("`headers` is an object or a list of [name, value]")
            verdict = self.guard.client(body, headers, ctx, self.session)
            if isinstance(verdict, mp.Forward):
                ex = verdict.exchange
                self.labels[ex.id] = name
                self.exchanges[name] = ex
            return verdict.answer
        if kind == "stream":
            name = label("stream")
            ex = self.guard.stream(self.session, header_value(step.get("lastEventId")))
            self.labels[ex.id] = name
            self.exchanges[name] = ex
            return {}
        if kind == "head":
            status = step.get("status", 200)
            ex = self.exchange(label("head"))
            head = ex.server_head(
                status, header_value(step.get("contentType")), header_value(step.get("contentEncoding"))
            )
            return {"head": head}
        if kind == "chunks":
            chunks = split if split is not None else chunk_list(step)
            ex = self.exchange(label("chunks"))
            merged: dict[str, Any] = {"toClient": "", "toServer": [], "end": False, "notes": None}
            for c in chunks:
                a = ex.server_chunk(c, ctx).answer
                merged = merge_steps(merged, a)
            return merged
        if kind == "finish":
            return self.exchange(label("finish")).finish().answer
        if kind == "body":
            b = data()
            return self.exchange(label("body")).server_body(b, ctx).answer
        if kind == "message":
            b = data()
            try:
                return self.exchange(label("message")).server_message(b, ctx).answer
            except mp.McpPolicyError as e:
                return e.answer
        if kind == "route":
            r = self.session.route(data())
            if isinstance(r, int):
                return {"route": self.labels.get(r, f"#{r}")}
            return {"route": r}
        if kind == "fail":
            failure = step.get("failure")
            if failure not in FAILURES:
                raise CaseError(f"unknown failure {failure!r}")
            detail = step.get("detail", "failed")
            ex = self.exchange(label("fail"))
            if step.get("streaming") is True:
                return ex.fail_stream(failure, detail).answer
            return ex.fail_reply(failure, detail).answer
        if kind == "failAll":
            msg = step.get("failAll")
            msg = msg if isinstance(msg, str) else "failed"
            return [[self.labels.get(i, ""), body.decode("utf-8", "replace")] for i, body in self.session.fail_all(msg, -32603)]
        raise AssertionError(kind)


def merge_steps(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """``Step::merge`` on answers: bytes appended, counts summed, the latest error code and
    failure kept. Only the runner merges (a case compares a whole `chunks` step); a host sends
    each step as it comes."""
    notes_a, notes_b = a["notes"], b["notes"]
    if notes_a is None:
        notes = dict(notes_b)
    else:
        notes = {k: notes_a[k] + notes_b[k] for k in ("answered", "withheld", "refused", "dropped", "hidden", "failed")}
        notes["errorCode"] = notes_b["errorCode"] if notes_b["errorCode"] is not None else notes_a["errorCode"]
        notes["failure"] = notes_b["failure"] if notes_b["failure"] is not None else notes_a["failure"]
    return {
        "toClient": a["toClient"] + b["toClient"],
        "toServer": a["toServer"] + b["toServer"],
        "end": a["end"] or b["end"],
        "notes": notes,
    }


def step_keys_ok(step: dict[str, Any]) -> None:
    allowed = {*STEP_KINDS, *STEP_KEYS, "expect"}
    bad = [k for k in step if k not in allowed]
    if bad:
        raise CaseError(f"unknown step keys {bad}")


def run_case(guard: mp.Guard, case: dict[str, Any], split: tuple[int, list[bytes]] | None, f: Failures, where: tuple[str, str, str]) -> None:
    file, name, variant = where
    session = guard.session()
    if case.get("resumable") is True:
        session.set_resumable(True)
    run = Run(guard, session)
    steps = case.get("steps")
    if not isinstance(steps, list):
        f.add(file, name, "a case needs `steps` (an array)")
        return
    for i, step in enumerate(steps):
        if not isinstance(step, dict):
            f.add(file, name, f"step {i} is not an object")
            return
        try:
            step_keys_ok(step)
        except CaseError as e:
            f.add(file, name, f"step {i}: {e}")
            return
        cut = split[1] if split is not None and split[0] == i else None
        try:
            actual = run.step(step, cut)
        except CaseError as e:
            f.add(file, name, f"step {i}{variant}: cannot run: {e}")
            return
        if "expect" in step:
            m = cr.matches(step["expect"], actual)
            if m:
                f.add(file, name, f"step {i}{variant}: `expect` at {m.path}: expected {m.expected}, got {m.actual}\n  answer: {cr.show(actual)}")
                return
        elif "stream" not in step:
            f.add(file, name, f"step {i} needs `expect`")
            return


def guard_of(doc: dict[str, Any]) -> mp.Guard:
    if "policy" in doc and "policyFile" not in doc:
        policy = mp.Policy.from_json(cr.compact(doc["policy"]))
    elif "policyFile" in doc and "policy" not in doc and isinstance(doc["policyFile"], str):
        policy = mp.Policy.from_file(cr.ROOT / doc["policyFile"])
    else:
        raise CaseError("give `policy` or `policyFile`")
    options = doc.get("options") or {}
    url = options.get("resourceMetadataUrl")
    max_pending = options.get("maxPending")
    scopes = options.get("challengeScopes")
    return policy.guard(
        resource_metadata_url=url if isinstance(url, str) else None,
        max_pending=max_pending if isinstance(max_pending, int) else 1024,
        challenge_scopes=[s for s in scopes if isinstance(s, str)] if isinstance(scopes, list) else None,
    )


def test_exchange_cases() -> None:
    f = Failures()
    count = 0
    files = cr.load("exchange", f)
    for file in files:
        bad = [k for k in file.doc if k not in FILE_KEYS]
        if bad:
            f.add(file.path, None, f"unknown top-level keys {bad}")
            continue
        try:
            guard = guard_of(file.doc)
        except (CaseError, mp.McpPolicyError) as e:
            f.add(file.path, None, str(e))
            continue
        cases = file.doc.get("cases")
        if not isinstance(cases, list):
            f.add(file.path, None, "`cases` must be an array")
            continue
        for case in cases:
            if not isinstance(case, dict):
                f.add(file.path, None, "a case is not an object")
                continue
            name = case.get("name")
            if not isinstance(name, str):
                f.add(file.path, None, "a case has no `name`")
                continue
            bad = [k for k in case if k not in CASE_KEYS]
            if bad:
                f.add(file.path, name, f"unknown keys {bad}")
                continue
            count += 1
            run_case(guard, case, None, f, (file.path, name, ""))
            steps = case.get("steps")
            if not isinstance(steps, list):
                continue
            for i, step in enumerate(steps):
                if not (isinstance(step, dict) and "chunks" in step):
                    continue
                try:
                    chunks = chunk_list(step)
                except CaseError:
                    continue
                whole = b"".join(chunks)
                if len(whole) > MAX_SPLIT_REPLAY:
                    continue
                for at in range(len(whole) + 1):
                    run_case(guard, case, (i, [whole[:at], whole[at:]]), f, (file.path, name, f" (cut at byte {at})"))
                run_case(guard, case, (i, [whole[j : j + 1] for j in range(len(whole))]), f, (file.path, name, " (one byte at a time)"))
    print(f"cases/exchange: {count} cases in {len(files)} files")
    assert count > 0
    f.finish("exchange")


def test_matcher_follows_the_readme() -> None:
    answer = {"decision": "deny", "status": 200, "rule": None, "extra": [1],
              "body": json.dumps({"result": {"tools": [{"name": "echo", "d": 1}]}, "id": 1})}
    expect = {"decision": "deny", "status": 200.0, "rule": None, "mode": None,
              "bodyJson": {"result": {"tools": [{"name": "echo"}]}}}
    assert cr.matches(expect, answer) is None
    m = cr.matches({"error": {"code": -32602}}, {"error": {"code": -32601}})
    assert m is not None and m.path == "$.error.code"
    assert cr.matches({"s": 200}, {"s": "200"}) is not None
    assert cr.matches("null", None) is not None
    assert cr.matches({"k": False}, {"k": None}) is not None
    assert cr.matches({"k": True}, {"k": 1}) is not None
    m = cr.matches({"a": [1, 2]}, {"a": [1]})
    assert m is not None and m.path == "$.a"
    m = cr.matches({"bodyJson": {}}, {"body": "{nope"})
    assert m is not None and "not JSON" in m.actual
    assert cr.matches({"bodyJson": None}, {"body": None}) is None
    m = cr.matches({"audit": {"rule": 1}}, {"audit": {}})
    assert m is not None and m.actual == "(absent)"
