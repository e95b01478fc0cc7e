"""The LLM layer without servers: tolerant parsing, the fake, the wrappers, the Decider."""

import asyncio
import datetime as dt
import random

import pytest

from smallville.cognition import next_action
from smallville.cognition.decisions import Decider, InvalidAnswer, Repaired, render, template
from smallville.cognition.interface import Action
from smallville.errors import LLMError
from smallville.llm.answers import check, extract_json
from smallville.llm.factory import Chosen, choose, resolve_auto, wrap
from smallville.llm.fake import FakeLLM
from smallville.llm.faults import BudgetExhausted, CallFailed, LLMFault
from smallville.llm.protocol import Message, Request
from smallville.llm.wrappers import Budget, Limit, Metered, Record, Retry, Structured, Usage, content_key, price_of
from smallville.world.config import LLMSettings, load_persona

from conftest import DATA

SCHEMA = template("next_action")[1]
NOW = dt.datetime(2023, 2, 13, 7, 30)
GOOD = {"activity": "serving coffee", "place": "Cafe:cafe", "emoji": "☕", "minutes": 30}


def req(**kw) -> Request:
    base = dict(messages=(Message("user", "hi"),), schema=SCHEMA, schema_name="next_action", seed=7,
                decision="next_action", agent="Ann Example", tick=3)
    return Request(**{**base, **kw})


def run(coro):
    return asyncio.run(coro)


async def no_sleep(_s):
    return None


# ---------------------------------------------------------------- answers
@pytest.mark.parametrize("text", [
    '{"a": 1}', '```json\n{"a": 1}\n```', 'Sure! Here it is: {"a": 1} Hope that helps.', '{"a": 1,}',
    'prefix {"a": 1} {"b": 2}',
])
def test_extract_json_tolerates_wrapping(text):
    assert extract_json(text) == {"a": 1}


def test_check_names_the_fault_kind():
    with pytest.raises(LLMFault) as e:
        check("", SCHEMA)
    assert e.value.kind == "empty"
    with pytest.raises(LLMFault) as e:
        check('{"activity": "x", "place": ', SCHEMA)
    assert e.value.kind == "malformed" and e.value.raw.startswith("{")
    with pytest.raises(LLMFault) as e:
        check('{"activity": 5}', SCHEMA)
    assert e.value.kind == "schema"
    assert check(" Answer: " + '{"activity": "a", "place": "b", "emoji": "c", "minutes": 9}', SCHEMA)["minutes"] == 9


# ---------------------------------------------------------------- fake
def test_fake_llm_scripts_answers_and_keeps_history():
    fake = FakeLLM([GOOD, "plain text", LLMFault("timeout", "slow")], default=lambda r: {"n": len(r.messages)})
    assert run(fake.complete(req())).text.startswith('{"activity"')
    assert run(fake.complete(req())).text == "plain text"
    with pytest.raises(LLMFault):
        run(fake.complete(req()))
    assert run(fake.complete(req())).text == '{"n": 1}'
    assert len(fake.requests) == 4 and fake.prompts == ["hi"] * 4
    with pytest.raises(LookupError):
        run(FakeLLM().complete(req()))


# ---------------------------------------------------------------- content key
def test_content_key_is_stable_and_covers_what_is_asked():
    k = content_key("openai", "m", req())
    assert k == content_key("openai", "m", req(agent="Bob", tick=99, attempt=3))  # who/when do not matter
    assert k != content_key("openai", "m", req(seed=8))
    assert k != content_key("local", "m", req())
    assert k != content_key("openai", "m", req(temperature=0.1))
    assert k != content_key("openai", "m", req(messages=(Message("user", "hello"),)))
    reordered = dict(reversed(list(SCHEMA.items())))
    assert k == content_key("openai", "m", req(schema=reordered))  # canonical JSON
    assert len(k) == 32 and int(k, 16) >= 0


# ---------------------------------------------------------------- wrappers
def test_retry_retries_retryable_faults_with_the_next_seed():
    fake = FakeLLM([LLMFault("rate_limit", "slow down"), "not json", GOOD])
    lm = Retry(Structured(fake), attempts=4, sleep=no_sleep)
    resp = run(lm.complete(req()))
    assert resp.value == GOOD
    assert [r.seed for r in fake.requests] == [7, 8, 9] and [r.attempt for r in fake.requests] == [0, 1, 2]


