import json, os, signal, subprocess, sys, time
from pathlib import Path
import pytest, yaml

ROOT = Path(__file__).resolve().parents[1]

def _shared_data():
    for p in (os.environ.get('SYMBOL_LLM_SHARED_DATA'), ROOT.parent/'shared'/'data'):
        if p and Path(p).is_dir(): return Path(p)
    return None

@pytest.fixture
def shared_data():
    p = _shared_data()
    if p is None: pytest.skip('../shared/data (the benchmark files) is not beside this checkout')
    return p

# ---- a tiny envisions_plus run, killed three times and resumed (shared by test_envisions and test_feedback) -----

def cli(*args, timeout=600):
    return subprocess.run([sys.executable, '-m', 'symbol_llm_nb.cli', *map(str, args)], capture_output=True, text=True, timeout=timeout)

def steps(run): return json.loads((run/'manifest.json').read_text())['steps']

def small_config(folder:Path, iterations:int=2) -> Path:
    "A tiny run in seconds in which every step has work: the model self-trains on the questions of its own seed set, half memorised."
    from symbol_llm_nb.selftrain import DataConfig, make_tasks
    from symbol_llm_nb.core import write_jsonl
    seed = make_tasks(DataConfig(families=['arith'], n_seed=8, n_train=12, n_eval=6))['seed']
    write_jsonl(folder/'train.jsonl', [{'input': t.question, 'label': t.answer} for t in seed])
    cfg = {'data': {'families': ['arith'], 'n_seed': 8, 'n_train': 12, 'n_eval': 6, 'train_file': str(folder/'train.jsonl')},
           'model': {'tiny': {'hidden_size': 64, 'num_layers': 1, 'num_heads': 2, 'intermediate_size': 128, 'vocab_size': 300}, 
                     'recipe': {'warmup': {'steps': 0}, 'recall': {'epochs': 0}}},
           'seed_sft': {'epochs': 40, 'lr': 5e-3, 'batch_size': 2, 'report_to': 'none'}, 'train': {'epochs': 1, 'report_to': 'none', 'min_steps': 0},
           'sample': {'k': 4, 'max_new_tokens': 128, 'temperature': 0.5}, 'env': {'timeout': 2.0, 'workers': 1}, 'loop': {'iterations': iterations}}
    (folder/'small.yaml').write_text(yaml.safe_dump(cfg))
    return folder/'small.yaml'

KILLS = [('iter_001/verify', 'iter_001/refine_verify'),   # SIGKILL once this step is done ... and before that one is
         ('iter_001/train', 'iter_001/eval'),            # (during the preference stage, or eval when there are no pairs)
         ('iter_002/refine_verify', 'iter_002/train')]

@pytest.fixture(scope='session')
def envisions_run(tmp_path_factory):
    "`--preset envisions_plus` SIGKILLed three times (refinement of iteration 1, after its SFT, after refining iteration 2), then resumed."
    tmp = tmp_path_factory.mktemp('envisions')
    cfg, run = small_config(tmp), tmp/'run'
    cmd = [sys.executable, '-m', 'symbol_llm_nb.cli', 'selftrain', '--config', str(cfg), '--preset', 'envisions_plus', '--run-dir', str(run), '--quiet']
    snapshots = []
    for after, _ in KILLS:
        with open(tmp/'stderr.txt', 'w') as err:
            p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
            deadline = time.time() + 300
            while time.time() < deadline and p.poll() is None:
                if (run/'manifest.json').exists() and after in steps(run): break
                time.sleep(0.02)
            assert p.poll() is None, (tmp/'stderr.txt').read_text()[-2000:]
            os.killpg(p.pid, signal.SIGKILL); p.wait()
        snapshots.append(steps(run))
    r = cli(*cmd[3:])
    assert r.returncode == 0, r.stderr
    return run, cfg, snapshots


@pytest.fixture(scope='session')
def envisions_plus_run(envisions_run): return envisions_run[0]
