"ENVISIONS: pools, pair selection, the refine merge rule, sample metrics, presets; `--preset envisions` end to end with a kill during refinement."
import itertools, json, math, os, random, signal, subprocess, sys, time
from pathlib import Path
import pytest, yaml
from symbol_llm_nb.core import Candidate, Feedback, Task, config_to_dict, flat_dict, write_jsonl, read_jsonl, ConfigError
from symbol_llm_nb.selftrain import (PRESETS, SelfTrainConfig, DataConfig, PoolEntry, check_config, cite_filter,
    explore_count, load_selftrain_config, make_tasks, merge_repairs, pair_up, preference_rows, rank, repair_pairs,
    repair_prompt, select_training, training_rows, update_pool)
from symbol_llm_nb.evaluate import maj_at_k, pass_at_k, sample_metrics, soft_reward_auc
from symbol_llm_nb.train import PreferenceConfig, train_preference

# ---- pools ------------------------------------------------------------------------------------------------

def cand(tid, text, lp=-1.0, n=10, it=1, origin='explore'): return Candidate(tid, text, lp, n, origin, it)

def test_pool_dedups_on_the_ast_and_keeps_negatives():
    cs = [cand('a', 'def solution():\n    return 3 + 4', -2.0), cand('a', 'def solution():\n    return (3+4)  # again', -1.0),
          cand('b', 'def solution():\n    return 3 + 4'),   # same program, other task: a new row
          cand('a', 'def solution():\n    return 3 - 4'), cand('a', '   \n'), cand('a', 'def solution(:', origin='refine')]
    fbs = [Feedback(1.0, 7), Feedback(1.0, 7), Feedback(1.0, 7), Feedback(0.0, -1, 'returned -1, expected a different value'),
           Feedback(0.0, None, 'no program'), Feedback(0.0, None, 'SyntaxError')]
    pool, added = update_pool([], cs, fbs)
    assert added == {'pos': 2, 'neg': 2}
    assert [(r.task_id, r.correct, r.source) for r in pool] == [('a', True, 'explore'), ('b', True, 'explore'),
                                                                 ('a', False, 'explore'), ('a', False, 'refine')]
    assert pool[0].soft_reward == -0.2 and pool[0].error is None and pool[2].error.startswith('returned -1')
    # a later iteration finds the same program again: no new row, `last_seen` moves, the input pool is untouched
    pool2, added2 = update_pool(pool, [cand('a', 'def solution():\n  return 3+4', it=3)], [Feedback(1.0, 7)])
    assert added2 == {'pos': 0, 'neg': 0} and len(pool2) == len(pool)
    assert pool2[0].last_seen == 3 and pool[0].last_seen == 1 and pool2[0].iteration == 1

def cited_pool(pool, cands, fbs, questions):
    "update_pool after the citation filter (every task's positives must cite its question)."
    tasks = {k: Task(k, 'arith', q, 7.0) for k, q in questions.items()}
    fbs, n = cite_filter(cands, fbs, tasks, lambda t: True)
    pool, added = update_pool(pool, cands, fbs)
    return pool, {**added, 'uncited': n}

