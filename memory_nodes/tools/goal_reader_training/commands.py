"""`embodied-memory lm ...`: the goal reader's model, data, training and a quick read.

- `lm prepare`: convert the wheel's GGUF once into `.models/` (make setup runs it);
- `lm make-data [--out DIR --train-homes N --heldout-homes N]`: generated examples;
- `lm train [--steps N ...]`: LoRA fine-tuning, resumable (run it again to continue);
- `lm read "instruction"`: the goals the shipped reader gets from one instruction.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `lm` and its subcommands."""
    lm = subparsers.add_parser('lm', help='the language model that reads instructions '
                                          'into goals: prepare, make-data, train, read')
    sub = lm.add_subparsers(dest='lm_command', required=True)
    p = sub.add_parser('prepare', help='convert the offline model once (make setup does)')
    p.add_argument('--force', action='store_true', help='convert again')
    p.set_defaults(func=_prepare)
    d = sub.add_parser('make-data', help='training/held-out examples from generated homes')
    d.add_argument('--out', default='runs/goal_reader/data')
    d.add_argument('--train-homes', type=int, default=150,
                   help='homes per suite kind for training (seeds 1000+)')
    d.add_argument('--heldout-homes', type=int, default=10,
                   help='homes per suite kind held out (seeds 2000+)')
    d.add_argument('--seed', type=int, default=0)
    d.add_argument('--synthetic', type=int, default=4000,
                   help='training chains over the whole catalogue (see make_data)')
    d.set_defaults(func=_make_data)
    t = sub.add_parser('train', help='fine-tune the LoRA adapter (resumes where it stopped)')
    t.add_argument('--data', default='runs/goal_reader/data')
    t.add_argument('--work', default='runs/goal_reader/train',
                   help='checkpoint directory: a second run resumes from it')
    t.add_argument('--out', default='models/goal_reader', help='where the adapter goes')
    t.add_argument('--steps', type=int, default=300)
    t.add_argument('--batch', type=int, default=8)
    t.add_argument('--lr', type=float, default=1e-3)
    t.add_argument('--threads', type=int, default=0)
    t.add_argument('--init-from', default='',
                   help='continue from an adapter (e.g. models/goal_reader) with a new --work')
    t.set_defaults(func=_train)
    r = sub.add_parser('read', help='read one instruction into goals')
    r.add_argument('instruction')
    r.add_argument('--adapter', default='shipped', help="'shipped', 'none' or a directory")
    r.set_defaults(func=_read)


def _prepare(args: argparse.Namespace) -> int:
    from memory_nodes.planner.language.model_files import ModelFilesError, prepare_model

    try:
        print(prepare_model(force=args.force))
    except ModelFilesError as exc:
        print(f'lm prepare: {exc}')
        return 2
    return 0


def _make_data(args: argparse.Namespace) -> int:
    from memory_nodes.tools.goal_reader_training.make_data import make_data

    info = make_data(Path(args.out), args.train_homes, args.heldout_homes, args.seed,
                     progress=lambda line: print(f'lm make-data: {line}', flush=True),
                     synthetic_examples=args.synthetic)
    print(json.dumps(info['counts']), f'-> {args.out}')
    return 0


def _train(args: argparse.Namespace) -> int:
    from memory_nodes.tools.goal_reader_training.train import TrainConfig, train

    train(TrainConfig(data=args.data, work=args.work, out=args.out, steps=args.steps,
                      batch=args.batch, lr=args.lr, threads=args.threads,
                      init_from=args.init_from),
          progress=lambda line: print(line, flush=True))
    return 0


def _read(args: argparse.Namespace) -> int:
    from memory_nodes.planner.language.goal_reader import GoalReader, GoalReaderConfig

    reader = GoalReader(GoalReaderConfig(adapter=args.adapter))
    reading = reader.read(args.instruction)
    print(reading.text)
    print(f'({reading.seconds:.2f} s, {reading.new_tokens} tokens'
          f'{", INVALID: " + reading.error if reading.error else ""})')
    return 0 if reading.valid else 1
