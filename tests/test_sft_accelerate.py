"Two-stage SFT under `accelerate launch` with 2 CPU processes: both ranks train both stages, LoRA works, stages resume."
import json, math, os, shutil, subprocess, sys
from pathlib import Path
import pytest, yaml

ROOT = Path(__file__).resolve().parents[1]
LAUNCH = ['accelerate', 'launch', '--multi_gpu', '--num_processes', '2', '--num_machines', '1',
          '--mixed_precision', 'no', '--dynamo_backend', 'no']
TINY = {
    'curation': {'families': {'sql': {'n': 48, 'n_eval': 8}, 'rules': {'n': 48, 'n_eval': 8}, 'rules_nl': {'n': 48, 'n_eval': 8}},
                 'mix': {'symbolic_ratio': 0.5, 'temperature': 1.0}},
    'model': {'tiny': {'hidden_size': 32, 'num_layers': 1, 'num_heads': 2, 'intermediate_size': 64, 'vocab_size': 300, 'max_position': 512}},
    'injection': {'epochs': 2, 'batch_size': 8, 'max_length': 384, 'report_to': 'none', 'logging_steps': 100},
    'infusion': {'epochs': 1, 'batch_size': 8, 'max_length': 384, 'report_to': 'none', 'logging_steps': 100,
                 'lora': {'enabled': True, 'r': 4}},
}

def env():
    return {**os.environ, 'OMP_NUM_THREADS': '1', 'TOKENIZERS_PARALLELISM': 'false', 'CUDA_VISIBLE_DEVICES': ''}

def recipe(tmp_path, **over):
    cfg = {**TINY, 'output_dir': str(tmp_path/'run'), **over}
    (tmp_path/'recipe.yaml').write_text(yaml.safe_dump(cfg))
    return tmp_path/'recipe.yaml', tmp_path/'run'

def ranks(run, stage):
    return sorted((json.loads(p.read_text()) for p in (run/stage/'train_logs'/'ranks').glob('rank_*.json')), key=lambda r: r['rank'])


@pytest.mark.skipif(shutil.which('accelerate') is None, reason='the accelerate command is not installed')
def test_two_processes_train_both_stages(tmp_path):
    cfg, run = recipe(tmp_path)
    r = subprocess.run(['nice', '-n', '10', *LAUNCH, '-m', 'symbol_llm_nb.sft', '--config', str(cfg), '--quiet'],
                       cwd=ROOT, env=env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-4000:]
    rows = {s: sum(1 for _ in open(run/'data'/f'{s}.jsonl')) for s in ('injection', 'infusion')}
    assert rows == {'injection': 96, 'infusion': 96}  # infusion: 48 symbolic + 48 natural (rules_nl binds at ratio 0.5)
    for stage, epochs in (('injection', 2), ('infusion', 1)):
        rk = ranks(run, stage)
        # both ranks trained: each saw half of every batch's rows, and they stepped together
        per_rank = math.ceil(rows[stage] / (2 * 8))
        assert [x['rank'] for x in rk] == [0, 1], stage
        assert all(x['world_size'] == 2 and x['batches_per_epoch'] == per_rank for x in rk), rk
        assert all(x['global_step'] == x['steps_run'] == per_rank * epochs for x in rk), rk
        stats = json.loads((run/stage/'stats.json').read_text())
        assert stats['world_size'] == 2 and stats['train_steps'] == per_rank * epochs and stats['train_rows'] == rows[stage]
    # the stages chain, and every saved model loads with from_pretrained (LoRA: merged model + adapter)
    assert json.loads((run/'infusion'/'stats.json').read_text())['start_from'] == str(run/'injection'/'model')
    from transformers import AutoModelForCausalLM
    import torch
    inj = AutoModelForCausalLM.from_pretrained(run/'injection'/'model')
    inf = AutoModelForCausalLM.from_pretrained(run/'infusion'/'model')
    assert (run/'infusion'/'model'/'adapter'/'adapter_config.json').exists()
    assert not (run/'injection'/'model'/'adapter').exists()
    diff = max((a - b).abs().max().item() for a, b in zip(inj.parameters(), inf.parameters()))
    assert diff > 0  # the merged LoRA update changed the weights
    with torch.no_grad(): assert torch.isfinite(inf(torch.tensor([[1, 2, 3]])).logits).all()


def test_stages_from_the_module_entry_point(tmp_path):
    "`python -m symbol_llm_nb.sft`: infusion before injection is refused; then the stages run one at a time; a finished stage is not rerun."
    cfg, run = recipe(tmp_path, infusion={**TINY['infusion'], 'lora': {'enabled': False}}, injection={**TINY['injection'], 'epochs': 1})
    sft = lambda *a: subprocess.run([sys.executable, '-m', 'symbol_llm_nb.sft', '--config', str(cfg), '--quiet', *a],
                                    cwd=ROOT, env=env(), capture_output=True, text=True, timeout=300)
    r = sft('--stage', 'infusion')
    assert r.returncode == 2 and 'run --stage injection first' in r.stderr, r.stderr[-2000:]
    assert sft('--stage', 'injection').returncode == 0
    assert sorted(p.name for p in run.iterdir()) == ['base', 'config.yaml', 'data', 'injection']
    r = sft('--stage', 'infusion')
    assert r.returncode == 0, r.stderr[-2000:]
    assert ranks(run, 'infusion')[0]['world_size'] == 1
    before = (run/'injection'/'stats.json').read_text()
    assert sft().returncode == 0                        # both stages done: nothing is trained again
    assert (run/'injection'/'stats.json').read_text() == before
    (tmp_path/'recipe.yaml').write_text(yaml.safe_dump({**yaml.safe_load(cfg.read_text()), 'seed': 1}))
    r = sft()
    assert r.returncode == 2 and 'was started with a different recipe (seed differ)' in r.stderr, r.stderr[-2000:]