def test_pool_positives_must_cite_their_question():
    q = {'a': 'Ann has 3 pens. She buys 4 more. The bus is late. How many pens does Ann have?'}
    body = '\n    total = 3 + 4\n    return total'
    sloppy = cand('a', 'def solution():\n    # Ann has 3 pens.\n    # She buys 4 more.' + body, -1.0)          # the distractor left out
    named = cand('a', 'def solution():\n    # Bob has 3 pens.\n    # She buys 4 more.\n    # The bus is late.\n    return 3 + 4', -1.5)
    pool, added = cited_pool([], [sloppy, named], [Feedback(1.0, 7), Feedback(1.0, 7)], q)
    assert added == {'pos': 0, 'neg': 2, 'uncited': 2} and not any(r.correct for r in pool)
    assert [r.error for r in pool] == ["the sentence 'The bus is late.' is not cited",
                                          "the comment 'Bob has 3 pens.' is not the next sentence of the question"]
    # the same code citing every statement (the question itself optional), found later: it replaces the uncited row
    good = cand('a', 'def solution():\n    # Ann has 3 pens.\n    # She buys 4 more.\n    # The bus is late.' + body, -0.5, it=2)
    pool2, added2 = cited_pool(pool, [good], [Feedback(1.0, 7)], q)
    assert added2 == {'pos': 1, 'neg': 0, 'uncited': 0} and len(pool2) == 2
    assert (pool2[0].correct, pool2[0].error, pool2[0].program, pool2[0].iteration) == (True, None, good.text, 1)
    # a wrong answer keeps the environment's reason even when it does not cite; without questions nothing is checked
    wrong = cand('a', 'def solution():\n    # Ann has 3 pens.\n    return 3 + 5')
    pool3, added3 = cited_pool([], [wrong], [Feedback(0.0, 8, 'returned 8, expected a different value')], q)
    assert added3 == {'pos': 0, 'neg': 1, 'uncited': 0} and pool3[0].error.startswith('returned 8')
    pool4, added4 = update_pool([], [sloppy], [Feedback(1.0, 7)])
    assert added4 == {'pos': 1, 'neg': 0} and pool4[0].correct

def test_rank_by_soft_reward_or_seeded_random():
    rows = [PoolEntry('a', str(i), s, 1, 1, True, 'explore') for i, s in enumerate([-3.0, -0.1, -2.0, -0.5, -1.0, -4.0])]
    assert [int(r.program) for r in rank(rows)] == [1, 3, 4, 2, 0, 5]
    shuffled = [[int(r.program) for r in rank(rows, False, f's{k}')] for k in range(5)]
    assert shuffled[0] == [int(r.program) for r in rank(rows, False, 's0')]      # same seed, same order (resumable)
    assert any(s != [1, 3, 4, 2, 0, 5] for s in shuffled) and len({tuple(s) for s in shuffled}) > 1

# ---- training set ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize('n_pos,expected', [(0, 0), (1, 1), (2, 1), (3, 2), (5, 4), (11, 10), (12, 10), (100, 10)])
def test_explore_cap_rule(n_pos, expected):
    assert explore_count(n_pos, 'envisions', cap=10) == expected == min(n_pos, 10, max(1, n_pos - 1))
    assert explore_count(n_pos, 'fixed', max_per_task=2) == min(n_pos, 2)
    assert explore_count(n_pos, 'envisions', cap=3) == min(n_pos, 3, max(1, n_pos - 1))

def prow(tid, prog, sr, ok, it=1, err='boom'):
    return PoolEntry(tid, prog, sr, it, it, ok, 'explore', None if ok else err, f'answered {prog}')

POOL = [prow('a', 'p1', -1.0, True), prow('a', 'p2', -0.5, True), prow('a', 'p3', -2.0, True, it=2),
        prow('a', 'n1', -0.1, False), prow('a', 'n2', -3.0, False), prow('a', 'n3', -1.0, False, it=2),
        prow('b', 'n4', -1.0, False), prow('c', 'q1', -1.0, True, it=2)]

def test_repair_and_preference_pairs():
    cfg = load_selftrain_config(preset='envisions_plus')
    sel = select_training(POOL, cfg, iteration=2)
    assert [r.program for r in sel['explore']] == ['p2', 'p1', 'q1']   # a: min(10, max(1, 3-1)) = 2; c: 1
    # the released rule: the best negatives, each with a positive left over from exploration (a has one; b none; c no
    # negative)
    assert [(p.program, n.program) for p, n in sel['repair']] == [('p3', 'n1')]
    assert [(p.program, n.program) for p, n in sel['preference']] == [('p2', 'n1'), ('p1', 'n3')]
    three = load_selftrain_config(preset='envisions_plus', overrides={'loop': {'max_repair_per_task': 3},
                                                                       'preference': {'max_pairs_per_task': 1}})
    sel3 = select_training(POOL, three, 2)
    assert [(p.program, n.program) for p, n in sel3['repair']] == [('p3', 'n1')]
    assert [(p.program, n.program) for p, n in sel3['preference']] == [('p2', 'n1')]
    assert pair_up([], POOL[3:5], 2) == []

