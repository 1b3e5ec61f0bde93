"End to end: `symbol-llm selftrain` on a very small config, resume after a kill, and bad input."
import json, os, signal, subprocess, sys, time
from pathlib import Path
import pytest, yaml

TINY = {
    'data': {'n_seed': 8, 'n_train': 12, 'n_eval': 6},
    'model': {'tiny': {'hidden_size': 32, 'num_layers': 1, 'num_heads': 2, 'intermediate_size': 64, 'vocab_size': 300}, 'recipe': {'warmup': {'steps': 10}, 'recall': {'epochs': 1}}},
    'seed_sft': {'epochs': 1, 'report_to': 'none'},
    'train': {'epochs': 1, 'report_to': 'none', 'min_steps': 0},
    'sample': {'k': 2, 'max_new_tokens': 24},
    'env': {'timeout': 2.0, 'workers': 1},
    'loop': {'iterations': 2},
}

def cli(*args, timeout=600):
    return subprocess.run([sys.executable, '-m', 'symbol_llm_nb.cli', *map(str, args)], capture_output=True, text=True, timeout=timeout)

def write_config(path, cfg=TINY):
    path.write_text(yaml.safe_dump(cfg)); return path

def steps(run): return json.loads((run/'manifest.json').read_text())['steps']

def test_selftrain_end_to_end(tmp_path):
    cfg, run = write_config(tmp_path/'tiny.yaml'), tmp_path/'run'
    r = cli('selftrain', '--config', cfg, '--run-dir', run, '--quiet')
    assert r.returncode == 0, r.stderr
    rows = [json.loads(l) for l in (run/'metrics.jsonl').read_text().splitlines()]
    assert [row['iteration'] for row in rows] == [0, 1, 2]
    assert all(0 <= row['eval_accuracy'] <= 1 for row in rows)
    assert all('samples' in row and 'pool_programs' in row for row in rows[1:])
    assert (run/'plots'/'accuracy.png').stat().st_size > 1000 and (run/'plots'/'kept.png').exists()
    assert yaml.safe_load((run/'config.yaml').read_text())['loop']['iterations'] == 2
    assert list((run/'iter_001'/'train_logs').rglob('events.out.tfevents*')) or TINY['train']['report_to'] == 'none'
    # a second run of the same command finds everything done and changes nothing
    before = steps(run)
    r = cli('selftrain', '--config', cfg, '--run-dir', run, '--quiet')
    assert r.returncode == 0, r.stderr
    assert steps(run) == before
    r = cli('plots', '--run-dir', run)
    assert r.returncode == 0 and 'accuracy.png' in r.stdout

