"""Instruction -> goal conditions with a (fine-tuned) language model, grammar-constrained.

`GoalReader.read(instruction, memory)` builds a short prompt (the instruction and a
compact memory context), decodes greedily under `goal_grammar` (xgrammar), and parses the
text into `GoalCondition`s. The grammar admits only the ontology's names and the goal
syntax, so every output parses; what the model gets wrong is which goals, never their
form. The shipped LoRA adapter (`models/goal_reader/`, trained by `embodied-memory lm
train` on generated data only) is applied by default when it exists.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memory_nodes.domain.goals import GoalCondition, GoalParseError
from memory_nodes.domain.household import HOUSEHOLD
from memory_nodes.domain.ontology import Ontology
from memory_nodes.planner.language.goal_grammar import goal_grammar, parse_goal_text
from memory_nodes.planner.language.input_guard import (
    MAX_INSTRUCTION_CHARS,
    content_refusal,
    size_refusal,
)
from memory_nodes.planner.language.memory_context import (
    ContextEntry,
    context_from_memory,
    format_context,
)
from memory_nodes.planner.language.model_files import prepare_model, repo_root
from memory_nodes.planner.plan import MemoryView

_LOG = logging.getLogger(__name__)

SYSTEM = 'You turn a household request into goal conditions.'


def shipped_adapter() -> Path:
    """The fine-tuned adapter shipped in the repository."""
    return repo_root() / 'models' / 'goal_reader'


def prompt_messages(instruction: str, context: list[ContextEntry] | str
                    ) -> list[dict[str, str]]:
    """The chat messages of one request (the same in training and at run time)."""
    lines = context if isinstance(context, str) else format_context(context)
    return [{'role': 'system', 'content': SYSTEM},
            {'role': 'user', 'content': f'Memory:\n{lines}\nRequest: {instruction.strip()}'}]


def complete_conditions(text: str) -> str:
    """`text` up to its last complete condition (decoding may stop mid-condition)."""
    end = text.rfind('): 1')
    return text[:end + 4] if end >= 0 else text


@dataclass
class GoalReading:
    """What the model read: goals (empty if none parsed), its text, and the cost."""

    goals: list[GoalCondition]
    text: str
    seconds: float
    prompt_tokens: int
    new_tokens: int
    error: str = ''
    context: list[ContextEntry] | str = field(default_factory=list)
    #: Why the model was not asked at all ('' when it read the instruction).
    refusal: str = ''

    @property
    def valid(self) -> bool:
        """Whether the output parsed into at least one goal."""
        return bool(self.goals) and not self.error


@dataclass
class GoalReaderConfig:
    """Which model, which adapter, where it runs, how it decodes."""

    model: str = 'smollm2'  # 'smollm2' (the offline wheel) or a model directory
    adapter: str = 'shipped'  # 'shipped', 'none', or an adapter directory
    device: str = 'cpu'
    max_new_tokens: int = 96
    grammar: bool = True
    threads: int = 0  # torch threads (0: leave torch's default)
    #: Longer instructions are refused unread (bounds the prompt and the time).
    max_instruction_chars: int = MAX_INSTRUCTION_CHARS


class GoalReader:
    """A causal LM (+ LoRA adapter) that reads instructions into goals."""

    def __init__(self, config: GoalReaderConfig | None = None,
                 ontology: Ontology = HOUSEHOLD) -> None:
        import torch
        import transformers as tf

        self.config = cfg = config or GoalReaderConfig()
        self.ontology = ontology
        if cfg.threads > 0:
            torch.set_num_threads(cfg.threads)
        path = prepare_model() if cfg.model == 'smollm2' else Path(cfg.model).expanduser()
        if not (path / 'config.json').is_file():
            raise FileNotFoundError(f'language model {str(path)!r} has no config.json')
        if cfg.device.startswith('cuda') and not torch.cuda.is_available():
            raise RuntimeError(f'device {cfg.device!r} requested but CUDA is not available')
        t0 = time.monotonic()
        self.tokenizer = tf.AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        model: Any = tf.AutoModelForCausalLM.from_pretrained(
            str(path), dtype=torch.float32, local_files_only=True)
        adapter = (shipped_adapter() if cfg.adapter == 'shipped'
                   else None if cfg.adapter in ('', 'none') else Path(cfg.adapter))
        self.adapter = None
        if adapter is not None and (adapter / 'adapter_config.json').is_file():
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
            self.adapter = adapter
        elif cfg.adapter not in ('shipped', '', 'none'):
            raise FileNotFoundError(f'adapter {cfg.adapter!r} has no adapter_config.json')
        self.model = model.to(cfg.device).eval()
        self._torch = torch
        self._lock = threading.Lock()
        self._processor = None
        if cfg.grammar:
            import xgrammar as xgr

            info = xgr.TokenizerInfo.from_huggingface(
                self.tokenizer, vocab_size=self.model.config.vocab_size)
            self._compiled = xgr.GrammarCompiler(info).compile_grammar(
                goal_grammar(ontology))
            self._xgr = xgr
        self.load_seconds = time.monotonic() - t0
        _LOG.info('goal reader: %s%s on %s in %.1f s', path.name,
                  f' + {self.adapter.name}' if self.adapter else '', cfg.device,
                  self.load_seconds)

    def read(self, instruction: str, memory: MemoryView | None = None,
             context: list[ContextEntry] | str | None = None) -> GoalReading:
        """Goals for `instruction` (context: from `memory`, or given as entries or lines).

        An instruction `input_guard.refusal_reason` refuses (empty, too long, addressed
        to the model, naming nothing known) is not shown to the model: the reading has no
        goals and says why in `refusal` (and `error`).
        """
        refusal = size_refusal(instruction, self.config.max_instruction_chars)
        if refusal:  # before memory is asked anything about it
            return GoalReading([], '', 0.0, 0, 0, f'refused: {refusal}', [], refusal)
        if context is None:
            context = context_from_memory(instruction, memory, self.ontology)
        refusal = content_refusal(instruction, self.ontology, context)
        if refusal:
            return GoalReading([], '', 0.0, 0, 0, f'refused: {refusal}',
                               context if isinstance(context, str) else list(context), refusal)
        messages = prompt_messages(instruction, context)
        text, n_in, n_new, seconds = self.generate(messages)
        text = complete_conditions(text)
        try:
            goals = parse_goal_text(text, self.ontology)
            error = ''
        except GoalParseError as exc:
            goals, error = [], str(exc)
        return GoalReading(goals, text, seconds, n_in, n_new, error,
                           context if isinstance(context, str) else list(context))

    def generate(self, messages: list[dict[str, str]]) -> tuple[str, int, int, float]:
        """Greedy (constrained) completion: (text, prompt tokens, new tokens, seconds)."""
        t0 = time.monotonic()
        tok = self.tokenizer
        with self._lock, self._torch.inference_mode():
            inputs = tok.apply_chat_template(messages, add_generation_prompt=True,
                                             return_tensors='pt', return_dict=True)
            inputs = {k: v.to(self.config.device) for k, v in inputs.items()}
            n_in = int(inputs['input_ids'].shape[1])
            extra: dict[str, Any] = {}
            if self.config.grammar:
                extra['logits_processor'] = [
                    self._xgr.contrib.hf.LogitsProcessor(self._compiled)]
            pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
            out = self.model.generate(**inputs, do_sample=False, pad_token_id=pad,
                                      max_new_tokens=self.config.max_new_tokens, **extra)
            new = out[0, n_in:]
            text = tok.decode(new, skip_special_tokens=True).strip()
        return text, n_in, int(new.shape[0]), time.monotonic() - t0
