"""Tiny transformers models built from config, with tokenizers trained here (no downloads).

They produce junk; tests use them to exercise loading, templating, generation, parsing,
retry and fallback exactly as a user's model directory would be used.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ['HF_HUB_OFFLINE'] = '1'
os.environ['TRANSFORMERS_OFFLINE'] = '1'

CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}")

_CORPUS_TEXT = (
    'You are the task planner of a household robot . Skills navigate_to explore pick_up put '
    'open close toggle_on toggle_off slice heat cool clean object receptacle relation area '
    'in on apple fridge mug sink kitchen living room bedroom bathroom sofa book table '
    'counter top cabinet drawer microwave lamp knife bread tomato egg potato plate '
    'Answer with ONLY a JSON list of skill calls [ { "skill" : "pick_up" , "object" : '
    '"apple" } ] memory scene graph recent states seen ago Instruction Put the apple in '
    'the fridge clean dirty open closed on off sliced cooked filled empty state yes no '
)
CORPUS = _CORPUS_TEXT.split()


def train_tokenizer(extra_special: tuple[str, ...] = ()):
    """A byte-level BPE tokenizer trained on a few hundred words, with a chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ['<pad>', '<s>', '</s>', '<unk>', '<|system|>', '<|user|>',
                '<|assistant|>', *extra_special]
    tok = Tokenizer(models.BPE(unk_token='<unk>'))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    lines = [' '.join(CORPUS[i:i + 12]) for i in range(0, len(CORPUS), 3)] * 4
    tok.train_from_iterator(lines, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token='<s>', eos_token='</s>',
                                   unk_token='<unk>', pad_token='<pad>')
    fast.chat_template = CHAT_TEMPLATE
    return fast


def build_text_model(path: Path, chat_template: bool = True, seed: int = 0) -> Path:
    """A 2-layer Llama with hidden size 32 and a trained tokenizer, saved to `path`."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    tok = train_tokenizer()
    if not chat_template:
        tok.chat_template = None
    config = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64,
                         num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2,
                         max_position_embeddings=8192, bos_token_id=tok.bos_token_id,
                         eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    model = LlamaForCausalLM(config)
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


VLM_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>\n{% if m['content'] is string %}"
    "{{ m['content'] }}{% else %}{% for c in m['content'] %}{% if c['type'] == 'image' %}"
    "<image>\n{% else %}{{ c['text'] }}{% endif %}{% endfor %}{% endif %}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}")


def build_vision_model(path: Path, seed: int = 0) -> Path:
    """A tiny LLaVA (2-layer CLIP vision tower on 32x32 images + 2-layer Llama), saved."""
    import torch
    from transformers import (
        CLIPImageProcessor,
        CLIPVisionConfig,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
    )

    torch.manual_seed(seed)
    tok = train_tokenizer(extra_special=('<image>',))
    vision = CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                              num_attention_heads=2, image_size=32, patch_size=8,
                              projection_dim=32)
    text = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64,
                       num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2,
                       max_position_embeddings=4096, bos_token_id=tok.bos_token_id,
                       eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    config = LlavaConfig(vision_config=vision, text_config=text,
                         image_token_index=tok.convert_tokens_to_ids('<image>'),
                         vision_feature_layer=-1, vision_feature_select_strategy='default')
    model = LlavaForConditionalGeneration(config)
    images = CLIPImageProcessor(size={'shortest_edge': 32},
                                crop_size={'height': 32, 'width': 32})
    processor = LlavaProcessor(image_processor=images, tokenizer=tok, patch_size=8,
                               chat_template=VLM_TEMPLATE, image_token='<image>',
                               vision_feature_select_strategy='default',
                               num_additional_image_tokens=1)
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    processor.save_pretrained(path)
    return path
