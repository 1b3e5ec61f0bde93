"""HF `generate` vs vLLM on the same checkpoint and prompts: generated tokens per second side by side, and
how each way of handing vLLM's memory back behaves.

Needs vLLM: run it in the environment that `bench/vllm_cpu_env.sh` builds (CPU), or on a GPU machine
with vLLM installed.

    python bench/generate.py [--sizes tiny,small] [--prompts 64] [--n 4] [--max-new-tokens 64] [--json OUT]
    python bench/generate.py --memory      # release of memory: child process vs in-process del vs sleep mode

Both backends sample the same prompts (`n` samples each, temperature 1, the arithmetic task prompts of
the embedded default). The models are randomly initialised Llama-style models built here, so no sample
stops early and every sample is `max_new_tokens` long on both sides: tokens/s compare like with like.
Load time (vLLM starts a process, profiles memory and reserves its KV cache) is reported apart.
"""
from __future__ import annotations
import argparse, json, os, subprocess, sys, tempfile, time
from pathlib import Path

os.environ.setdefault('VLLM_CPU_KVCACHE_SPACE', '1')   # GiB of KV cache on the CPU backend (its default takes most RAM)

SIZES = {  # name: TinyModelConfig fields (head size 32 or more: vLLM's CPU attention needs it)
    'tiny': dict(hidden_size=192, num_layers=4, num_heads=6, intermediate_size=512),      # the embedded default, ~2M params
    'small': dict(hidden_size=512, num_layers=8, num_heads=8, intermediate_size=1408),    # ~27M params
    'medium': dict(hidden_size=1024, num_layers=12, num_heads=16, intermediate_size=2816), # ~150M params
}

def build_checkpoint(size:str, root:Path, prompts_n:int) -> tuple[Path, list[str]]:
    "A random model of `size` saved under `root`, and `prompts_n` chat prompts for it."
    from symbol_llm_nb.models import TinyModelConfig, build_tokenizer, build_tiny_model, chat_prompt
    from symbol_llm_nb.tasks import arith_tasks
    from symbol_llm_nb.families import task_prompt
    ts = arith_tasks(max(400, prompts_n), seed=0)
    tok = build_tokenizer([task_prompt(t) for t in ts] + [t.program for t in ts], vocab_size=1024)
    path = root/size
    m = build_tiny_model(tok, TinyModelConfig(**SIZES[size]), save_dir=path)
    print(f"{size}: {sum(p.numel() for p in m.parameters())/1e6:.1f}M parameters", flush=True)
    return path, [chat_prompt(tok, task_prompt(t)) for t in ts[:prompts_n]]

def time_backend(backend:str, path:Path, prompts:list[str], n:int, max_new_tokens:int, batch_size:int) -> dict:
    "Load, warm up on two prompts, then time one `sample` over all prompts."
    import torch
    from symbol_llm_nb.generate import make_generator
    torch.manual_seed(0)
    t0 = time.time()
    kw = {'max_model_len': 512} if backend == 'vllm' else {}
    gen = make_generator(backend, path, batch_size, progress=False, dtype='float32', **kw)
    load = time.time() - t0
    gen.sample(prompts[:2], n=n, max_new_tokens=8)
    t0 = time.time()
    groups = gen.sample(prompts, n=n, temperature=1.0, max_new_tokens=max_new_tokens)
    wall = time.time() - t0
    gen.close()
    cands = [c for cs in groups for c in cs]
    toks = sum(c.n_tokens for c in cands)
    return {'backend': backend, 'load_s': round(load, 1), 'sample_s': round(wall, 2), 'tokens': toks,
            'tokens_per_s': round(toks / wall, 1), 'mean_soft_reward': round(sum(c.soft_reward for c in cands) / len(cands), 3)}

def throughput(args):
    import torch
    rows = []
    with tempfile.TemporaryDirectory() as root:
        for size in args.sizes.split(','):
            path, prompts = build_checkpoint(size, Path(root), args.prompts)
            res = {b: time_backend(b, path, prompts, args.n, args.max_new_tokens, args.batch_size) for b in ('hf', 'vllm')}
            row = {'size': size, 'prompts': len(prompts), 'n': args.n, 'max_new_tokens': args.max_new_tokens,
                   'threads': torch.get_num_threads(), **{f"{b}_{k}": v for b, r in res.items() for k, v in r.items() if k != 'backend'}}
            row['speedup'] = round(row['vllm_tokens_per_s'] / row['hf_tokens_per_s'], 2)
            rows.append(row)
            print(f"{size:>6}: HF generate {row['hf_tokens_per_s']:8.1f} tok/s | vLLM {row['vllm_tokens_per_s']:8.1f} tok/s "
                  f"| x{row['speedup']:.2f}  (load {row['hf_load_s']}s vs {row['vllm_load_s']}s; "
                  f"mean soft reward {row['hf_mean_soft_reward']} vs {row['vllm_mean_soft_reward']})", flush=True)
    return rows