def test_retry_gives_up_and_does_not_retry_client_errors():
    slept = []

    async def sleep(s):
        slept.append(s)

    lm = Retry(Structured(FakeLLM(default="nope")), attempts=3, base_s=0.1, sleep=sleep)
    with pytest.raises(CallFailed) as e:
        run(lm.complete(req()))
    assert e.value.attempts == 3 and e.value.kind == "malformed" and len(slept) == 2
    assert 0.05 <= slept[0] <= 0.1 and 0.1 <= slept[1] <= 0.2  # exponential, with jitter
    fake = FakeLLM([LLMFault("client_error", "HTTP 400")])
    with pytest.raises(CallFailed) as e:
        run(Retry(fake, attempts=3, sleep=no_sleep).complete(req()))
    assert e.value.attempts == 1 and len(fake.requests) == 1


def test_retry_honours_a_servers_retry_after_hint():
    r = Retry(FakeLLM(), base_s=0.1, cap_s=1.0)
    assert r.delay(0, hint=2.5) == 2.5 and r.delay(0, hint=100) == 4.0


def test_metered_and_record_account_every_attempt():
    rows, usage = [], Usage()
    fake = FakeLLM([LLMFault("server_error", "HTTP 500"), "garbage", GOOD], model="gpt-4o-mini")
    lm = Retry(Record(Metered(Structured(fake), usage), rows.append, secrets=("sk-xyz",)), sleep=no_sleep)
    resp = run(lm.complete(req()))
    assert usage.calls == 3 and usage.errors == 2 and usage.cache_hits == 0
    assert usage.tokens_out == 20 and usage.dollars > 0  # the failed "garbage" answer cost tokens too
    assert [r["error_kind"] for r in rows] == ["server_error", "malformed", None]
    assert rows[1]["response"] == "garbage" and rows[2]["value"] == GOOD and resp.extra["call"] is rows[2]
    assert len({r["key"] for r in rows}) == 3  # one seed per attempt
    assert all(r["agent"] == "Ann Example" and r["tick"] == 3 and r["decision"] == "next_action" for r in rows)


def test_record_redacts_secrets():
    rows = []
    fake = FakeLLM([LLMFault("server_error", "bad key sk-secret-123 here", raw="echo sk-secret-123")])
    with pytest.raises(LLMFault):
        run(Record(fake, rows.append, secrets=("sk-secret-123",)).complete(req()))
    assert "sk-secret-123" not in repr(rows) and "***" in rows[0]["error"]


def test_budget_caps_calls_exactly_under_concurrency():
    usage = Usage()
    fake = FakeLLM(default=GOOD, delay_s=0.01)
    budget = Budget(Metered(Structured(fake), usage), usage, calls=5)

    async def many():
        return await asyncio.gather(*(budget.complete(req(seed=i)) for i in range(12)), return_exceptions=True)

    results = run(many())
    assert sum(not isinstance(r, Exception) for r in results) == 5
    assert all(isinstance(r, BudgetExhausted) for r in results if isinstance(r, Exception))
    assert len(fake.requests) == 5 and budget.spent


def test_budget_caps_tokens_and_dollars():
    usage = Usage(tokens_in=90, tokens_out=10)
    assert Budget(FakeLLM(), usage, tokens=100).exhausted()
    assert not Budget(FakeLLM(), usage, tokens=101).exhausted()
    assert Budget(FakeLLM(), Usage(dollars=1.0), dollars=1.0).exhausted()
    assert price_of("gpt-4o-mini-2024-07-18") == price_of("gpt-4o-mini") != price_of("gpt-4o")
    assert price_of("SmolLM2-135M-Instruct.Q4_1.gguf") is None


def test_limit_bounds_requests_in_flight():
    inflight, peak = 0, 0

    class Slow(FakeLLM):
        async def complete(self, request):
            nonlocal inflight, peak
            inflight += 1
            peak = max(peak, inflight)
            await asyncio.sleep(0.01)
            inflight -= 1
            return await super().complete(request)

    lm = Limit(Slow(default=GOOD), 3)

    async def many():
        await asyncio.gather(*(lm.complete(req()) for _ in range(10)))

    run(many())
    assert peak == 3