def released_pairs(n_pos:int, n_neg:int) -> tuple[list, list]:
    "A transcription of the released organiser's pair loop (envisions_method.md 1.8) for one input's sorted pools."
    P, N = [f'p{i}' for i in range(n_pos)], [f'n{i}' for i in range(n_neg)]
    if not P: return [], []
    n_exp = min(10, max(1, len(P) - 1))
    explore = [P[m] for m in range(n_exp)]
    n_rep = max(0, min(2, len(P) - n_exp, len(N)))
    return explore, [(P[n_exp + m], N[m]) for m in range(n_rep)]

def test_pairs_equal_the_released_rule_for_every_pool_size():
    cfg = load_selftrain_config(preset='envisions')
    for n_pos, n_neg in itertools.product(range(0, 16), range(0, 8)):
        pool = ([prow('t', f'p{i}', -i - 1.0, True) for i in range(n_pos)] +
                [prow('t', f'n{i}', -i - 1.0, False) for i in range(n_neg)])
        sel = select_training(pool, cfg, 1, {'t': Task('t', 'arith', 'q', 1.0)})
        explore, repair = released_pairs(n_pos, n_neg)
        assert [r.program for r in sel['explore']] == explore, (n_pos, n_neg)
        assert [(p.program, n.program) for p, n in sel['repair']] == repair, (n_pos, n_neg)
    # the rule this library used before (every negative up to 2 with the positives in turn) differed in most cases
    old = lambda n_pos, n_neg: [(f'p{j % n_pos}', f'n{j}') for j in range(min(2, n_neg))] if n_pos else []
    differ = sum(old(a, b) != released_pairs(a, b)[1] for a, b in itertools.product(range(1, 14), range(0, 4)))
    assert differ == 39

def test_presets_select_what_they_say():
    rft = select_training(POOL, load_selftrain_config(preset='rft'), 2)
    assert ([r.program for r in rft['explore']], rft['repair'], rft['preference']) == (['p2', 'p1', 'q1'], [], [])
    restem = select_training(POOL, load_selftrain_config(preset='restem'), 2)   # latest iteration only
    assert [r.program for r in restem['explore']] == ['p3', 'q1']
    norep = select_training(POOL, load_selftrain_config(preset='no_repair_pairs'), 2)
    assert norep['repair'] == norep['preference'] == [] and len(norep['explore']) == 3
    nosr = select_training(POOL, load_selftrain_config(preset='no_soft_reward'), 2)   # as many, in a seeded random order
    assert {r.program for r in nosr['explore'][:2]} <= {'p1', 'p2', 'p3'} and len(nosr['explore']) == 3
    assert nosr == select_training(POOL, load_selftrain_config(preset='no_soft_reward'), 2)
    # the released organiser: logic rows twice, math once
    env = load_selftrain_config(preset='envisions')
    logic = select_training(POOL, env, 2, {t: Task(t, 'rules', 'q', 'True') for t in 'abc'})
    math_ = select_training(POOL, env, 2, {t: Task(t, 'arith', 'q', 1.0) for t in 'abc'})
    assert [r.program for r in logic['explore']] == ['p2', 'p1', 'p2', 'p1', 'q1', 'q1']
    assert [r.program for r in math_['explore']] == ['p2', 'p1', 'q1'] and len(logic['repair']) == 2 * len(math_['repair'])