def test_resume_after_kill(tmp_path):
    cfg, run = write_config(tmp_path/'tiny.yaml', {**TINY, 'loop': {'iterations': 3}}), tmp_path/'run'
    p = subprocess.Popen([sys.executable, '-m', 'symbol_llm_nb.cli', 'selftrain', '--config', str(cfg), '--run-dir', str(run), '--quiet'],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    while time.time() < deadline:  # kill it in the middle of iteration 1
        if (run/'manifest.json').exists() and 'iter_001/sample' in steps(run): break
        time.sleep(0.2)
    os.killpg(p.pid, signal.SIGKILL); p.wait()
    done = steps(run)
    assert 'iter_000/eval' in done and 'iter_003/eval' not in done
    r = cli('selftrain', '--config', cfg, '--run-dir', run, '--quiet')
    assert r.returncode == 0, r.stderr
    after = steps(run)
    assert all(after[k] == v for k, v in done.items()), 'a finished step was redone'
    rows = [json.loads(l) for l in (run/'metrics.jsonl').read_text().splitlines()]
    assert [row['iteration'] for row in rows] == [0, 1, 2, 3]
    assert not list(run.rglob('*.tmp')), 'a temporary file was left behind'

def error_line(r):
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and lines[0].startswith('symbol-llm: error:'), r.stderr
    return lines[0]

def test_unknown_config_key(tmp_path):
    cfg = write_config(tmp_path/'bad.yaml', {'loop': {'iteratons': 3}})
    msg = error_line(cli('selftrain', '--config', cfg, '--run-dir', tmp_path/'run'))
    assert "unknown config key 'loop.iteratons'" in msg
    assert not (tmp_path/'run').exists()

def test_missing_config_and_data_file(tmp_path):
    assert 'no such config file' in error_line(cli('selftrain', '--config', tmp_path/'nope.yaml', '--run-dir', tmp_path/'r1'))
    cfg = write_config(tmp_path/'c.yaml', {**TINY, 'data': {**TINY['data'], 'train_file': str(tmp_path/'missing.jsonl')}})
    msg = error_line(cli('selftrain', '--config', cfg, '--run-dir', tmp_path/'r2'))
    assert 'missing.jsonl: no such file' in msg and not (tmp_path/'r2').exists()

@pytest.mark.parametrize('content,expected', [
    ('{"input": "What is 2+2?", "label": 4}\n{"input": "broken", "label": \n', 'data.jsonl:2: not valid JSON'),
    ('{"input": "What is 2+2?", "label": 4}\n{"input": "x", "label": "four"}\n', "data.jsonl:2: field 'label': not a number"),
    ('{"input": "What is 2+2?"}\n', "data.jsonl:1: field 'label': missing"),
])
def test_bad_data_rows(tmp_path, content, expected):
    (tmp_path/'data.jsonl').write_text(content)
    cfg = write_config(tmp_path/'c.yaml', {**TINY, 'data': {**TINY['data'], 'train_file': str(tmp_path/'data.jsonl')}})
    assert expected in error_line(cli('selftrain', '--config', cfg, '--run-dir', tmp_path/'run'))
    assert not (tmp_path/'run').exists()

def test_changed_config_overwrites_nothing(tmp_path):
    run = tmp_path/'run'; run.mkdir()
    (run/'config.yaml').write_text('original: true\n')
    cfg = write_config(tmp_path/'c.yaml')
    msg = error_line(cli('selftrain', '--config', cfg, '--run-dir', run))
    assert 'different config' in msg
    assert (run/'config.yaml').read_text() == 'original: true\n'
    assert sorted(p.name for p in run.iterdir()) == ['config.yaml', 'manifest.json'] or sorted(p.name for p in run.iterdir()) == ['config.yaml']

def test_verify_python_cli(tmp_path):
    rows = [{'id': 'a', 'program': 'def solution():\n    return 6 * 7', 'answer': 42, 'extra': 'kept'},
            {'id': 'b', 'program': 'while True: pass', 'answer': 1}]
    (tmp_path/'in.jsonl').write_text(''.join(json.dumps(r) + '\n' for r in rows))
    r = cli('verify', '--env', 'python', '--input', tmp_path/'in.jsonl', '--output', tmp_path/'out.jsonl', '--timeout', 1, '--workers', 2)
    assert r.returncode == 0, r.stderr
    out = [json.loads(l) for l in (tmp_path/'out.jsonl').read_text().splitlines()]
    assert [o['reward'] for o in out] == [1.0, 0.0] and out[0]['extra'] == 'kept' and out[0]['prediction'] == 42
    assert 'timeout' in out[1]['error'] and all('elapsed_s' in o for o in out)
    (tmp_path/'bad.jsonl').write_text('{"id": "a", "program": "answer = 1", "answer": 1}\n{"id": "b", "answer": 2}\n')
    msg = error_line(cli('verify', '--env', 'python', '--input', tmp_path/'bad.jsonl', '--output', tmp_path/'out2.jsonl'))
    assert "bad.jsonl:2: field 'program': missing" in msg and not (tmp_path/'out2.jsonl').exists()

def test_verify_logic_cli(tmp_path):
    from symbol_llm_nb.envs.logic import make_rule_tasks
    tasks = make_rule_tasks(3, seed=0)
    rows = [{'id': t.id, 'program': t.program, 'answer': t.answer} for t in tasks]
    rows.append({'id': 'broken', 'program': 'Facts:\nCold(Bob, True\nQuery:\nCold(Bob, True)', 'answer': 'True'})
    (tmp_path/'in.jsonl').write_text(''.join(json.dumps(r) + '\n' for r in rows))
    r = cli('verify', '--env', 'logic', '--input', tmp_path/'in.jsonl', '--output', tmp_path/'out.jsonl', '--workers', 1)
    assert r.returncode == 0, r.stderr
    out = [json.loads(l) for l in (tmp_path/'out.jsonl').read_text().splitlines()]
    assert [o['reward'] for o in out] == [1.0, 1.0, 1.0, 0.0] and out[3]['error']

def test_verify_web_cli(tmp_path):
    import shutil
    if not (shutil.which('chromium') and shutil.which('chromedriver')): pytest.skip('chromium and chromedriver are not installed (apt-get install chromium chromium-driver)')
    rows = [{'id': 0, 'env_name': 'click-button', 'program': "agent.click_xpath(\"//button[text()='okay']\")"},
            {'id': 0, 'env_name': 'click-button', 'program': 'agent.fly()'}]
    (tmp_path/'in.jsonl').write_text(''.join(json.dumps(r) + '\n' for r in rows))
    r = cli('verify', '--env', 'web', '--input', tmp_path/'in.jsonl', '--output', tmp_path/'out.jsonl', '--workers', 1)
    assert r.returncode == 0, r.stderr
    out = [json.loads(l) for l in (tmp_path/'out.jsonl').read_text().splitlines()]
    assert [o['reward'] for o in out] == [1.0, 0.0]
    assert out[0]['raw_reward'] == 1.0 and 'unknown action agent.fly' in out[1]['error']

def test_sft_and_curate_subcommands_are_wired(tmp_path):
    assert 'no such config file' in error_line(cli('sft', '--config', tmp_path/'nope.yaml'))
    assert 'no such config file' in error_line(cli('curate', '--config', tmp_path/'nope.yaml', '--out', tmp_path/'out'))
    assert not (tmp_path/'out').exists()
