"""`HFGenerator`'s own decoding loop (`decode_batch`: preallocated cache read only up to the filled prefix,
one prefill per prompt, finished rows leave the batch) against the same loop with a plain `StaticCache`
(attention over the whole cache, one prefill per sample: the loop before the prefix cache) and against
`transformers` `generate`, on the same checkpoint and prompts, side by side in one run.

A trained checkpoint is needed: an untrained model never writes its stop token, so every sample runs to
the budget and dropping finished rows cannot show. Take any model of a run, e.g. the seed model:

    python bench/hf_decode.py --run-dir runs/default [--model runs/default/iter_000/model]
                              [--prompts 64] [--n 8] [--max-new-tokens 240] [--batch-size 256]

Prompts are the run's training tasks, the first half of `--prompts` from each family in the run. All ways
sample the same prompts (temperature 1); a greedy pass checks that they write the same text.

Measured (a labels-recipe model after three iterations, 64 prompts x 8 samples, 240-token budget, 2 threads):
generate 40.3 s, static cache 13.0 s, decode_batch 7.8 s (x5.16 and x1.66); greedy texts identical 16/16.
"""
from __future__ import annotations
import argparse, json, statistics, time
from pathlib import Path

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--run-dir', required=True)
    ap.add_argument('--model', default=None, help='checkpoint (default: RUN_DIR/iter_000/model)')
    ap.add_argument('--prompts', type=int, default=64)
    ap.add_argument('--n', type=int, default=8)
    ap.add_argument('--max-new-tokens', type=int, default=240)
    ap.add_argument('--batch-size', type=int, default=256)
    args = ap.parse_args()
    import torch
    from symbol_llm_nb.core import Task, read_records
    from symbol_llm_nb.generate import HFGenerator
    from symbol_llm_nb.models import chat_prompt, load_model, load_tokenizer
    from symbol_llm_nb.families import task_prompt
    rd = Path(args.run_dir)
    path = args.model or rd/'iter_000'/'model'
    tok, model = load_tokenizer(path), load_model(path).eval()
    tasks = read_records(Task, rd/'data'/'train.jsonl')
    fams = sorted({t.family for t in tasks})
    per = max(1, args.prompts // len(fams))
    chosen = [t for f in fams for t in [t for t in tasks if t.family == f][:per]]
    prompts = [chat_prompt(tok, task_prompt(t)) for t in chosen]
    import symbol_llm_nb.generate as G
    class StaticCacheGenerator(HFGenerator):
        "`decode_batch` with a plain `StaticCache` and one prefill per sample."
        def sample(self, *a, **kw):
            from transformers import StaticCache
            prefix, decode = G._prefix_cache, G.decode_batch
            def per_sample(model, ids, mask, *rest, n=1, **kws): return decode(model, ids.repeat_interleave(n, 0), mask.repeat_interleave(n, 0), *rest, **kws)
            G._prefix_cache = lambda model, max_len: StaticCache(config=model.config, max_cache_len=max_len)
            G.decode_batch = per_sample
            try: return super().sample(*a, **kw)
            finally: G._prefix_cache, G.decode_batch = prefix, decode
    ways = {'generate': HFGenerator(model, tok, args.batch_size, progress=False, static_cache=False),
            'static_cache': StaticCacheGenerator(model, tok, args.batch_size, progress=False, static_cache=True),
            'decode_batch': HFGenerator(model, tok, args.batch_size, progress=False, static_cache=True)}
    greedy = {k: [c[0].text for c in g.sample(prompts[:16], n=1, temperature=0, max_new_tokens=args.max_new_tokens)] for k, g in ways.items()}
    res = {}
    for k, g in ways.items():
        torch.manual_seed(0)
        t0 = time.time()
        out = g.sample(prompts, n=args.n, temperature=1.0, max_new_tokens=args.max_new_tokens)
        wall = time.time() - t0
        toks = [c.n_tokens for cs in out for c in cs]
        res[k] = {'sample_s': round(wall, 2), 'samples': len(toks), 'mean_tokens': round(statistics.mean(toks), 1),
                  'at_budget': sum(n >= args.max_new_tokens for n in toks), 'tokens_per_s': round(sum(toks) / wall, 1)}
        print(f"{k:>12}: {wall:6.1f} s for {len(toks)} samples ({res[k]['mean_tokens']} tokens on average, "
              f"{res[k]['at_budget']} at the budget), {res[k]['tokens_per_s']} tokens/s", flush=True)
    same = sum(a == b == c for a, b, c in zip(greedy['generate'], greedy['static_cache'], greedy['decode_batch']))
    print(f"decode_batch is x{res['generate']['sample_s'] / res['decode_batch']['sample_s']:.2f} the speed of generate and "
          f"x{res['static_cache']['sample_s'] / res['decode_batch']['sample_s']:.2f} that of the static cache "
          f"({torch.get_num_threads()} threads); greedy texts identical on {same}/{len(greedy['generate'])} prompts")
    print(json.dumps({'model': str(path), 'threads': torch.get_num_threads(), 'greedy_same': same, **res}))

if __name__ == '__main__': main()