def test_limit_serves_what_a_tick_waits_for_before_work_for_later():
    from smallville.llm.protocol import BACKGROUND

    order = []

    class Logged(FakeLLM):
        async def complete(self, request):
            order.append(request.agent)
            await asyncio.sleep(0.01)
            return await super().complete(request)

    lm = Limit(Logged(default=GOOD), 1)

    async def ask(agent, background):
        BACKGROUND.set(background)  # (each gathered coroutine runs in a task of its own context)
        return await lm.complete(req(agent=agent))

    async def many():
        first = asyncio.ensure_future(ask("now 1", False))
        await asyncio.sleep(0)  # it holds the one slot
        later = [asyncio.ensure_future(ask(f"later {i}", True)) for i in range(2)]
        await asyncio.sleep(0)
        now = asyncio.ensure_future(ask("now 2", False))
        await asyncio.gather(first, *later, now)

    run(many())
    assert order == ["now 1", "now 2", "later 0", "later 1"]


# ---------------------------------------------------------------- the decision
def persona():
    return load_persona(DATA / "tiny" / "ann.yaml")


def routine() -> Action:
    return Action("serving coffee", "Cafe:cafe", NOW + dt.timedelta(hours=4), emoji="☕", object="counter",
                  object_state="in use: serving coffee")


def test_next_action_parse_maps_places_and_clamps():
    p = persona()
    a = next_action.parse({**GOOD, "minutes": 1000}, p, NOW, routine())
    assert isinstance(a, Action) and a.end == NOW + dt.timedelta(minutes=240) and a.object == "counter"
    assert next_action.parse({**GOOD, "minutes": -3}, p, NOW, routine()).end == NOW + dt.timedelta(minutes=5)
    assert next_action.parse({**GOOD, "place": "cafe: KITCHEN"}, p, NOW, routine()).place == "Cafe:kitchen"
    assert next_action.parse({**GOOD, "place": "kitchen"}, p, NOW, routine()).place == "Cafe:kitchen"
    r = next_action.parse({**GOOD, "place": "the moon", "emoji": "smile", "activity": "  "}, p, NOW, routine())
    assert isinstance(r, Repaired) and "the moon" in r.reason
    assert r.value.place == "Cafe:cafe" and r.value.description == "serving coffee" and r.value.emoji == "☕"
    assert next_action.parse({**GOOD, "place": "Cafe:kitchen"}, p, NOW, routine()).object is None


def test_next_action_prompt_lists_known_places_and_narrows_the_schema():
    p = persona()
    messages, schema = render("next_action", next_action.variables(p, NOW, "", routine()),
                              {"place": next_action.places_of(p)})
    assert messages[0].role == "system"
    assert "Cafe:kitchen" in messages[1].content and "Monday 07:30" in messages[1].content
    assert schema["properties"]["place"]["enum"] == ["Ann's House:bedroom", "Cafe:cafe", "Cafe:kitchen"]


def decide(llm, answers_from=None, **kw):
    recorded = []
    d = Decider(llm, record=lambda **r: recorded.append(r))
    p = persona()
    out = run(d.decide("next_action", agent=p.name, tick=5, variables=next_action.variables(p, NOW, "", routine()),
                       rules=routine, parse=lambda v: next_action.parse(v, p, NOW, routine()),
                       rng=random.Random(1), **kw))
    return out, recorded


def test_decider_uses_the_llm_answer():
    fake = FakeLLM([{**GOOD, "activity": "wiping tables"}])
    out, rec = decide(Retry(Structured(fake), sleep=no_sleep))
    assert out.description == "wiping tables" and out.object_state == "in use: wiping tables"
    assert rec == [{"agent": "Ann Example", "name": "next_action", "backend": "fake", "fallback": False, "tick": 5,
                    "reason": None}]
    r = fake.requests[0]
    assert r.seed == random.Random(1).getrandbits(31) and r.schema_name == "next_action" and r.tick == 5


def test_decider_falls_back_to_rules_after_n_failures():
    fake = FakeLLM(default=LLMFault("server_error", "HTTP 503"))
    out, rec = decide(Retry(Structured(fake), attempts=3, sleep=no_sleep))
    assert out == routine() and len(fake.requests) == 3
    assert rec[0]["fallback"] is True and "server_error" in rec[0]["reason"]


