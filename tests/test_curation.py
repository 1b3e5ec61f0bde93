"Curation: planted duplicates and evaluation overlaps are all removed (and nothing else), mixing, bad input stops before training."
import json, os, random, subprocess, sys
from collections import Counter
from pathlib import Path
import pytest, yaml
from symbol_llm_nb.core import DataError, ConfigError, config_from_dict, write_jsonl, read_jsonl
from symbol_llm_nb.tasks import arith_tasks
from symbol_llm_nb.curation import *
from symbol_llm_nb.envs.sql import SqlEnv, sql_tasks

ROOT = Path(__file__).resolve().parents[1]

def shared_data():
    for p in (os.environ.get('SYMBOL_LLM_SHARED_DATA'), ROOT.parent/'shared'/'data'):
        if p and Path(p).is_dir(): return Path(p)
    pytest.skip('../shared/data (the benchmark files) is not beside this checkout')

def swap_word(text, rng):
    "Change one alphabetic word in the middle of `text` (numbers untouched)."
    w = text.split()
    i = next(i for i in range(len(w) // 2, len(w)) if w[i].isalpha())
    w[i] = rng.choice(['blue', 'quickly', 'then'])
    return ' '.join(w)

def plant(rows, evals, rng, n=6):
    "Rows with planted exact duplicates, near duplicates and evaluation overlaps; the planted ids by kind."
    out, planted = list(rows), {'exact_duplicate': set(), 'near_duplicate': set(), 'contaminated': set()}
    for i, r in enumerate(rng.sample(rows, n)):
        d = {**r, 'question': '  ' + r['question'].upper().replace(' ', '   ') + ' ', 'id': f'plant/exact{i}'}
        out.append(d); planted['exact_duplicate'].add(d['id'])
    for i, r in enumerate(rng.sample(rows, n)):
        q = r['question'].replace(' ', ' really ', 1) if i % 2 else r['question'] + ' Think step by step.'
        d = {**r, 'question': q, 'id': f'plant/near{i}'}
        out.append(d); planted['near_duplicate'].add(d['id'])
    long = [e for e in evals if len(e['question'].split()) >= 16]  # one word changed is caught in questions of 2n words or more
    for i, e in enumerate(rng.sample(long, n)):
        host = rng.choice(rows)
        q = ['Solve: ' + e['question'], host['question'] + ' ' + e['question'].lower(), swap_word(e['question'], rng)][i % 3]
        d = {**host, 'question': q, 'id': f'plant/leak{i}'}
        out.append(d); planted['contaminated'].add(d['id'])
    return out, planted  # planted rows come after the rows they copy, so they are the ones removed

def file_rows(rows):
    return [{'id': r['id'], 'question': r['question'], 'completion': r['completion'], 'answer': r['answer']} for r in rows]


def test_planted_duplicates_and_overlaps_generated(tmp_path):
    "Through the whole pipeline, from a local file family: every planted row is removed, for its reason, and no other row."
    rng = random.Random(0)
    rows, _ = load_family('arith', {'n': 300, 'n_eval': 100}, '.')
    evals, _ = load_family('arith', {'n': 300, 'n_eval': 100}, '.', 'eval')
    mixed, planted = plant(rows, evals, rng)
    write_jsonl(tmp_path/'train.jsonl', file_rows(mixed))
    write_jsonl(tmp_path/'eval.jsonl', [{'question': e['question'], 'answer': e['answer']} for e in evals])
    cfg = config_from_dict(CurationConfig, {
        'families': {'py': {'kind': 'symbolic', 'language': 'python', 'path': str(tmp_path/'train.jsonl')}, 'rules_nl': {'n': 50}},
        'decontam': {'family_evals': False, 'eval': {'held_out': {'kind': 'natural', 'path': str(tmp_path/'eval.jsonl'), 'completion': None}}}})
    cur = curate(cfg)
    removed = {k: {r['id'].split('/', 1)[1] for r in cur.removed if r['reason'] == k} for k in planted}
    assert removed == planted
    rep = {r['family']: r for r in cur.report}['py']
    assert (rep['loaded'], rep['exact_dup'], rep['near_dup'], rep['contaminated'], rep['kept']) == (318, 6, 6, 6, 300)
    assert all(r['matched'].startswith('held_out/') and r['overlap'] >= 0.8 for r in cur.removed if r['reason'] == 'contaminated')


def test_planted_duplicates_and_overlaps_shared_math(tmp_path):
    "The same on real GSM8K/MATH rows: 400 train rows, 100 other rows as the held-out set."
    data = shared_data()
    rows, _ = load_family('gsm_nl', {'limit': 500}, data)
    train, evals = rows[:400], rows[400:]
    mixed, planted = plant(train, evals, random.Random(1))
    write_jsonl(tmp_path/'train.jsonl', file_rows(mixed))
    write_jsonl(tmp_path/'eval.jsonl', [{'question': e['question'], 'answer': e['answer']} for e in evals])
    cfg = config_from_dict(CurationConfig, {
        'families': {'gsm': {'kind': 'natural', 'path': str(tmp_path/'train.jsonl')}, 'sql': {'n': 20}},
        'decontam': {'eval': {'held_out': {'kind': 'natural', 'path': str(tmp_path/'eval.jsonl'), 'completion': None}}}})
    cur = curate(cfg)
    removed = {k: {r['id'].split('/', 1)[1] for r in cur.removed if r['reason'] == k} for k in planted}
    assert removed == planted


def test_shared_data_report(tmp_path):
    "The curation report on the shared files: per-family counts, and dedup removes the files' real repeats."
    data = shared_data()
    cfg = config_from_dict(CurationConfig, {'data_root': str(data), 'families': {
        'miniwob': {}, 'sql': {'n': 100}, 'ar_lsat_nl': {}, 'folio_nl': {}, 'rules_nl': {'n': 100}}})
    cur = curate(cfg)
    out = write_curated(cur, tmp_path/'cur')
    rep = {r['family']: r for r in json.loads((out/'report.json').read_text())}
    assert rep['miniwob']['exact_dup'] > 50 and rep['ar_lsat_nl']['exact_dup'] > 10   # repeated seeds / questions in the files
    assert rep['miniwob']['no_target'] == 3                                           # rows with a known-wrong gold program
    for r in rep.values():
        assert r['kept'] == r['loaded'] - r['no_target'] - r['exact_dup'] - r['near_dup'] - r['failed_verify'] - r['contaminated']
    assert '| miniwob | symbolic | action |' in (out/'report.md').read_text()
    assert (out/'report.png').stat().st_size > 5000


def test_mixture_ratio_and_temperature():
    cfg = config_from_dict(CurationConfig, {'families': {'arith': {'n': 300}, 'sql': {'n': 60}, 'rules_nl': {'n': 200}},
                                            'mix': {'symbolic_ratio': 0.75, 'temperature': 1.0}, 'decontam': {'enabled': False}})
    cur = curate(cfg)
    kinds = Counter(r['kind'] for r in cur.infusion)
    assert abs(kinds['symbolic'] / len(cur.infusion) - 0.75) < 0.01
    fams = Counter(r['family'] for r in cur.infusion)
    assert fams == {'arith': 300, 'sql': 60, 'rules_nl': 120}        # T = 1 keeps proportions; the binding kind is used whole, once
    assert {r['kind'] for r in cur.injection} == {'symbolic'} and len(cur.injection) == 360
    flat = mixture_counts({'a': 900, 'b': 100}, {'a': 'symbolic', 'b': 'symbolic'}, 1.0, temperature=100.0, total=200)
    assert abs(flat['a'] - flat['b']) < 10                           # large T: close to uniform


# --- bad input: clear errors before anything is trained ------------------------------------------------

def test_family_with_no_rows(tmp_path):
    (tmp_path/'empty.jsonl').write_text('')
    with pytest.raises(DataError, match="family 'mine' has no rows"):
        curate(config_from_dict(CurationConfig, {'families': {'mine': {'kind': 'symbolic', 'language': 'sql', 'path': str(tmp_path/'empty.jsonl')}}}))
    with pytest.raises(DataError, match="family 'arith' has no rows"):
        curate(config_from_dict(CurationConfig, {'families': {'arith': {'n': 0}, 'rules_nl': {'n': 5}}}))


def test_family_emptied_by_cleaning(tmp_path):
    evals = load_family('arith', {'n': 10, 'n_eval': 5}, '.', 'eval')[0]
    write_jsonl(tmp_path/'leaky.jsonl', [{'question': 'Q: ' + e['question'], 'completion': 'x = 1', 'answer': 1} for e in evals])
    cfg = {'families': {'arith': {'n': 10, 'n_eval': 5}, 'leaky': {'kind': 'symbolic', 'language': 'python', 'path': str(tmp_path/'leaky.jsonl')},
                        'rules_nl': {'n': 5}}}
    with pytest.raises(DataError, match=r"family 'leaky' has no rows left after curation \(5 loaded; .*contaminated 5\)"):
        curate(config_from_dict(CurationConfig, cfg))


def test_unsatisfiable_mixture():
    with pytest.raises(ConfigError, match="no natural family has rows"):
        curate(config_from_dict(CurationConfig, {'families': {'sql': {'n': 20}}}))
    with pytest.raises(ConfigError, match="family 'rules_nl' must give 100 rows but has 30"):
        curate(config_from_dict(CurationConfig, {'families': {'sql': {'n': 100}, 'rules_nl': {'n': 30}}, 'mix': {'infusion_total': 200}}))
    with pytest.raises(ConfigError, match="symbolic_ratio must be in"):
        curate(config_from_dict(CurationConfig, {'mix': {'symbolic_ratio': 1.5}}))


def test_missing_field(tmp_path):
    write_jsonl(tmp_path/'qa.jsonl', [{'question': 'q1', 'completion': 'c1'}, {'question': 'q2'}])
    spec = {'kind': 'natural', 'path': str(tmp_path/'qa.jsonl'), 'answer': None}
    with pytest.raises(DataError, match=r"qa\.jsonl:2: field 'completion': missing"):
        curate(config_from_dict(CurationConfig, {'families': {'qa': spec, 'sql': {'n': 5}}}))
    with pytest.raises(DataError, match=r"datasets:json: field 'output'"):
        load_family('qa', {**spec, 'path': None, 'hf': 'json', 'data_files': str(tmp_path/'qa.jsonl'), 'completion': 'output'}, '.')
    with pytest.raises(ConfigError, match="unknown family 'arithh'"):
        curate(config_from_dict(CurationConfig, {'families': {'arithh': {}}}))


def test_bad_input_stops_sft_before_training(tmp_path):
    "`python -m symbol_llm_nb.sft` on bad recipes: exit status 2, one line naming the problem, no model written."
    cases = {
        'empty': ({'curation': {'families': {'arith': {'n': 0}, 'rules_nl': {'n': 5}}}}, "family 'arith' has no rows"),
        'mixture': ({'curation': {'families': {'sql': {'n': 10}}}}, 'the mixture cannot be satisfied'),
        'field': ({'data_dir': str(tmp_path/'cur')}, "injection.jsonl:1: field 'completion': missing"),
    }
    (tmp_path/'cur').mkdir()
    write_jsonl(tmp_path/'cur'/'injection.jsonl', [{k: 'x' for k in ROW_FIELDS if k != 'completion'}])
    write_jsonl(tmp_path/'cur'/'infusion.jsonl', [])
    (tmp_path/'cur'/'report.json').write_text('[]')
    for name, (recipe, msg) in cases.items():
        out = tmp_path/name
        (tmp_path/f'{name}.yaml').write_text(yaml.safe_dump({'output_dir': str(out), **recipe}))
        r = subprocess.run([sys.executable, '-m', 'symbol_llm_nb.sft', '--config', str(tmp_path/f'{name}.yaml'), '--quiet'],
                           capture_output=True, text=True, timeout=120, env={**os.environ, 'OMP_NUM_THREADS': '1'})
        assert r.returncode == 2, (name, r.stderr[-2000:])
        assert msg in r.stderr and r.stderr.strip().count('\n') == 0, (name, r.stderr[-2000:])
        assert sorted(p.name for p in out.iterdir()) == ['config.yaml'], name


# --- the SQL family and its verifier -------------------------------------------------------------------

def test_sql_family_is_verified_by_execution():
    tasks = sql_tasks(120, seed=5)
    with SqlEnv(timeout=1.0) as env:
        gold = env.verify_batch([{'program': t.program, 'answer': t.answer} for t in tasks])
        assert all(f.correct for f in gold)
        t = next(t for t in tasks if 'COUNT' in t.program)
        wrong = env.verify_batch([{'program': q, 'answer': t.answer} for q in
                                  [t.program.replace('COUNT(*)', 'COUNT(*) + 1'), 'UPDATE employees SET age = 1', "ATTACH 'x.db' AS x",
                                   'SELECT 1; SELECT 2', 'SELECT * FROM nowhere']])
    assert [f.reward for f in wrong] == [0.0] * 5
    assert 'not authorized' in wrong[1].error and 'not authorized' in wrong[2].error