class Tok:  # chat_prompt only needs apply_chat_template
    def apply_chat_template(self, msgs, tokenize=False, add_generation_prompt=True): return f"<u>{msgs[0]['content']}<a>"

def test_training_rows_use_the_repair_prompt_with_or_without_feedback():
    tasks = {t: Task(t, 'arith', f'Question {t}?', 7.0) for t in 'abc'}
    seed = [Task('s0', 'arith', 'Seed?', 1.0, 'def solution():\n    return 1')]
    for feedback in ('env', 'none'):
        cfg = load_selftrain_config(preset='envisions_plus', overrides={'refine': {'feedback': feedback}})
        rows = training_rows(Tok(), tasks, select_training(POOL, cfg, 2), seed, cfg)
        assert [r['completion'] for r in rows] == ['def solution():\n    return 1', 'p2', 'p1', 'q1', 'p3']
        repair = rows[-1]['prompt']
        assert 'Question a?' in repair and 'n1' in repair and ('Feedback: answered n1' in repair) == (feedback == 'env')
        assert repair == f"<u>{repair_prompt(tasks['a'], 'n1', 'answered n1' if feedback == 'env' else None)}<a>"
        assert 'boom' not in repair   # the environment's error (it may name the gold answer) never shows
    prefs = preference_rows(Tok(), tasks, select_training(POOL, load_selftrain_config(preset='envisions_plus'), 2))
    assert prefs[0] == {'prompt': '<u>Question a?\nWrite a Python function solution() that returns the answer.<a>',
                        'chosen': 'p2', 'rejected': 'n1'}

def test_released_pools_dedup_exact_text_across_tasks_and_rounds():
    "update_pool with global dedup equals a transcription of the released replay (envisions_method.md 1.7)."
    rng = random.Random(0)
    texts = ['def solution():\n    return 1', 'def solution():\n    return 2', 'def solution():\n    return 1  # x',
             'def solution():\n    return 3']
    rounds = [[(rng.choice('ab'), rng.choice(texts), rng.random() < 0.5, -rng.random()) for _ in range(12)]
              for _ in range(3)]
    seen, want, pool = set(), {'a': ([], []), 'b': ([], [])}, []
    for r, cands in enumerate(rounds, 1):
        for tid, text, ok, lp in cands:
            if text not in seen:
                want[tid][0 if ok else 1].append(text)
                seen.add(text)
        cs = [Candidate(tid, text, lp, 1, 'explore', r) for tid, text, _, lp in cands]
        pool, _ = update_pool(pool, cs, [Feedback(float(ok)) for _, _, ok, _ in cands], lambda tid: 'global')
    got = {t: ([r.program for r in pool if r.task_id == t and r.correct], [r.program for r in pool if r.task_id == t and not r.correct])
           for t in 'ab'}
    assert got == want

# ---- refinement merge ------------------------------------------------------------------------------------------

def test_merge_rule_of_refinement():
    cs = [cand('a', 'w', -1.0, 1), cand('a', 'r', -2.0, 1), cand('b', 'r2', -0.5, 1), cand('c', 'w2', -0.1, 1)]
    fbs = [Feedback(0.0), Feedback(1.0), Feedback(1.0), Feedback(0.0)]
    reps = [(0, cand('a', 'fix-low', -9.0, 1, origin='refine'), Feedback(1.0)),   # wrong original: any correct repair replaces it
            (1, cand('a', 'better', -1.5, 1, origin='refine'), Feedback(1.0)),    # correct original, higher soft reward: replaced
            (2, cand('b', 'worse', -0.7, 1, origin='refine'), Feedback(1.0)),     # correct original, lower soft reward: kept
            (3, cand('c', 'still-wrong', 0.0, 1, origin='refine'), Feedback(0.0))]  # a wrong repair never replaces
    mc, mf, fixed = merge_repairs(cs, fbs, reps)
    assert [c.text for c in mc] == ['fix-low', 'better', 'r2', 'w2'] and fixed == 1
    assert [f.reward for f in mf] == [1.0, 1.0, 1.0, 0.0] and [c.text for c in cs] == ['w', 'r', 'r2', 'w2']

