"""What a prompt may show about a program never depends on the gold answer: every environment's observation is the
same for rows that differ only in their gold answer (and probes' gold values), and every prompt a run writes passes the
same check."""
import json, re
from dataclasses import replace
import pytest
from symbol_llm_nb.core import Task, read_jsonl, read_records
from symbol_llm_nb.families import observation, verify_by_family
from symbol_llm_nb.envs.logic import make_rule_tasks
from symbol_llm_nb.envs.sql import sql_tasks

FLIP = {'True': 'False', 'False': 'Unknown', 'Unknown': 'True'}

def other_gold(task:Task) -> Task:
    "The same task with another gold answer and, for rule tasks, every probe's gold value changed too."
    meta = dict(task.meta)
    if meta.get('probes'): meta['probes'] = [[atom, FLIP[gold]] for atom, gold in meta['probes']]
    if isinstance(task.answer, str) and task.answer in FLIP: answer = FLIP[task.answer]
    elif isinstance(task.answer, list): answer = task.answer + [[0]]
    elif isinstance(task.answer, str): answer = task.answer + 'x'
    else: answer = task.answer + 1
    return replace(task, answer=answer, meta=meta)

def same_observations(tasks, programs, timeout=2.0):
    "Verify `programs` against `tasks` and against the same tasks with other golds; the two observations per program."
    a = verify_by_family(tasks, programs, timeout=timeout, workers=1)
    b = verify_by_family([other_gold(t) for t in tasks], programs, timeout=timeout, workers=1)
    return a, b, [observation(f) for f in a], [observation(f) for f in b]

def test_python_observations_do_not_depend_on_the_gold_answer():
    t = Task('t', 'arith', 'Ann has 3 pens. She buys 4 more. How many?', 7.0)
    progs = ['def solution():\n    return 3 + 4', 'def solution():\n    return 3 + 5', "def solution():\n    return '7'",
             'def solution():\n    return 1 / 0', 'answer = [1, 2]', 'def solution():\n    print(7)\n    return None',
             "def solution():\n    return '\\\\frac{14}{2}'", 'while True: pass', 'def solution(:']
    a, b, oa, ob = same_observations([t] * len(progs), progs)
    assert [f.reward for f in a][:2] == [1.0, 0.0] and [f.reward for f in b][:2] == [0.0, 1.0]   # the verdicts differ
    assert oa == ob
    assert oa[0] == ob[0] == "the program's answer: 7" and 'ZeroDivisionError' in oa[3]

def test_rule_observations_name_no_probe_and_no_gold():
    tasks = make_rule_tasks(12, seed=4, n_probes=4)
    progs = [t.program for t in tasks]
    # slips that may keep the asked answer but break probes: drop the first fact (the line after its comment)
    slips = [re.sub(r'(Facts:\n [^\n]*\n)[^\n]*\n', r'\1', t.program, count=1) for t in tasks]
    a, b, oa, ob = same_observations(tasks * 2, progs + slips, timeout=5.0)
    assert oa == ob
    assert any(f.correct for f in a) and any(not f.correct and f.prediction is not None for f in a)
    for t, o in zip(tasks * 2, oa):
        assert 'probe' not in o and 'not ' + t.answer not in o
        for atom, _ in t.meta['probes']: assert atom.strip() not in o

def test_sql_and_natural_observations():
    sq = sql_tasks(6, seed=2)
    progs = [t.program for t in sq] + ['SELECT 1', 'DROP TABLE employees', 'SELECT * FROM nowhere']
    _, _, oa, ob = same_observations(sq + sq[:3], progs)
    assert oa == ob
    nl = [Task('n', 'gsm_nl', 'How many?', 7.0)] * 3
    _, _, oa, ob = same_observations(nl, ['So the answer is 7.', 'The answer is 8.', 'no sentence here'])
    assert oa == ob and oa[2] == "no 'The answer is ...' sentence"

def repair_lines(prompt:str) -> tuple[str, str]|None:
    "The program and the feedback line of a repair prompt (None if the prompt shows no feedback)."
    m = re.search(r'\nPrevious program:\n(.*)\nFeedback: (.*)\nWrite the program again, fixing any mistake\.', prompt, re.S)
    return (m.group(1), m.group(2)) if m else None

def test_every_prompt_of_an_envisions_plus_run_is_gold_free(envisions_plus_run):
    "Each feedback line a run showed or trained on is what its program does against a task with other golds."
    run = envisions_plus_run
    tasks = {t.id: t for k in ('seed', 'train', 'eval') for t in read_records(Task, run/'data'/f'{k}.jsonl')}
    by_question = {t.question: t for t in tasks.values()}
    shown = []   # (task, program, feedback line)
    for d in sorted(run.glob('iter_*')):
        for r in read_jsonl(d/'refined.jsonl') if (d/'refined.jsonl').exists() else []:
            if (found := repair_lines(r['prompt'])): shown.append((tasks[r['task_id']], *found))
        for r in read_jsonl(d/'train_sft.jsonl') if (d/'train_sft.jsonl').exists() else []:
            if (found := repair_lines(r['prompt'])):
                shown.append((next(t for q, t in by_question.items() if q in r['prompt']), *found))
    assert len(shown) > 20, len(shown)
    fbs = verify_by_family([other_gold(t) for t, _, _ in shown], [p for _, p, _ in shown], timeout=2.0, workers=1)
    assert [observation(f) for f in fbs] == [line for _, _, line in shown]
