"""A `PlannerBackend` around any text generator: prompt, generate, validate, retry, fall back.

One attempt is: build the memory-augmented prompt within the token budget, generate,
parse the JSON plan, and check every name against memory. A rejected attempt is retried
once with the named validation error fed back; a second rejection (or a generator that
fails twice) hands the request to the fallback backend (the grounded planner), and the
result says so in `fallback` and lists every error. Nothing a model wrote is returned
unless it parsed and validated.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from memory_nodes.planner.plan import MemoryView, PlannerBackend, PlanRequest, PlanResult
from memory_nodes.planner.plan_format import PlanFormatError, parse_plan, validate_names
from memory_nodes.planner.prompt import PromptBuilder, PromptConfig, PromptError

log = logging.getLogger(__name__)


@dataclass
class Generation:
    """What a generator returned: text and its own token counts (0 when unknown)."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0


class GenerationError(RuntimeError):
    """The generator could not produce text (server down, model error, timeout)."""


class TextGenerator(Protocol):
    """A chat model: messages (+ optional image) in, text out."""

    name: str

    def generate(self, messages: list[dict[str, str]], image: np.ndarray | None = None,
                 max_new_tokens: int | None = None) -> Generation:
        """Greedy completion of the conversation; raise `GenerationError` on failure."""
        ...

    def token_counter(self) -> Callable[[str], int] | None:
        """The model's own token counter for plain text, if this generator has one."""
        ...

    def message_counter(self) -> Callable[[list[dict[str, str]]], int] | None:
        """Exact token count of a templated conversation, if this generator can tell."""
        ...


@dataclass
class ModelPlannerConfig:
    """Prompt budget, retries and limits of a model planner."""

    prompt: PromptConfig
    max_new_tokens: int = 384
    attempts: int = 2  # the first try plus one retry with the error fed back
    validate_against_memory: bool = True

    @classmethod
    def default(cls) -> ModelPlannerConfig:
        """Defaults: a 2048-token prompt budget, 384 new tokens, one retry."""
        return cls(PromptConfig())


class ModelPlanner:
    """Model-backed planner: any `TextGenerator` behind the `PlannerBackend` interface."""

    def __init__(self, generator: TextGenerator, memory: MemoryView | None = None,
                 fallback: PlannerBackend | None = None,
                 config: ModelPlannerConfig | None = None, name: str | None = None):
        self.generator = generator
        self.memory = memory
        self.fallback = fallback
        self.config = config or ModelPlannerConfig.default()
        self.name = name or generator.name
        self.prompts = PromptBuilder(memory, self.config.prompt,
                                     count_tokens=generator.token_counter(),
                                     count_messages=generator.message_counter())

    def _attempt(self, request: PlanRequest, result: PlanResult) -> str:
        """One try; fills `result.steps` on success, returns a named error otherwise."""
        prompt = self.prompts.build(request)
        try:
            gen = self.generator.generate(prompt.messages, prompt.image,
                                          self.config.max_new_tokens)
        except GenerationError as err:
            result.prompt_tokens += prompt.tokens
            return f'generation_failed: {err}'
        result.prompt_tokens += gen.prompt_tokens or prompt.tokens
        result.completion_tokens += gen.completion_tokens
        try:
            steps = parse_plan(gen.text, self.config.prompt.max_steps)
        except PlanFormatError as err:
            return str(err)
        if self.config.validate_against_memory and self.memory is not None:
            issues = validate_names(steps, self.memory)
            if issues:
                return '; '.join(i.text() for i in issues[:5])
        result.steps = steps
        return ''

    def plan(self, request: PlanRequest) -> PlanResult:
        """Plan with the model; retry once with feedback; else fall back (never raises)."""
        result = PlanResult(steps=[], backend=self.name, attempts=0)
        t0 = time.monotonic()
        current = request
        for attempt in range(max(1, self.config.attempts)):
            result.attempts = attempt + 1
            try:
                error = self._attempt(current, result)
            except PromptError as err:
                result.errors.append(str(err))
                break  # the same request cannot be prompted better
            except Exception as err:  # noqa: BLE001 - a backend must never crash the node
                log.exception('model planner %s: attempt %d crashed', self.name, attempt + 1)
                error = f'planner_error: {type(err).__name__}: {err}'
            if not error:
                log.info('model planner %s: %d steps after %d attempt(s), %.1f s', self.name,
                         len(result.steps), result.attempts, time.monotonic() - t0)
                return result
            log.warning('model planner %s: attempt %d rejected: %s', self.name,
                        attempt + 1, error[:300])
            result.errors.append(error)
            feedback = f'{request.feedback}\n{error}'.strip() if request.feedback else error
            current = replace(request, feedback=feedback)
        return self._fall_back(request, result)

    def _fall_back(self, request: PlanRequest, result: PlanResult) -> PlanResult:
        if self.fallback is None:
            result.errors.append('no_fallback: no fallback backend configured')
            return result
        try:
            other = self.fallback.plan(request)
        except Exception as err:  # noqa: BLE001
            log.exception('fallback %s crashed', self.fallback.name)
            result.errors.append(f'fallback_error: {type(err).__name__}: {err}')
            return result
        result.steps = other.steps
        result.fallback = other.fallback or self.fallback.name
        result.errors.extend(other.errors)
        log.warning('model planner %s failed %d time(s); plan from fallback %s', self.name,
                    result.attempts, result.fallback)
        return result
