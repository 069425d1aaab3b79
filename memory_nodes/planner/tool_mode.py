"""Closed-loop tool mode: the model calls memory tools and skills, one call per turn.

Each turn the model sees the task, the recent calls with their results, and what the
robot holds, and writes ONE call as a JSON object: a memory tool (`find_label`,
`find_text`, `find_in_room`, `last_seen`, `contents`, `recent_changes`), a skill (the
skills of `skills_api`), or `done` / `give_up`. The call is decoded under a JSON schema
built for that step (`call_schema`): tool and skill names, and argument values that exist
now (the object handles memory has reported, such as `Apple_1`; the rooms; the ontology's
labels), so a constrained decoder (xgrammar locally, a server's structured output
remotely) can only write real names. Whatever comes back is validated against the same
vocabulary (`check_call`); a rejected call is retried once with the named error, then the
loop stops. Memory tools answer from a `MemoryView`; skills run through the grounded
`TaskRunner`'s executor, so the loop sees real results, failures included. The loop stops
on `done` / `give_up`, a step budget, a token budget, or a repeated call (loop detection).
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from memory_nodes.domain.household import HOUSEHOLD
from memory_nodes.domain.ontology import Ontology
from memory_nodes.domain.skills import SkillCall, SkillTarget
from memory_nodes.planner.model_planner import Generation, GenerationError
from memory_nodes.planner.plan import MemoryHit, MemoryView, PlanRequest, PlanResult, PlanStep
from memory_nodes.planner.skills_api import ANY_AREA, COMPOSITE_SKILLS, RELATIONS, SKILLS
from memory_nodes.planner.task_runner import STALE_REASONS, TaskOutcome, TaskRunner

log = logging.getLogger(__name__)

#: Memory tools: name -> (argument, what it answers).
MEMORY_TOOLS: dict[str, tuple[str, str]] = {
    'find_label': ('label', 'remembered objects of a type'),
    'find_text': ('text', 'remembered objects matching a description'),
    'find_in_room': ('room', 'remembered objects in a room'),
    'last_seen': ('object', 'where and when an object was last seen'),
    'contents': ('receptacle', 'what is in or on a receptacle'),
    'recent_changes': ('', 'what changed recently'),
}
#: Skills and their arguments in tool mode (`put` places whatever the robot holds).
SKILL_ARGS: dict[str, tuple[str, ...]] = {
    name: (('receptacle', 'relation') if name == 'put' else
           ('area',) if name == 'explore' else ('object',))
    for name in SKILLS}
#: Calls that end the loop.
FINISH: dict[str, tuple[str, ...]] = {'done': (), 'give_up': ('reason',)}
#: Longest free text (find_text, give_up) a call may carry.
MAX_TEXT_CHARS = 48


class ToolCallError(ValueError):
    """A call that does not name a tool, a skill or existing things (message says which)."""


@dataclass
class Vocabulary:
    """What a call may name at one step."""

    labels: list[str]
    rooms: list[str]
    objects: dict[str, MemoryHit]  # handle -> hit
    receptacles: list[str]  # handles of objects that are receptacles

    def enums(self) -> dict[str, list[str]]:
        """Allowed values per argument ([] for free text, absent: nothing allowed)."""
        out: dict[str, list[str]] = {'label': self.labels, 'relation': list(RELATIONS),
                                     'area': self.rooms + [ANY_AREA]}
        if self.rooms:
            out['room'] = self.rooms
        if self.objects:
            out['object'] = sorted(self.objects)
        if self.receptacles:
            out['receptacle'] = self.receptacles
        return out


def call_names() -> list[str]:
    """Every call name, in prompt order."""
    return list(MEMORY_TOOLS) + list(SKILL_ARGS) + list(FINISH)


def _args_of(name: str) -> tuple[str, ...]:
    if name in MEMORY_TOOLS:
        arg = MEMORY_TOOLS[name][0]
        return (arg,) if arg else ()
    return SKILL_ARGS.get(name) or FINISH.get(name, ())


def call_schema(vocab: Vocabulary) -> dict[str, Any]:
    """JSON schema of one call at this step: only calls whose arguments can be filled."""
    enums = vocab.enums()
    options = []
    for name in call_names():
        props: dict[str, Any] = {'call': {'const': name}}
        ok = True
        for arg in _args_of(name):
            if arg in ('text', 'reason'):
                # (no `pattern`: it made xgrammar's compile 25x slower)
                props[arg] = {'type': 'string', 'minLength': 1, 'maxLength': MAX_TEXT_CHARS}
            elif enums.get(arg):
                props[arg] = {'enum': enums[arg]}
            else:
                ok = False
        if ok:
            options.append({'type': 'object', 'properties': props,
                            'required': list(props), 'additionalProperties': False})
    return {'anyOf': options}


def check_call(text: str, vocab: Vocabulary) -> dict[str, str]:
    """Parse and validate one call; raises `ToolCallError` naming what is wrong."""
    raw = text.strip()
    start, end = raw.find('{'), raw.rfind('}')
    if start < 0 or end < start:
        raise ToolCallError(f'not_json: no JSON object in {raw[:80]!r}')
    try:
        call = json.loads(raw[start:end + 1])
    except json.JSONDecodeError as err:
        raise ToolCallError(f'not_json: {err.msg} in {raw[start:start + 80]!r}') from err
    if not isinstance(call, dict) or not isinstance(call.get('call'), str):
        raise ToolCallError('no_call: the object needs a "call" name')
    name = call['call']
    if name not in call_names():
        raise ToolCallError(f'unknown_call: {name!r} is not a tool or skill')
    want = _args_of(name)
    extra = sorted(set(call) - {'call', *want})
    if extra:
        raise ToolCallError(f'unknown_argument: {name} takes no {", ".join(extra)}')
    enums = vocab.enums()
    out = {'call': name}
    for arg in want:
        value = call.get(arg)
        if not isinstance(value, str) or not value.strip():
            raise ToolCallError(f'missing_argument: {name} needs {arg}')
        if arg in ('text', 'reason'):
            value = ' '.join(value.split())  # line breaks and tabs are blanks here
            if len(value) > MAX_TEXT_CHARS or not value:
                raise ToolCallError(f'bad_text: {arg} must be 1..{MAX_TEXT_CHARS} characters')
        elif value not in enums.get(arg, []):
            raise ToolCallError(f'unknown_{arg}: {value!r} is no {arg} memory knows now')
        out[arg] = value
    return out


def call_text(call: dict[str, str]) -> str:
    """`navigate_to(Apple_1)` style text of a call."""
    args = [v for k, v in call.items() if k != 'call']
    return f'{call["call"]}({", ".join(args)})'


class ToolCaller(Protocol):
    """A generator that can decode under a JSON schema (or at least be asked to)."""

    name: str

    def generate(self, messages: list[dict[str, str]], image: Any = None,
                 max_new_tokens: int | None = None,
                 json_schema: dict[str, Any] | None = None) -> Generation:
        """One completion, constrained to `json_schema` where the generator can."""
        ...


@dataclass
class ToolModeConfig:
    """Budgets of the loop."""

    max_steps: int = 16  # calls per task (valid or not)
    token_budget: int = 24000  # prompt + completion tokens per task
    max_new_tokens: int = 40  # per call
    #: A call repeating one of the last N calls since the last successful skill stops
    #: the loop (a skill that worked changed the world: questions may be asked again).
    loop_window: int = 4
    history_turns: int = 6  # earlier calls and results the prompt keeps
    top_k: int = 5  # hits per memory tool
    attempts: int = 2  # a rejected call is retried once with the error fed back

    def __post_init__(self) -> None:
        """Reject budgets that cannot run."""
        for name in ('max_steps', 'token_budget', 'max_new_tokens', 'loop_window',
                     'top_k', 'attempts'):
            if getattr(self, name) < 1:
                raise ValueError(f'tool mode {name} must be >= 1, got {getattr(self, name)}')
        if self.history_turns < 0:
            raise ValueError('tool mode history_turns must be >= 0')


@dataclass
class CallRecord:
    """One call the model made (or tried to)."""

    text: str
    valid: bool
    result: str
    seconds: float
    prompt_tokens: int
    new_tokens: int
    kind: str = ''  # 'tool' | 'skill' | 'finish' | 'loop' | '' (invalid)
    call: dict[str, str] = field(default_factory=dict)  # the parsed call (valid ones)
    memory_ids: dict[str, str] = field(default_factory=dict)  # argument -> memory id


@dataclass
class ToolRun:
    """What one task came to in tool mode."""

    calls: list[CallRecord] = field(default_factory=list)
    stop: str = ''  # 'done', 'give_up: ...', 'step_budget', 'token_budget', 'loop: ...'
    prompt_tokens: int = 0
    new_tokens: int = 0

    @property
    def valid_calls(self) -> int:
        """Calls that parsed and named existing things."""
        return sum(c.valid for c in self.calls)

    @property
    def done(self) -> bool:
        """Whether the model said the task is done."""
        return self.stop == 'done'


class _Handles:
    """Short stable names (`Apple_1`) for memory ids, per task."""

    def __init__(self, ontology: Ontology) -> None:
        self.ontology = ontology
        self.by_id: dict[str, str] = {}
        self.hits: dict[str, MemoryHit] = {}

    def name(self, hit: MemoryHit) -> str:
        handle = self.by_id.get(hit.id)
        if handle is None:
            kind = self.ontology.canonical_type(hit.label) or re.sub(r'\W', '', hit.label)
            n = sum(h.startswith(kind + '_') for h in self.hits) + 1
            handle = self.by_id[hit.id] = f'{kind}_{n}'
        self.hits[handle] = hit
        return handle

    def forget(self, handle: str) -> None:
        self.hits.pop(handle, None)


SYSTEM = ('You control a household robot. Reply with ONE JSON call per turn.\n'
          'Memory tools: {tools}.\nSkills: {skills}.\nFinish: done(), give_up(reason).\n'
          'Name objects by the handles the tools return (like Apple_1). Go to a thing '
          'before acting on it; put places what you hold. Do not ask the same twice.\n'
          'Example, "put the cup in the sink": find_label(Cup) -> Cup_1: on Table_1; '
          'navigate_to(Cup_1); pick_up(Cup_1); find_label(Sink) -> Sink_1; '
          'navigate_to(Sink_1); put(Sink_1, in); done().\n'
          'Write each call as JSON: {{"call": "navigate_to", "object": "Cup_1"}}')


def system_prompt() -> str:
    """The fixed system message of tool mode."""
    tools = ', '.join(f'{n}({a})' for n, (a, _) in MEMORY_TOOLS.items())
    skills = ', '.join(f'{n}({", ".join(a)})' for n, a in SKILL_ARGS.items())
    return SYSTEM.format(tools=tools, skills=skills)


class ToolPlanner:
    """Closed-loop planner: a `ToolCaller` calls memory tools and skills until done.

    A `PlannerBackend` by interface (`plan` returns no steps: this mode acts, it does not
    write plans); `run_tools` is the loop `TaskPlanner` runs when `closed_loop` is set.
    """

    closed_loop = True

    def __init__(self, caller: ToolCaller, memory: MemoryView | None = None,
                 config: ToolModeConfig | None = None, ontology: Ontology = HOUSEHOLD,
                 name: str | None = None) -> None:
        self.caller = caller
        self.memory = memory
        self.config = config or ToolModeConfig()
        self.ontology = ontology
        self.name = name or f'{caller.name}-tools'
        self.system = system_prompt()

    def plan(self, request: PlanRequest) -> PlanResult:
        """Tool mode acts step by step; it has no open-loop plan to give."""
        return PlanResult([], self.name, errors=['closed_loop: tool mode runs through '
                                                 'run_tools with a robot'])

    # -- vocabulary and tools ------------------------------------------------------
    def _vocab(self, handles: _Handles) -> Vocabulary:
        rooms = list(self.memory.rooms()) if self.memory is not None else []
        recs = sorted(h for h, hit in handles.hits.items()
                      if (spec := self.ontology.get(
                          self.ontology.canonical_type(hit.label) or '')) is not None
                      and spec.receptacle is not None)
        return Vocabulary(sorted(self.ontology), rooms, dict(handles.hits), recs)

    def _line(self, hit: MemoryHit, handles: _Handles, now: float) -> str:
        parts = []
        if hit.support:
            sup = self.memory.get(hit.support) if self.memory is not None else None
            parts.append(f'{hit.relation or "on"} {handles.name(sup) if sup else hit.support}')
        if hit.room:
            parts.append(hit.room)
        parts += [k for k, v in sorted(hit.states.items()) if v]
        if hit.last_seen:
            parts.append(f'seen {max(0.0, now - hit.last_seen):.0f}s ago')
        return f'{handles.name(hit)}: {", ".join(parts)}' if parts else handles.name(hit)

    def _listing(self, hits: Sequence[MemoryHit], handles: _Handles, now: float) -> str:
        if not hits:
            return 'nothing remembered'
        return '; '.join(self._line(h, handles, now) for h in hits[:self.config.top_k])

    def _tool(self, call: dict[str, str], handles: _Handles, now: float,
              instruction: str) -> str:
        memory, k = self.memory, self.config.top_k
        if memory is None:
            return 'no memory'
        name = call['call']
        if name == 'find_label':
            hits = memory.find(label=call['label'], top_k=k)
        elif name == 'find_text':
            hits = memory.find(text=call['text'], top_k=k)
        elif name == 'find_in_room':
            hits = memory.find(text=call['room'].replace('_', ' '), room=call['room'],
                               top_k=k)
        elif name == 'last_seen':
            hit = memory.get(handles.hits[call['object']].id) or handles.hits[call['object']]
            return self._line(hit, handles, now)
        elif name == 'contents':
            rec = handles.hits[call['receptacle']]
            near = memory.find(text=rec.label, near=rec.position, top_k=4 * k)
            hits = [h for h in near if h.id != rec.id and (
                h.support == rec.id or (not h.support and _dist(h, rec) < 0.6))]
        else:  # recent_changes
            hits = sorted(memory.recall(instruction, top_k=k), key=lambda h: -h.last_seen)
        return self._listing(hits, handles, now)

    # -- skills --------------------------------------------------------------------
    def _target(self, handle: str, handles: _Handles) -> SkillTarget:
        hit = handles.hits[handle]
        kind = self.ontology.canonical_type(hit.label) or hit.label
        return SkillTarget(object_type=kind, position=tuple(hit.position))

    def _skill(self, call: dict[str, str], handles: _Handles, runner: TaskRunner,
               out: TaskOutcome) -> str:
        from memory_nodes.planner.grounded_backend import execute_plan_steps

        name = call['call']
        if name == 'explore':
            area = call['area']
            out.explorations += 1
            sc = SkillCall('explore', area=None if area == ANY_AREA else area)
        elif name in COMPOSITE_SKILLS:
            hit = handles.hits[call['object']]
            kind = self.ontology.canonical_type(hit.label) or hit.label
            failure = execute_plan_steps([PlanStep(name, object=kind)], runner, out)
            return 'ok' if failure is None else f'failed: {failure.reason}'
        elif name == 'put':
            sc = SkillCall('put', target=runner.holding,
                           receptacle=self._target(call['receptacle'], handles),
                           relation=call['relation'])  # type: ignore[arg-type]
        else:
            sc = SkillCall(name, target=self._target(call['object'], handles))
        result = runner.execute(sc, out)
        if result.success:
            return 'ok'
        handle = call.get('object')
        if result.reason in STALE_REASONS and handle and self.memory is not None:
            self.memory.report_missing(handles.hits[handle], runner.robot.now())
            handles.forget(handle)  # memory was wrong about it: no longer a name
        return f'failed: {result.reason or "no reason given"}'

    # -- the loop ------------------------------------------------------------------
    def _messages(self, instruction: str, turns: list[tuple[str, str]], rooms: list[str],
                  held: str, error: str) -> list[dict[str, str]]:
        msgs = [{'role': 'system', 'content': self.system},
                {'role': 'user', 'content': f'Task: {instruction}\nRooms: '
                 f'{", ".join(rooms) or "unknown"}'}]
        keep = turns[-self.config.history_turns:] if self.config.history_turns else []
        for i, (call, result) in enumerate(keep):
            msgs.append({'role': 'assistant', 'content': call})
            tail = f'\nHolding: {held}' if i == len(keep) - 1 else ''
            msgs.append({'role': 'user', 'content': f'Result: {result}{tail}'})
        if error:
            msgs.append({'role': 'user', 'content': f'Rejected: {error}. Call again.'})
        return msgs

    def run_tools(self, instruction: str, runner: TaskRunner, out: TaskOutcome,
                  on_call: Callable[[CallRecord], object] | None = None) -> ToolRun:
        """Let the model call tools and skills for `instruction` until it stops."""
        cfg = self.config
        run = ToolRun()
        handles = _Handles(self.ontology)
        turns: list[tuple[str, str]] = []
        recent: list[str] = []
        t_start = time.perf_counter()
        while not run.stop:
            if len(run.calls) >= cfg.max_steps:
                run.stop = f'step_budget: {cfg.max_steps} calls'
                break
            if run.prompt_tokens + run.new_tokens >= cfg.token_budget:
                run.stop = f'token_budget: {run.prompt_tokens + run.new_tokens} tokens'
                break
            vocab = self._vocab(handles)
            held = runner.robot.held_type() or 'nothing'
            error = ''
            call = None
            for _attempt in range(cfg.attempts):
                msgs = self._messages(instruction, turns, vocab.rooms, held, error)
                try:
                    gen = self.caller.generate(msgs, None, cfg.max_new_tokens,
                                               json_schema=call_schema(vocab))
                except GenerationError as err:
                    run.stop = f'generation_failed: {err}'
                    break
                run.prompt_tokens += gen.prompt_tokens
                run.new_tokens += gen.completion_tokens
                try:
                    call = check_call(gen.text, vocab)
                except ToolCallError as err:
                    error = str(err)
                    record = CallRecord(gen.text.strip()[:120], False, f'rejected: {error}',
                                        gen.seconds, gen.prompt_tokens,
                                        gen.completion_tokens)
                    run.calls.append(record)
                    if on_call is not None:
                        on_call(record)
                    continue
                break
            if run.stop:
                break
            if call is None:
                run.stop = f'invalid_call: {error}'
                break
            text = call_text(call)
            if text in recent[-cfg.loop_window:]:
                run.stop = f'loop: {text} repeated'
                run.calls.append(CallRecord(text, True, 'not run (loop)', gen.seconds,
                                            gen.prompt_tokens, gen.completion_tokens,
                                            'loop'))
                break
            recent.append(text)
            recent = recent[-cfg.loop_window:]
            name = call['call']
            ids = {arg: handles.hits[value].id for arg, value in call.items()
                   if arg in ('object', 'receptacle')}
            if name in FINISH:
                kind = 'finish'
                result = 'stopped'
                run.stop = 'done' if name == 'done' else f'give_up: {call["reason"]}'
            elif name in MEMORY_TOOLS:
                kind = 'tool'
                result = self._tool(call, handles, runner.robot.now(), instruction)
            else:
                kind = 'skill'
                result = self._skill(call, handles, runner, out)
            if kind == 'skill' and result == 'ok':
                recent = [text]  # the world changed: earlier questions may be asked again
            record = CallRecord(text, True, result, gen.seconds, gen.prompt_tokens,
                                gen.completion_tokens, kind, call, ids)
            run.calls.append(record)
            if on_call is not None:
                on_call(record)
            turns.append((json.dumps(call), result))
        out.believed_done = run.done
        out.wall_time_s = time.perf_counter() - t_start
        if not run.done:
            out.failure = out.error = f'tool mode stopped: {run.stop}'
        log.info('tool mode %s: %d calls (%d valid), stop %s', self.name, len(run.calls),
                 run.valid_calls, run.stop)
        return run


def _dist(a: MemoryHit, b: MemoryHit) -> float:
    return sum((p - q) ** 2 for p, q in zip(a.position[:2], b.position[:2])) ** 0.5