def test_a_right_cited_program_is_not_replaced_by_an_uncited_rewrite():
    "The citation check comes before the merge: an uncited rewrite is not a correct one, whatever its score."
    q = 'Ann has 3 pens. She buys 4 more. How many pens does Ann have?'
    tasks = {'a': Task('a', 'arith', q, 7.0)}
    good = cand('a', 'def solution():\n    # Ann has 3 pens.\n    # She buys 4 more.\n    return 3 + 4', -2.0)
    slick = cand('a', 'def solution():\n    return 7', -0.1, origin='refine')       # right, higher soft reward, no citations
    cited, n = cite_filter([good], [Feedback(1.0, 7)], tasks, lambda t: True)
    rep_fbs, n_rep = cite_filter([slick], [Feedback(1.0, 7)], tasks, lambda t: True)
    mc, mf, fixed = merge_repairs([good], cited, [(0, slick, rep_fbs[0])])
    assert (n, n_rep, [c.text for c in mc], mf[0].correct, fixed) == (0, 1, [good.text], True, 0)
    pool, added = update_pool([], mc, mf)
    assert added == {'pos': 1, 'neg': 0} and pool[0].correct
    # without the filter first (the old order), the uncited rewrite replaced it and the pool lost its positive
    mc_old, mf_old, _ = merge_repairs([good], [Feedback(1.0, 7)], [(0, slick, Feedback(1.0, 7))])
    assert cite_filter(mc_old, mf_old, tasks, lambda t: True)[1] == 1

# ---- sample metrics -------------------------------------------------------------------------------------------

def test_maj_and_pass_at_k():
    groups = [[(42, True), (42.0, True), (7, False)], [(7, False), (7, False), (42, True)], [(None, False)] * 3,
              [('True', True), ('False', False), ('True', True)]]
    assert maj_at_k(groups) == 0.5
    # with probes the same answer can be right and wrong: the majority program's verdict counts, not any program's
    probed = [[('True', False), ('True', True), ('False', False)], [('True', True), ('True', False), ('Unknown', True)]]
    assert maj_at_k(probed) == 0.5
    assert pass_at_k([[ok for _, ok in g] for g in groups]) == 0.75
    assert maj_at_k([]) == pass_at_k([]) == 0.0

def test_soft_reward_auc_matches_pairwise_counting():
    rng = random.Random(0)
    for _ in range(20):
        n = rng.randint(2, 30)
        scores = [round(rng.gauss(0, 1), 1) for _ in range(n)]   # rounded: ties happen
        labels = [rng.random() < 0.4 for _ in range(n)]
        pos = [s for s, l in zip(scores, labels) if l]; neg = [s for s, l in zip(scores, labels) if not l]
        if not pos or not neg: assert soft_reward_auc(scores, labels) is None; continue
        brute = sum((p > q) + 0.5 * (p == q) for p in pos for q in neg) / (len(pos) * len(neg))
        assert math.isclose(soft_reward_auc(scores, labels), brute)

def test_sample_metrics_of_an_iteration():
    cs = [cand('a', 'x', -1.0), cand('a', 'y', -5.0), cand('a', 'z', -2.0), cand('b', 'u', -3.0), cand('b', 'v', -4.0)]
    fbs = [Feedback(1.0, 4), Feedback(0.0, 5), Feedback(0.0, 5), Feedback(0.0, None, 'timeout'), Feedback(1.0, 2)]
    m = sample_metrics(cs, fbs)
    assert m == {'pass_at_1': 0.4, 'pass_at_k': 1.0, 'maj_at_k': 0.5, 'soft_reward_auc': round(4 / 6, 4)}

