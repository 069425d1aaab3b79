"""A local `transformers` causal LM or vision-language model loaded from a path.

Never downloads: every `from_pretrained` runs with `local_files_only=True` and the hub is
switched off (`HF_HUB_OFFLINE=1`) before transformers is imported. The conversation is
rendered with the tokenizer's (or processor's) chat template when it has one, else with a
plain `System:/User:/Assistant:` template; decoding is greedy. A path that does not exist,
holds no model, or holds a model type transformers cannot run as a causal LM or an
image-text-to-text model raises `ModelLoadError` naming the path.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from memory_nodes.planner.model_planner import Generation, GenerationError

log = logging.getLogger(__name__)

PLAIN_TEMPLATE_ROLES = {'system': 'System', 'user': 'User', 'assistant': 'Assistant'}


class ModelLoadError(ValueError):
    """A model path that cannot be loaded; the message names the path and why."""


def _offline() -> None:
    os.environ['HF_HUB_OFFLINE'] = '1'
    os.environ['TRANSFORMERS_OFFLINE'] = '1'


def plain_template(messages: list[dict[str, Any]]) -> str:
    """The conversation as `Role: text` blocks ending with `Assistant:` (no chat template)."""
    parts = [f'{PLAIN_TEMPLATE_ROLES.get(m["role"], m["role"])}: {_text_of(m)}'
             for m in messages]
    return '\n\n'.join(parts) + '\n\nAssistant:'


def _text_of(message: dict[str, Any]) -> str:
    content = message['content']
    if isinstance(content, str):
        return content
    return '\n'.join(c.get('text', '') for c in content if c.get('type') == 'text')


class TransformersChatModel:
    """A chat model from a local directory; implements `model_planner.TextGenerator`."""

    name = 'transformers'

    def __init__(self, model_path: str | Path, device: str = 'cpu', dtype: str = 'auto',
                 max_new_tokens: int = 384, trust_remote_code: bool = False,
                 adapter: str | Path | None = None):
        _offline()
        import torch
        import transformers as tf

        path = Path(model_path).expanduser()
        if not path.exists():
            raise ModelLoadError(f'model path {str(path)!r} does not exist')
        if not (path / 'config.json').is_file():
            raise ModelLoadError(f'model path {str(path)!r} has no config.json (not a '
                                 'transformers model directory)')
        if device.startswith('cuda') and not torch.cuda.is_available():
            raise ModelLoadError(f'device {device!r} requested for {str(path)!r} but CUDA is '
                                 'not available')
        self.path = path
        self.device = device
        self.max_new_tokens = max_new_tokens
        self._lock = threading.Lock()
        kw: dict[str, Any] = {'local_files_only': True, 'trust_remote_code': trust_remote_code}
        try:
            config = tf.AutoConfig.from_pretrained(str(path), **kw)
        except (ValueError, KeyError, OSError) as err:
            raise ModelLoadError(f'cannot read the model config in {str(path)!r}: {err}'
                                 ) from err
        self.model_type = getattr(config, 'model_type', '?')
        self.is_vision = hasattr(config, 'vision_config')
        torch_dtype = {'auto': 'auto', 'float32': torch.float32, 'float16': torch.float16,
                       'bfloat16': torch.bfloat16}.get(dtype)
        if torch_dtype is None:
            raise ModelLoadError(f'dtype {dtype!r} is not one of auto/float32/float16/bfloat16')
        self.processor: Any = None
        try:
            if self.is_vision:
                self.processor = tf.AutoProcessor.from_pretrained(str(path), **kw)
                self.tokenizer = self.processor.tokenizer
                model_cls: Any = tf.AutoModelForImageTextToText
            else:
                self.tokenizer = tf.AutoTokenizer.from_pretrained(str(path), **kw)
                model_cls = tf.AutoModelForCausalLM
            self.model = model_cls.from_pretrained(str(path), dtype=torch_dtype, **kw)
        except (ValueError, KeyError) as err:
            kind = 'image-text-to-text' if self.is_vision else 'causal LM'
            raise ModelLoadError(f'model type {self.model_type!r} in {str(path)!r} is not '
                                 f'supported as a {kind}: {err}') from err
        except OSError as err:
            raise ModelLoadError(f'cannot load the model files in {str(path)!r}: {err}'
                                 ) from err
        self.adapter = None
        if adapter:  # a LoRA adapter (peft), merged into the weights once
            adapter = Path(adapter).expanduser()
            if not (adapter / 'adapter_config.json').is_file():
                raise ModelLoadError(f'adapter {str(adapter)!r} has no adapter_config.json')
            from peft import PeftModel

            self.model = PeftModel.from_pretrained(self.model, str(adapter)).merge_and_unload()
            self.adapter = adapter
        self.model.to(device)
        self.model.eval()
        self._compiler: Any = None  # xgrammar's, made on the first constrained call
        self._torch = torch
        self.has_chat_template = bool(
            getattr(self.processor or self.tokenizer, 'chat_template', None))
        log.info('loaded %s model %s from %s on %s (chat template: %s)', self.model_type,
                 type(self.model).__name__, path.name, device, self.has_chat_template)

    # ---- counting ------------------------------------------------------------------
    def count_text(self, text: str) -> int:
        """Tokens of `text` with this model's tokenizer (no special tokens)."""
        return len(self.tokenizer(text, add_special_tokens=False)['input_ids'])

    def render(self, messages: list[dict[str, Any]], with_image: bool = False) -> str:
        """The conversation as the model sees it (chat template or the plain one)."""
        if not self.has_chat_template:
            text = plain_template(messages)
            return ('<image>\n' + text) if with_image and self.is_vision else text
        if self.is_vision:
            msgs = [{'role': m['role'], 'content': [{'type': 'text', 'text': _text_of(m)}]}
                    for m in messages]
            if with_image:
                msgs[-1]['content'].insert(0, {'type': 'image'})
            return self.processor.apply_chat_template(msgs, add_generation_prompt=True,
                                                      tokenize=False)
        return self.tokenizer.apply_chat_template(
            [{'role': m['role'], 'content': _text_of(m)} for m in messages],
            add_generation_prompt=True, tokenize=False)

    def count_messages(self, messages: list[dict[str, Any]]) -> int:
        """Exact prompt tokens of the templated conversation (what generate will feed)."""
        return len(self.tokenizer(self.render(messages), add_special_tokens=False)['input_ids'])

    def token_counter(self) -> Callable[[str], int]:
        """`count_text`, for the prompt builder."""
        return self.count_text

    def message_counter(self) -> Callable[[list[dict[str, Any]]], int]:
        """`count_messages`, for the prompt builder."""
        return self.count_messages

    # ---- generation ----------------------------------------------------------------
    def _inputs(self, messages: list[dict[str, Any]], image: np.ndarray | None) -> Any:
        text = self.render(messages, with_image=image is not None)
        if self.is_vision and image is not None:
            from PIL import Image

            pil = Image.fromarray(np.asarray(image, dtype=np.uint8))
            return self.processor(images=pil, text=text, return_tensors='pt')
        return self.tokenizer(text, return_tensors='pt', add_special_tokens=False)

    def _schema_processor(self, json_schema: dict[str, Any]) -> Any:
        """An xgrammar logits processor that admits only JSON matching `json_schema`."""
        import json

        import xgrammar as xgr

        if self._compiler is None:
            info = xgr.TokenizerInfo.from_huggingface(
                self.tokenizer, vocab_size=self.model.config.vocab_size)
            self._compiler = xgr.GrammarCompiler(info)
        compiled = self._compiler.compile_json_schema(json.dumps(json_schema),
                                                      any_whitespace=False)
        return xgr.contrib.hf.LogitsProcessor(compiled)

    def generate(self, messages: list[dict[str, Any]], image: np.ndarray | None = None,
                 max_new_tokens: int | None = None,
                 json_schema: dict[str, Any] | None = None) -> Generation:
        """Greedy completion; raises `GenerationError` if the model fails.

        With `json_schema`, decoding is constrained (xgrammar) to JSON matching it.
        """
        if image is not None and not self.is_vision:
            image = None  # a text-only model plans from the text sections alone
        t0 = time.monotonic()
        try:
            with self._lock, self._torch.inference_mode():
                inputs = self._inputs(messages, image).to(self.device)
                n_in = int(inputs['input_ids'].shape[1])
                tok = self.tokenizer
                pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
                extra: dict[str, Any] = {}
                if json_schema is not None:
                    extra['logits_processor'] = [self._schema_processor(json_schema)]
                out = self.model.generate(
                    **inputs, do_sample=False, max_new_tokens=max_new_tokens
                    or self.max_new_tokens, pad_token_id=pad, **extra)
                new = out[0, n_in:]
                text = tok.decode(new, skip_special_tokens=True)
        except Exception as err:  # torch/transformers raise many kinds
            raise GenerationError(f'{type(err).__name__}: {err}') from err
        return Generation(text, n_in, int(new.shape[0]), time.monotonic() - t0)
