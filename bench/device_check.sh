#!/usr/bin/env bash
# Device check: one self-training iteration on one GPU with no network, in under 8 minutes on an H100/H200.
# A randomly initialised Llama-style model of ~310M parameters is built here (tokenizer trained on the
# library's own tasks), then `run_selftrain` runs seed SFT -> greedy eval -> HF sampling (k per task, bf16)
# -> sandboxed verification -> bf16 TRL training -> eval. It prints generation and training throughput
# and the peak GPU memory of each phase, and checks that closing the generator hands its memory back.
#
#   bash bench/device_check.sh              # full size (GPU)
#   DEVICE_CHECK_SIZE=tiny bash bench/device_check.sh   # a tiny model and few tasks: the logic, on CPU
#
# Missing packages travel as wheels in .whl/ (ignored by git), installed into /tmp/site when trl or datasets is missing:
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#     --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
#     -d .whl trl==1.16.0 datasets==5.2.0 dill==0.4.1 multiprocess==0.70.19 xxhash==3.6.0
#   (and pyarrow==24.0.0 fsspec==2026.9.0 into .whl/optional/: installed only if `import datasets` fails without them)
# Results go to stdout and, when $OUT is set, to $OUT/device_check.json.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
SITE=/tmp/site
wheels() { "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" "$@"; }
if ! "$PY" -c "import trl, datasets" 2>/dev/null && compgen -G ".whl/*.whl" > /dev/null; then
  wheels .whl/*.whl
  export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
  # datasets wants pyarrow>=24 and fsspec<=2026.9.0: bring those only where the machine's own fail it
  if ! "$PY" -c "import datasets" 2> /tmp/datasets_import.err && compgen -G ".whl/optional/*.whl" > /dev/null; then
    tail -1 /tmp/datasets_import.err; wheels .whl/optional/*.whl
  fi
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1
command -v nvidia-smi > /dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
exec "$PY" - <<'PY'
import json, os, platform, tempfile, time
from pathlib import Path
import torch, transformers, trl, accelerate, datasets
t_start = time.time()
size = os.environ.get('DEVICE_CHECK_SIZE', 'full')
cuda = torch.cuda.is_available()
print(f"python {platform.python_version()}  torch {torch.__version__}  transformers {transformers.__version__}  "
      f"trl {trl.__version__}  accelerate {accelerate.__version__}  datasets {datasets.__version__}  "
      f"device {torch.cuda.get_device_name(0) if cuda else 'cpu'}  size {size}", flush=True)

import symbol_llm_nb.generate as generate
import symbol_llm_nb.selftrain as selftrain
from symbol_llm_nb.core import load_config, read_jsonl
from symbol_llm_nb.selftrain import SelfTrainConfig, run_selftrain

SIZES = {
    'full': {'data': {'n_seed': 160, 'n_train': 512, 'n_eval': 200},
             'model': {'tiny': {'hidden_size': 1024, 'num_layers': 24, 'num_heads': 16, 'intermediate_size': 2816,
                                'max_position': 512, 'vocab_size': 1024}, 'dtype': 'bfloat16'},
             'seed_sft': {'epochs': 4, 'lr': 3e-4, 'batch_size': 32},
             'train': {'epochs': 1, 'lr': 3e-4, 'batch_size': 32},
             'sample': {'k': 8, 'max_new_tokens': 128, 'batch_size': 512},
             'env': {'workers': 8}},
    'tiny': {'data': {'n_seed': 16, 'n_train': 8, 'n_eval': 8},
             'model': {'tiny': {'hidden_size': 64, 'num_layers': 2, 'num_heads': 2, 'intermediate_size': 128, 'vocab_size': 400},
                       'dtype': 'float32'},
             'seed_sft': {'epochs': 1, 'lr': 3e-3, 'batch_size': 8},
             'train': {'epochs': 1, 'lr': 3e-3, 'batch_size': 8},
             'sample': {'k': 2, 'max_new_tokens': 24, 'batch_size': 64},
             'env': {'workers': 1}},
}
common = {'seed_sft': {'bf16': True, 'gradient_checkpointing': True, 'report_to': 'none', 'logging_steps': 5},
          'train': {'bf16': True, 'gradient_checkpointing': True, 'report_to': 'none', 'logging_steps': 5},
          'sample': {'backend': 'hf', 'temperature': 1.0}, 'env': {'timeout': 2.0}, 'loop': {'iterations': 1}}
over = SIZES[size]
for k, v in common.items(): over[k] = {**v, **over.get(k, {})}
cfg = load_config(SelfTrainConfig, overrides=over)

# Per-phase peak GPU memory: wrap the generator factory (sampling/eval) and the training step.
phases, gpu = [], (lambda: torch.cuda.max_memory_allocated() / 2**30) if cuda else (lambda: 0.0)
def phase(name, fn):
    def run(*a, **kw):
        if cuda: torch.cuda.synchronize(); torch.cuda.reset_peak_memory_stats()
        t0 = time.time(); out = fn(*a, **kw)
        if cuda: torch.cuda.synchronize()
        phases.append({'phase': name, 'seconds': round(time.time() - t0, 1), 'peak_gib': round(gpu(), 2)})
        return out
    return run
make_generator = generate.make_generator
def traced_make_generator(*a, **kw):
    g = make_generator(*a, **kw)
    sample, close = g.sample, g.close
    def traced_sample(prompts, n=1, **skw):
        return phase(f'generate(prompts={len(prompts)}, n={n})', sample)(prompts, n=n, **skw)
    def traced_close():
        before = torch.cuda.memory_allocated() / 2**30 if cuda else 0.0
        close()
        phases.append({'phase': 'generator.close', 'allocated_before_gib': round(before, 2),
                       'allocated_after_gib': round(torch.cuda.memory_allocated() / 2**30 if cuda else 0.0, 2)})
    g.sample, g.close = traced_sample, traced_close
    return g
generate.make_generator = traced_make_generator
selftrain.train_sft = phase('train_sft', selftrain.train_sft)

run = Path(os.environ.get('DEVICE_CHECK_RUN') or tempfile.mkdtemp(prefix='device_check_'))/'run'
rows = run_selftrain(cfg, run, progress=True)
m = json.loads((run/'manifest.json').read_text())['steps']
cands = read_jsonl(run/'iter_001'/'candidates.jsonl')
gen_tokens = sum(c['n_tokens'] for c in cands)
gens = [p for p in phases if p['phase'].startswith('generate(')]   # eval of iteration 0, explore, eval of iteration 1
explore_s = gens[1]['seconds']
trains = [m['iter_000/train'], m['iter_001/train']]
result = {
    'device': torch.cuda.get_device_name(0) if cuda else 'cpu', 'size': size,
    'params_m': round(m['base']['params'] / 1e6, 1), 'vocab': m['base']['vocab'],
    'generation': {'samples': len(cands), 'tokens': gen_tokens, 'seconds': explore_s,
                   'tokens_per_s': round(gen_tokens / explore_s, 1),
                   'mean_tokens': round(gen_tokens / len(cands), 1), 'sample_accuracy': rows[1]['sample_accuracy']},
    'training': [{'iteration': i, 'rows': t['train_rows'], 'steps': t['train_steps'], 'tokens': t.get('train_tokens'),
                  'seconds': round(t['train_runtime_s'], 1),
                  'tokens_per_s': round(t['train_tokens'] / t['train_runtime_s'], 1) if t.get('train_tokens') else None,
                  'loss': round(t['train_loss'], 3)} for i, t in enumerate(trains)],
    'eval_accuracy': [r['eval_accuracy'] for r in rows],
    'phases': phases,
    'peak_gpu_gib': round(max([p.get('peak_gib', 0.0) for p in phases] + [0.0]), 2),
    'peak_gpu_reserved_gib': round(torch.cuda.max_memory_reserved() / 2**30, 2) if cuda else 0.0,
    'bf16_training': bool(cuda and cfg.train.bf16), 'total_s': round(time.time() - t_start, 1),
}
print('\n=== device check ===')
for p in phases: print('  ', json.dumps(p))
g = result['generation']
print(f"model {result['params_m']}M params on {result['device']}")
print(f"generation (HF generate, {cfg.model.dtype}): {g['samples']} samples, {g['tokens']} tokens in {g['seconds']}s = {g['tokens_per_s']} tokens/s")
for t in result['training']:
    print(f"training iter {t['iteration']} (TRL SFT, bf16={result['bf16_training']}): {t['rows']} rows, {t['steps']} steps, "
          f"{t['tokens']} tokens in {t['seconds']}s = {t['tokens_per_s']} tokens/s, loss {t['loss']}")
print(f"held-out accuracy {result['eval_accuracy']}; peak GPU memory allocated {result['peak_gpu_gib']} GiB "
      f"(reserved {result['peak_gpu_reserved_gib']} GiB); total {result['total_s']}s")
if os.environ.get('OUT'): Path(os.environ['OUT'], 'device_check.json').write_text(json.dumps(result, indent=1))
closes = [p for p in phases if p['phase'] == 'generator.close']
assert len(closes) == 3 and len(gens) == 3, phases
# what stays allocated after close is PyTorch's own (cuBLAS workspaces, ~0.06 GiB on an H200), not a model
if cuda: assert all(c['allocated_after_gib'] <= 0.15 for c in closes), f'generator memory not released: {closes}'
print('DEVICE CHECK OK')
PY
