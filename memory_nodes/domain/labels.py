"""The one label normaliser: how a word for a thing is compared with another.

Perception labels ('Coffee_Mug ', 'diningtable'), AI2-THOR type names ('DiningTable'),
words from instructions ('dining table') and memory labels all meet here.
`normalize_label` gives the readable form ('dining table'); `label_key` the comparison key
('diningtable'), which ignores case, spaces, underscores, hyphens and CamelCase, so two
labels name the same thing exactly when their keys are equal.
"""

from __future__ import annotations

import re

_CAMEL = re.compile(r'(?<=[a-z0-9])(?=[A-Z])')


def normalize_label(label: str) -> str:
    """Lower-case, trim, split CamelCase and collapse separators.

    'Coffee_Mug ' == 'coffee mug' and AI2-THOR's 'DiningTable' == 'dining table'.
    """
    text = _CAMEL.sub(' ', str(label))
    return ' '.join(text.replace('_', ' ').replace('-', ' ').lower().split())


def label_key(label: str) -> str:
    """The comparison key of a label: `normalize_label` without spaces ('diningtable')."""
    return normalize_label(label).replace(' ', '')


_UNSTORABLE = re.compile('[\x00-\x1f\x7f\ud800-\udfff]')


def name_problem(text: object, max_chars: int = 128) -> str:
    """Why `text` cannot name a thing in memory ('' when it can).

    A name is a non-blank string of at most `max_chars` characters without control
    characters or lone surrogates (which no UTF-8 file or database can store).
    """
    if not isinstance(text, str) or not text.strip():
        return 'empty or not a string'
    if len(text) > max_chars:
        return f'{len(text)} characters, at most {max_chars}'
    bad = _UNSTORABLE.search(text)
    if bad:
        return f'control character or lone surrogate U+{ord(bad.group()):04X}'
    return ''
