"""Simulator benchmark: rendered frames/s, skills/s, seconds per task, oracle success.

Renders the head camera at 320x240 from many poses in a generated home, runs a fixed
scripted multi-skill task over and over (fetch, open, put, close, toggle), and, when the
suites and the oracle exist, replays oracle episodes and reports their success rate.
Prints a markdown table, writes bench/out/sim.png and ends with one
`RESULT key=value ...` line. `QUICK=1` runs in well under 60 s.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from memory_nodes.domain.skills import SkillCall, SkillTarget  # noqa: E402
from sim.pybullet_sim import PyBulletSimulator  # noqa: E402

QUICK = os.environ.get('QUICK', '') not in ('', '0')
OUT = Path(__file__).resolve().parent / 'out'


def progress(msg: str) -> None:
    print(f'[bench-sim] {msg}', flush=True)


def bench_render(sim: PyBulletSimulator, frames: int) -> float:
    stops = [t.approach for t in sim.home.furniture if t.approach][:12]
    per = max(1, frames // len(stops))
    n, elapsed = 0, 0.0
    for name in stops:
        w = sim.home.waypoint(name)
        sim.robot.set_pose(w.x, w.y, sim.robot.yaw)
        for k in range(per):
            sim.robot.set_pose(w.x, w.y, sim.robot.yaw + 0.5 * (k % 4))
            t0 = time.perf_counter()
            sim.render()
            elapsed += time.perf_counter() - t0
            n += 1
    return n / elapsed


def T(object_id: str) -> SkillTarget:
    return SkillTarget(object_id=object_id)


def scripted_task(sim: PyBulletSimulator, obj: str, fridge: str, table: str) -> list:
    """Fetch `obj`, put it in the fridge, take it out again, leave it on the table."""
    calls = [
        SkillCall('navigate_to', T(obj)), SkillCall('pick_up', T(obj)),
        SkillCall('navigate_to', T(fridge)), SkillCall('open', T(fridge)),
        SkillCall('put', T(obj), T(fridge), 'in'), SkillCall('close', T(fridge)),
        SkillCall('open', T(fridge)), SkillCall('pick_up', T(obj)),
        SkillCall('close', T(fridge)), SkillCall('navigate_to', T(table)),
        SkillCall('put', T(obj), T(table), 'on'),
    ]
    return [sim.execute(c) for c in calls]


def bench_skills(sim: PyBulletSimulator, tasks: int) -> tuple[float, float, float, int]:
    kinds = {t.object_type: o for o, t in sorted(sim.things.items())}
    fridge, table = kinds['Fridge'], kinds.get('DiningTable', kinds['CounterTop'])
    objs = [o for o, t in sorted(sim.things.items())
            if t.kind == 'object' and t.room == 'kitchen'
            and t.object_type not in ('Pan', 'Pot', 'Kettle', 'Bowl', 'Plate')]
    n_skills = n_ok = 0
    t0 = time.perf_counter()
    sim_t0 = sim.time
    for i in range(tasks):
        results = scripted_task(sim, objs[i % len(objs)], fridge, table)
        n_skills += len(results)
        n_ok += sum(r.success for r in results)
    wall = time.perf_counter() - t0
    return n_skills / wall, wall / tasks, (sim.time - sim_t0) / tasks, n_ok / max(1, n_skills)


def bench_oracle(sim: PyBulletSimulator, max_episodes: int):
    try:
        from sim.episodes import run_episode
        from sim.oracle import OraclePlayer
        from sim.task_schema import load_suite
    except ImportError as e:
        progress(f'oracle not available ({e}); oracle_success=na')
        return None
    rows = []
    for name in ('simple', 'composite', 'complex', 'stale'):
        try:
            suite = load_suite(name)
        except Exception as e:  # noqa: BLE001 - a missing suite is reported, not fatal
            progress(f'suite {name}: cannot load ({e})')
            continue
        for episode in suite.episodes[:max_episodes]:
            t0 = time.perf_counter()
            res = run_episode(sim, episode, OraclePlayer())
            wall = time.perf_counter() - t0
            rows.append((name, episode.episode_id, len(res.tasks), res.success_rate, wall))
            progress(f'oracle {name}/{episode.episode_id}: {len(res.tasks)} tasks, '
                     f'success {res.success_rate:.2f}, {wall:.1f} s')
    return rows


def plot(fps: float, per_skill_ms: float, task_s: float, oracle_rows, out: Path) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    out.parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    axes[0].bar(['fps 320x240', 'ms / skill', 's / scripted task x10'],
                [fps, per_skill_ms, task_s * 10], color=['tab:blue', 'tab:orange', 'tab:green'])
    axes[0].axhline(25, color='tab:blue', ls='--', lw=0.8, label='25 fps target')
    axes[0].legend()
    axes[0].set_title('PyBullet simulator speed (one core)')
    if oracle_rows:
        labels = [f'{r[0]}/{r[1]}' for r in oracle_rows]
        axes[1].barh(labels, [r[4] for r in oracle_rows], color='tab:purple')
        axes[1].axvline(60, color='k', ls='--', lw=0.8)
        axes[1].set_xlabel('wall seconds per oracle episode (60 s target for 20 tasks)')
    else:
        axes[1].text(0.5, 0.5, 'oracle not available', ha='center')
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def main() -> None:
    t_start = time.perf_counter()
    sim = PyBulletSimulator(width=320, height=240)
    sim.reset(0)
    progress(f'home_0: {len(sim.home.furniture)} furniture, {len(sim.home.objects)} objects')
    fps = bench_render(sim, 60 if QUICK else 300)
    progress(f'render: {fps:.1f} frames/s at 320x240')
    sim.reset(0)
    skills_per_s, sec_task, sim_task, ok_rate = bench_skills(sim, 4 if QUICK else 20)
    progress(f'skills: {skills_per_s:.1f}/s, scripted task {sec_task:.3f} s wall '
             f'({sim_task:.0f} s simulated), {ok_rate:.2f} of skills succeeded')
    sim.observer = lambda frame: None  # a memory run renders where the robot stops
    _, sec_task_frames, _, _ = bench_skills(sim, 2 if QUICK else 10)
    sim.observer = None
    progress(f'scripted task with camera frames at every stop: {sec_task_frames:.3f} s')
    rows = bench_oracle(sim, 1 if QUICK else 5)
    sim.close()
    if rows:
        tasks = sum(r[2] for r in rows)
        oracle_success = sum(r[2] * r[3] for r in rows) / tasks
        sec_per_task = sum(r[4] for r in rows) / tasks
        sec_per_20 = 20 * sec_per_task
    else:
        oracle_success, sec_per_task, sec_per_20 = None, sec_task, 20 * sec_task
    print('\n| metric | value | target |\n|---|---|---|')
    print(f'| frames/s at 320x240 | {fps:.1f} | >= 25 |')
    print(f'| skills/s | {skills_per_s:.1f} | |')
    print(f'| s per scripted task (11 skills) | {sec_task:.3f} | |')
    print(f'| s per scripted task, rendering at stops | {sec_task_frames:.3f} | |')
    print(f'| s per task ({"oracle" if rows else "scripted"}) | {sec_per_task:.3f} | |')
    print(f'| s per 20-task episode | {sec_per_20:.1f} | < 60 |')
    print(f'| oracle success | {"na" if oracle_success is None else f"{oracle_success:.3f}"}'
          ' | 1.0 |')
    for r in rows or []:
        print(f'| oracle {r[0]}/{r[1]} ({r[2]} tasks) | success {r[3]:.2f}, {r[4]:.1f} s | |')
    out = OUT / 'sim.png'
    plot(fps, 1000 / skills_per_s, sec_task, rows, out)
    print(f'\nplot: bench/out/{out.name}')
    result = {'fps_320x240': f'{fps:.1f}', 'skills_per_s': f'{skills_per_s:.1f}',
              'sec_per_task': f'{sec_per_task:.3f}', 'sec_per_20_tasks': f'{sec_per_20:.1f}',
              'oracle_success': 'na' if oracle_success is None else f'{oracle_success:.3f}',
              'seconds': f'{time.perf_counter() - t_start:.1f}'}
    print('RESULT ' + ' '.join(f'{k}={v}' for k, v in result.items()))


if __name__ == '__main__':
    main()