# ---------------------------------------------------------------- memory release
def _rss_tree_mb(pid:int) -> float:
    import psutil
    try: p = psutil.Process(pid)
    except psutil.NoSuchProcess: return 0.0
    procs = [p] + p.children(recursive=True)
    total = 0
    for q in procs:
        try: total += q.memory_info().rss
        except psutil.NoSuchProcess: pass
    return total / 2**20

def _memory_mode(mode:str, path:str):
    "Run in a fresh interpreter: load vLLM one way, release it that way, print one JSON line."
    import gc, psutil
    me = os.getpid()
    out = {'mode': mode}
    try:
        if mode == 'child':
            from symbol_llm_nb.generate import VLLMGenerator
            from symbol_llm_nb.models import load_tokenizer
            load_tokenizer(path)
            out['rss_imported_mb'] = round(_rss_tree_mb(me))
            g = VLLMGenerator(path, dtype='float32', progress=False, max_model_len=512)
            child = g.proc.pid
            out['rss_loaded_mb'] = round(_rss_tree_mb(me))
            g.close()
            out['child_alive_after_close'] = psutil.pid_exists(child) and psutil.Process(child).status() != psutil.STATUS_ZOMBIE
        elif mode in ('inprocess', 'sleep'):
            os.environ['VLLM_ENABLE_V1_MULTIPROCESSING'] = '0'
            from vllm import LLM
            out['rss_imported_mb'] = round(_rss_tree_mb(me))
            llm = LLM(model=path, dtype='float32', max_model_len=512, enable_sleep_mode=(mode == 'sleep'))
            out['rss_loaded_mb'] = round(_rss_tree_mb(me))
            if mode == 'sleep': llm.sleep(level=2)
            else: del llm
            gc.collect()
        out['rss_after_mb'] = round(_rss_tree_mb(me))
        out['ok'] = True
    except Exception as e:
        out['ok'], out['error'] = False, ' | '.join(f'{type(e).__name__}: {e}'.split('\n'))[:300]
    print('RESULT ' + json.dumps(out), flush=True)

def memory(args):
    rows = []
    with tempfile.TemporaryDirectory() as root:
        path, _ = build_checkpoint(args.memory_size, Path(root), 4)
        for mode in ('child', 'inprocess', 'sleep'):
            p = subprocess.run([sys.executable, __file__, '--memory-mode', mode, '--memory-path', str(path)],
                               capture_output=True, text=True, timeout=600)
            line = next((l for l in p.stdout.splitlines() if l.startswith('RESULT ')), None)
            row = json.loads(line[7:]) if line else {'mode': mode, 'ok': False, 'error': f'exit code {p.returncode}: {p.stderr[-300:]}'}
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--sizes', default='tiny,small', help=f"comma-separated, of {', '.join(SIZES)}")
    ap.add_argument('--prompts', type=int, default=64)
    ap.add_argument('--n', type=int, default=4, help='samples per prompt')
    ap.add_argument('--max-new-tokens', type=int, default=64)
    ap.add_argument('--batch-size', type=int, default=256, help='HF: sequences per generate call')
    ap.add_argument('--memory', action='store_true', help='measure the ways of releasing vLLM memory instead')
    ap.add_argument('--memory-size', default='small')
    ap.add_argument('--memory-mode', help=argparse.SUPPRESS)
    ap.add_argument('--memory-path', help=argparse.SUPPRESS)
    ap.add_argument('--json', help='write the rows to this file')
    args = ap.parse_args()
    if args.memory_mode: return _memory_mode(args.memory_mode, args.memory_path)
    from symbol_llm_nb.generate import vllm_available
    if not vllm_available(): sys.exit("vLLM is not installed here: build its environment with bench/vllm_cpu_env.sh")
    rows = memory(args) if args.memory else throughput(args)
    if args.json: Path(args.json).write_text(json.dumps(rows, indent=1))

if __name__ == '__main__': main()