# ---- presets ---------------------------------------------------------------------------------------------------

ABLATIONS = {  # name -> (the preset it ablates, the switches it changes)
    'no_refine': ('envisions', {'refine.enabled'}), 'no_repair_pairs': ('envisions', {'loop.repair_pairs'}),
    'no_soft_reward': ('envisions', {'loop.soft_reward_ranking'}), 'continue_training': ('envisions', {'loop.init_from'}),
    'envisions_plus': ('envisions', {'refine.feedback', 'loop.organiser', 'preference.method'}),
    'plus_no_feedback': ('envisions_plus', {'refine.feedback'}), 'plus_no_dpo': ('envisions_plus', {'preference.method'})}

def flat(name): return flat_dict(config_to_dict(load_selftrain_config(preset=name)))

def test_presets():
    assert load_selftrain_config(preset='rft') == SelfTrainConfig(preset='rft')
    assert {'rft', 'star', 'restem', 'envisions', *ABLATIONS} == set(PRESETS)
    for name in PRESETS:
        cfg = load_selftrain_config(preset=name)
        check_config(cfg)
        assert cfg.preset == name
        if name in ABLATIONS:
            base, switches = ABLATIONS[name]
            assert {k for k, v in flat(name).items() if flat(base)[k] != v} - {'preset'} == switches, name

def test_envisions_is_the_released_algorithm():
    env = load_selftrain_config(preset='envisions')
    assert (env.sample.temperature, env.sample.top_p) == (1.0, 1.0)
    r = env.refine   # every candidate, once, by the current model, from task and program only
    assert (r.enabled, r.only_failed, r.feedback, r.k, r.temperature, r.top_p) == (True, False, 'none', 1, 1.0, 1.0)
    lc = env.loop
    assert (lc.explore_rule, lc.explore_cap, lc.repair_pairs, lc.max_repair_per_task, lc.organiser, lc.init_from,
            lc.pool_scope, lc.soft_reward_ranking, lc.rationalise) == ('envisions', 10, True, 2, 'envisions', 'base', 'all',
                                                                        True, False)
    assert env.preference.method == 'none'   # SFT only
    # what `--help` shows: each preset's one-line difference from envisions
    r = cli('selftrain', '--help')
    assert all(name in r.stdout for name in PRESETS) and 'ENVISIONS as released' in r.stdout

def test_preset_wins_over_the_file_and_conflicts_are_errors(tmp_path):
    (tmp_path/'c.yaml').write_text(yaml.safe_dump({'sample': {'k': 3}, 'refine': {'enabled': False}}))
    cfg = load_selftrain_config(tmp_path/'c.yaml', 'envisions')
    assert (cfg.sample.k, cfg.refine.enabled, cfg.preset) == (3, True, 'envisions')
    (tmp_path/'p.yaml').write_text(yaml.safe_dump({'preset': 'envisions'}))
    assert load_selftrain_config(tmp_path/'p.yaml').refine.enabled
    with pytest.raises(ConfigError, match="sets preset 'envisions', the command line 'rft'"): load_selftrain_config(tmp_path/'p.yaml', 'rft')
    with pytest.raises(ConfigError, match="unknown preset 'alphago'"): load_selftrain_config(preset='alphago')

# ---- the DPO stage ---------------------------------------------------------------------------------------------

