"""What the language model is never asked, and which of its readings the robot never acts on.

Two checks around `GoalReader`, for requests a person (or anything that can send an
ExecuteTask goal) types freely:

* `refusal_reason` (before generating): an empty instruction, one longer than the limit,
  one that addresses the model instead of the robot ("ignore previous instructions",
  "system prompt", chat role tags), and one in which no word names a thing, place,
  category or state this robot knows (gibberish, "tell me a joke") are refused by name.
  A 135M model asked such a request still writes goals (the grammar makes it), so they
  must never reach it.
* `ungrounded_objects` (after generating): a goal whose object neither the instruction
  names (a type word, a synonym, or one of the type's categories: "the black valuable")
  nor the memory context showed the model is a guess; the planner refuses the reading
  instead of fetching something nobody asked for. Receptacles are not checked: people
  name places loosely ("the cold box") and putting the right thing somewhere is no harm
  of the kind a wrong object is.

The grammar is the first defence (the model can only write goal conditions over real
names: an injection cannot make it print, delete or call anything); these two keep it
from acting on text that was never a household request.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

from memory_nodes.domain.goals import GoalCondition
from memory_nodes.domain.household import CATEGORY_WORDS
from memory_nodes.domain.ontology import Ontology
from memory_nodes.planner.language.goal_grammar import STATE_TEXTS
from memory_nodes.planner.language.memory_context import ContextEntry, mentioned_types

#: Longest instruction the model reads (a request, not a document: ~150 tokens).
MAX_INSTRUCTION_CHARS = 600

_WORD = re.compile(r'[a-z]+')
#: Text addressed to the model rather than the robot. A heuristic, not the defence: what
#: slips past it is still held to goal conditions over real names by the grammar.
_ADDRESSES_MODEL = (
    re.compile(r'\b(ignore|disregard|forget|override)\b[^.!?\n]{0,40}\b(instruction|prompt|'
               r'rule|command|order)s?\b'),
    re.compile(r'\bsystem\s+prompt\b'),
    re.compile(r'(^|\n)\s*(system|assistant|user)\s*:'),
    re.compile(r'<\|[^|>]*\|>'),
)
_STATE_WORDS = frozenset(STATE_TEXTS) | {'slice', 'cut', 'wash', 'heat', 'warm', 'cool',
                                         'chill', 'cook', 'fry', 'boil', 'open', 'close',
                                         'fill', 'empty', 'turn', 'switch'}
#: How close a misspelt word must be to a known one (difflib ratio) to count as it.
TYPO_CUTOFF = 0.8


def _vocabulary(ontology: Ontology) -> dict[str, set[str]]:
    """Word -> every type it may name: type names, synonyms (all candidates), categories."""
    vocab: dict[str, set[str]] = {}
    for object_type, spec in ontology.items():
        vocab.setdefault(object_type.lower(), set()).add(object_type)
        for category in spec.categories:
            vocab.setdefault(category, set()).add(object_type)
    for word, category in CATEGORY_WORDS.items():  # everyday nouns: "dish", "gadget"
        vocab.setdefault(word, set()).update(ontology.category_types(category))
    for word, candidates in ontology.synonyms().items():
        for part in [word.lower().replace(' ', ''), *_WORD.findall(word.lower())]:
            vocab.setdefault(part, set()).update(c for c in candidates if c in ontology)
    return vocab


def _named_types(instruction: str, ontology: Ontology) -> set[str]:
    """Types the instruction's words may name, allowing for a typo per word."""
    words = _WORD.findall(instruction.lower())
    vocab = _vocabulary(ontology)
    named = set(mentioned_types(instruction, ontology))
    keys = list(vocab)
    for i, word in enumerate(words):
        for candidate in (word, word + (words[i + 1] if i + 1 < len(words) else '')):
            found = vocab.get(candidate)
            if found is None and len(candidate) >= 4:
                close = difflib.get_close_matches(candidate, keys, n=1, cutoff=TYPO_CUTOFF)
                found = vocab[close[0]] if close else None
            named |= found or set()
    return named


def addresses_model(instruction: str) -> str:
    """The phrase by which `instruction` talks to the model ('' when it does not)."""
    text = instruction.lower()
    for pattern in _ADDRESSES_MODEL:
        found = pattern.search(text)
        if found:
            return ' '.join(found.group(0).split())
    return ''


def _context_words(context: Sequence[ContextEntry] | str) -> set[str]:
    if isinstance(context, str):
        return set(_WORD.findall(context.lower()))
    words: set[str] = set()
    for entry in context:
        words.update(_WORD.findall(entry.line().lower()))
    return words


def size_refusal(instruction: str, max_chars: int = MAX_INSTRUCTION_CHARS) -> str:
    """Why `instruction` is too short or too long to read ('' when it is not)."""
    text = instruction.strip()
    if not text:
        return 'empty instruction'
    if len(text) > max_chars:
        return f'instruction is {len(text)} characters; at most {max_chars}'
    return ''


def content_refusal(instruction: str, ontology: Ontology,
                    context: Sequence[ContextEntry] | str = ()) -> str:
    """Why `instruction` is no household request for the model ('' when it is one)."""
    text = instruction.strip()
    phrase = addresses_model(text)
    if phrase:
        return f'the instruction addresses the model, not the robot ({phrase!r})'
    if _named_types(text, ontology):
        return ''
    words = set(_WORD.findall(text.lower()))
    if words & (_STATE_WORDS | _context_words(context)):
        return ''
    return ('the instruction names nothing this robot knows (no object, place, category or '
            'state word)')


def refusal_reason(instruction: str, ontology: Ontology,
                   max_chars: int = MAX_INSTRUCTION_CHARS,
                   context: Sequence[ContextEntry] | str = ()) -> str:
    """Why the model must not be asked to read `instruction` ('' when it may)."""
    return size_refusal(instruction, max_chars) or content_refusal(instruction, ontology,
                                                                   context)


def ungrounded_objects(goals: Sequence[GoalCondition], instruction: str,
                       context: Sequence[ContextEntry] | str, ontology: Ontology
                       ) -> list[str]:
    """Objects of `goals` that neither `instruction` nor the memory `context` names."""
    named = _named_types(instruction, ontology)
    if isinstance(context, str):
        shown = set(re.findall(r'[A-Z][A-Za-z]+', context))
    else:
        shown = {e.object_type for e in context} | {e.support for e in context if e.support}
    out: list[str] = []
    for goal in goals:
        obj = goal.obj
        if obj not in named and obj not in shown and obj not in out:
            out.append(obj)
    return out
