"""The results page's instruction-only section: rendered from `bench lm`, kept by `bench tasks`."""

from __future__ import annotations

import argparse
import json

from memory_nodes.evaluation import instruction_page
from memory_nodes.evaluation.instruction_page import BEGIN, END, carry_over, replace_block
from memory_nodes.evaluation.lm_bench import main as lm_main
from memory_nodes.evaluation.lm_bench import register_bench


def _doc() -> dict:
    cells = {}
    for suite, cond, reader, n, k in (
            ('composite', 'none', 'language_model', 15, 12),
            ('composite', 'ltm+stm', 'language_model', 15, 14),
            ('composite', 'ltm+stm', 'grammar', 15, 11),
            ('alfred_l-simple', 'ltm+stm', 'language_model', 15, 9)):
        cells[instruction_page.cell_key(suite, cond, reader)] = {
            'suite': suite, 'condition': cond, 'reader': reader, 'tasks': n, 'successes': k}
    return {'end_to_end': {'cells': cells, 'episodes': 3}, 'command': 'embodied-memory bench lm',
            'date': '2026-12-01', 'commit': 'abc1234', 'minutes': 20.0,
            'result_line': 'RESULT goal_f1_alfred_l=0.6'}


def test_section_puts_ours_beside_karma_with_intervals():
    lines = instruction_page.section(_doc())
    text = '\n'.join(lines)
    assert lines[0] == BEGIN and lines[-1] == END
    row = next(line for line in lines if line.startswith('| alfred_l-simple | ltm+stm |'))
    # 9 of 15 by the model, nobody ran the grammar there, KARMA's GPT-4o 0.42 beside it.
    assert '| 15 | 0.60 [' in row and row.endswith('| - | 0.42 |')
    comp = next(line for line in lines if line.startswith('| composite | ltm+stm |'))
    assert '0.93 [' in comp and '0.73 [' in comp and comp.endswith('| - |')
    assert 'RESULT goal_f1_alfred_l=0.6' in text


def test_block_is_replaced_in_place_and_carried_over_by_bench_tasks():
    page = '# Results\n\nbody\n'
    once = replace_block(page, instruction_page.section(_doc()))
    assert once.startswith('# Results\n\nbody\n') and once.count(BEGIN) == 1
    twice = replace_block(once + 'tail\n', [BEGIN, 'new', END])
    assert twice.count(BEGIN) == 1 and 'new' in twice and '0.42' not in twice
    assert twice.endswith('tail\n')
    # bench tasks regenerates everything else and keeps the block as it was.
    regenerated = carry_over(once, '# Results\n\nnew body\n')
    assert 'new body' in regenerated and 'body\n' in regenerated
    assert regenerated.count(BEGIN) == 1 and '0.42' in regenerated
    assert carry_over('# no block\n', '# Results\n') == '# Results\n'


def test_page_from_a_saved_run_and_bad_files_named(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    register_bench(parser.add_subparsers())
    saved = tmp_path / 'lm.json'
    saved.write_text(json.dumps(_doc()))
    page = tmp_path / 'results.md'
    page.write_text('# Results\n')
    args = parser.parse_args(['lm', '--page-from', str(saved), '--results-md', str(page)])
    assert lm_main(args) == 0
    assert '| composite | none | 15 | 0.80 [' in page.read_text()
    bad = tmp_path / 'bad.json'
    bad.write_text('{"parse": {}}')
    args = parser.parse_args(['lm', '--page-from', str(bad), '--results-md', str(page)])
    assert lm_main(args) == 2
    assert 'no end_to_end' in capsys.readouterr().out
    assert page.read_text().count(BEGIN) == 1  # the page is left as it was