def test_train_preference_on_a_tiny_model(tmp_path):
    from symbol_llm_nb.models import build_tokenizer, build_tiny_model, chat_prompt, TinyModelConfig
    from symbol_llm_nb.tasks import arith_tasks
    from symbol_llm_nb.families import task_prompt
    ts = arith_tasks(8, 0)
    tok = build_tokenizer([task_prompt(t) for t in ts] + [t.program for t in ts], 300)
    build_tiny_model(tok, TinyModelConfig(hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64), save_dir=tmp_path/'m0')
    rows = [{'prompt': chat_prompt(tok, task_prompt(t)), 'chosen': t.program, 'rejected': t.program.replace('return total', 'return 0')} for t in ts]
    stats = train_preference(tmp_path/'m0', rows, tmp_path/'iter'/'model', PreferenceConfig(method='dpo', loss_type='sigmoid', epochs=2, lr=1e-2, batch_size=4), progress=False)
    assert stats['pref_pairs'] == 8 and stats['pref_steps'] == 4 and 0 < stats['pref_loss'] < 1
    assert (tmp_path/'iter'/'model'/'config.json').exists() and not (tmp_path/'iter'/'model.tmp').exists()
    rpo = train_preference(tmp_path/'m0', rows, tmp_path/'rpo'/'model', PreferenceConfig(method='dpo', batch_size=8), progress=False)  # default: DPO + SFT
    assert PreferenceConfig().loss_type == ['sigmoid', 'sft'] and rpo['pref_steps'] == 1 and rpo['pref_loss'] > stats['pref_loss']

# ---- end to end ---------------------------------------------------------------------------------------------

from conftest import KILLS, cli, small_config, steps

def test_envisions_plus_resumes_after_kills(envisions_run):
    run, cfg, snapshots = envisions_run
    after = steps(run)
    for (done_step, pending), done in zip(KILLS, snapshots):
        assert done_step in done and pending not in done, (done_step, sorted(done))
        assert all(after[k] == v for k, v in done.items()), 'a finished step was redone'
    rows = read_jsonl(run/'metrics.jsonl')
    assert [r['iteration'] for r in rows] == [0, 1, 2]
    assert not list(run.rglob('*.tmp')), 'a temporary file was left behind'
    assert yaml.safe_load((run/'config.yaml').read_text())['preset'] == 'envisions_plus'
    for i, row in enumerate(rows[1:], 1):
        d = run/f'iter_{i:03d}'
        assert len(read_jsonl(d/'refined.jsonl')) == row['samples'] == row['refined'] == len(read_jsonl(d/'refine_feedback.jsonl'))
        assert all(k in row for k in ('pass_at_1', 'pass_at_k', 'maj_at_k', 'soft_reward_auc', 'kept_rate', 'refine_gain', 'pool_pos', 'pool_neg',
                                      'time_refine_s', 'time_refine_verify_s', 'time_iteration_s', 'eval_accuracy_arith'))
        pool = read_jsonl(d/'pool.jsonl')
        assert (row['pool_pos'], row['pool_neg']) == (sum(r['correct'] for r in pool), sum(not r['correct'] for r in pool)) and row['pool_neg'] > 0
        assert (d/'train_pref.jsonl').exists() == (row['pref_pairs'] > 0) == (f'iter_{i:03d}/pref' in after)
        assert len(read_jsonl(d/'train_sft.jsonl')) == 8 + row['explore_rows'] + row['repair_rows']  # seed programs + pairs
    assert rows[2]['pool_neg'] >= rows[1]['pool_neg']   # pools only grow
    assert {p.name for p in (run/'plots').iterdir()} >= {'accuracy.png', 'pools.png', 'refine_gain.png', 'soft_reward.png', 'families.png'}
    # the same command again finds everything done; another preset is refused
    r = cli('selftrain', '--config', cfg, '--preset', 'envisions_plus', '--run-dir', run, '--quiet')
    assert r.returncode == 0 and steps(run) == after, r.stderr
    r = cli('selftrain', '--config', cfg, '--preset', 'plus_no_dpo', '--run-dir', run, '--quiet')
    assert r.returncode == 2 and 'different config' in r.stderr and 'preference.method' in r.stderr