def test_decider_records_a_repaired_answer_as_a_fallback_on_the_call():
    rows = []
    fake = FakeLLM([{**GOOD, "place": "Atlantis"}])
    out, rec = decide(Retry(Record(Structured(fake), rows.append), sleep=no_sleep))
    assert out.place == "Cafe:cafe" and rec[0]["fallback"] is True
    assert rows[0]["note"].startswith("repaired: unknown place 'Atlantis'")


def test_decider_falls_back_on_an_invalid_answer():
    def parse(v):
        raise InvalidAnswer("makes no sense")

    d = Decider(Structured(FakeLLM([GOOD])))
    recorded = []
    d.set_recorder(lambda **r: recorded.append(r))
    out = run(d.decide("next_action", agent="A", tick=1, variables=next_action.variables(
        persona(), NOW, "", routine()), rules=routine, parse=parse))
    assert out == routine() and recorded[0]["fallback"] and "makes no sense" in recorded[0]["reason"]


def test_decider_falls_back_when_parse_trips_on_a_valid_answer():
    rows = []
    d = Decider(Record(Structured(FakeLLM([GOOD])), rows.append))
    out = run(d.decide("next_action", agent="A", tick=1, variables=next_action.variables(
        persona(), NOW, "", routine()), rules=routine, parse=lambda v: v["no such key"]))
    assert out == routine() and rows[0]["note"] == "fallback: unusable answer: KeyError: 'no such key'"


def test_rules_decider_draws_nothing_from_the_rng():
    rng = random.Random(5)
    state = rng.getstate()
    d = Decider(None)
    out = run(d.decide("next_action", agent="A", tick=1, variables={}, rules=routine, parse=None, rng=rng))
    assert out == routine()
    assert rng.getstate() == state


# ---------------------------------------------------------------- choosing a backend
def test_auto_choice_follows_the_environment():
    assert resolve_auto({})[0] == "rules"
    assert resolve_auto({"OPENAI_API_KEY": "k"})[0] == "openai"
    assert resolve_auto({"SMALLVILLE_LLM_BASE_URL": "http://127.0.0.1:1/v1"})[0] == "openai"
    chosen = choose("auto", LLMSettings(), env={})
    assert chosen.name == "rules" and chosen.lm is None and "--llm" in chosen.line
    chosen = choose("openai", LLMSettings(), env={"OPENAI_API_KEY": "sk-abc", "SMALLVILLE_LLM_MODEL": "gpt-4o"})
    assert chosen.model == "gpt-4o" and "sk-abc" not in chosen.line and chosen.secrets == ("sk-abc",)


def test_bad_backend_settings_are_clear_errors():
    with pytest.raises(LLMError, match="OPENAI_API_KEY"):
        choose("openai", LLMSettings(), env={})
    with pytest.raises(LLMError, match="--replay-calls"):
        choose("replay", LLMSettings(), env={})
    with pytest.raises(LLMError, match="needs --llm replay"):
        choose("rules", LLMSettings(), env={}, replay_calls="somewhere")
    with pytest.raises(LLMError, match="not found"):
        choose("local", LLMSettings(model_path="/nonexistent/model.gguf"), env={})


def test_wrap_builds_the_whole_stack():
    stack = wrap(Chosen("fake", "fake-model", "", FakeLLM([GOOD])), LLMSettings(max_retries=2))
    assert isinstance(stack.lm, Retry) and stack.lm.attempts == 3
    assert run(stack.lm.complete(req())).value == GOOD and stack.usage.calls == 1


def test_a_refused_call_is_recorded_but_not_counted():
    rows, usage = [], Usage()
    stack = Retry(Record(Budget(Metered(Structured(FakeLLM(default=GOOD)), usage), usage, calls=1), rows.append),
                  sleep=no_sleep)
    run(stack.complete(req()))
    with pytest.raises(CallFailed) as e:
        run(stack.complete(req(seed=9)))
    assert e.value.kind == "budget" and e.value.attempts == 1  # not retried
    assert [r["error_kind"] for r in rows] == [None, "budget"] and rows[1]["requests"] == 0
    assert usage.calls == 1 and usage.errors == 0