def test_rft_preset_and_compare(envisions_run, tmp_path):
    env_run, env_cfg, _ = envisions_run
    d = yaml.safe_load(env_cfg.read_text())   # the envisions run's tasks and seed-model settings, one iteration
    cfg, run = tmp_path/'rft.yaml', tmp_path/'rft'
    cfg.write_text(yaml.safe_dump({**d, 'loop': {**d['loop'], 'iterations': 1}}))
    # another seed is another seed model: refused in one line, nothing written
    other = tmp_path/'other.yaml'; other.write_text(yaml.safe_dump({**yaml.safe_load(cfg.read_text()), 'seed': 7}))
    r = cli('selftrain', '--config', other, '--preset', 'rft', '--run-dir', run, '--quiet', '--seed-from', env_run)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and 'other seed settings' in r.stderr and not run.exists()
    # the rft run starts from the envisions run's seed model (same seed and seed-model settings)
    r = cli('selftrain', '--config', cfg, '--preset', 'rft', '--run-dir', run, '--quiet', '--seed-from', env_run)
    assert r.returncode == 0, r.stderr
    rows = read_jsonl(run/'metrics.jsonl')
    assert [r['iteration'] for r in rows] == [0, 1] and 'refine_gain' not in rows[1] and rows[1]['repair_rows'] == rows[1]['pref_pairs'] == 0
    assert rows[0] == read_jsonl(env_run/'metrics.jsonl')[0]
    assert all(steps(run)[k]['shared_from'] == str(env_run) for k in ('data', 'base', 'iter_000/train', 'iter_000/eval'))
    assert 'shared_from' not in steps(run)['iter_001/train']
    assert not (run/'iter_001'/'refined.jsonl').exists() and 'iter_001/refine' not in steps(run)
    r = cli('compare', env_run, run, '--out', tmp_path/'cmp.png')
    assert r.returncode == 0, r.stderr
    assert (tmp_path/'cmp.png').stat().st_size > 1000 and 'envisions' in r.stdout and 'rft' in r.stdout and '±' in r.stdout
    assert 'seed_model_s' in r.stdout and 'selftrain_s' in r.stdout

def test_unknown_preset_is_one_line(tmp_path):
    r = cli('selftrain', '--preset', 'alphago', '--run-dir', tmp_path/'run')
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and "unknown preset 'alphago'" in lines[0] and 'envisions' in lines[0]
    assert not (tmp_path/'run').exists()
    r = cli('compare', tmp_path/'nope')
    assert r.returncode == 2 and 'not a run directory' in r.stderr

def test_a_run_refuses_held_out_questions_in_training(tmp_path):
    "Same question after whitespace and case: refused in one line naming both tasks, before anything is written."
    (tmp_path/'a').mkdir()
    (tmp_path/'b').mkdir()
    write_jsonl(tmp_path/'a'/'gsm8k.jsonl', [{'input': 'Ann has 3 pens.  She buys 4 more. How many?', 'label': 7}])
    write_jsonl(tmp_path/'b'/'gsm8k.jsonl', [{'input': 'ann has 3 pens. she buys 4 more.\nHow many?', 'label': 7}])
    cfg = tmp_path/'c.yaml'
    cfg.write_text(yaml.safe_dump({'data': {'families': ['arith'], 'n_seed': 2, 'n_eval': 2,
                                            'train_file': str(tmp_path/'a'/'gsm8k.jsonl'),
                                            'eval_file': str(tmp_path/'b'/'gsm8k.jsonl')}}))
    r = cli('selftrain', '--config', cfg, '--run-dir', tmp_path/'run', '--quiet')
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and not (tmp_path/'run').exists(), r.stderr
    assert f"train task train:{tmp_path/'a'/'gsm8k.jsonl'}:0" in lines[0] and 'held-out task eval:' in lines[0]
    # every task of a run has an id of its own, saying its split and source
    tasks = make_tasks(DataConfig(families=['arith', 'rules'], n_seed=2, n_train=2, n_eval=2))
    ids = [t.id for ts in tasks.values() for t in ts]
    assert len(ids) == len(set(ids)) and ids[0] == 'seed:arith:0'
