"""What the model can reach with perfect data: the run's starting checkpoint fine-tuned on the gold programs of
its training tasks, then the same held-out evaluation as self-training. Self-training can at best approach this
ceiling (it learns from programs it found itself), so a target above it needs another model or task, not another loop.

    python bench/gold_ceiling.py --run-dir runs/default --n 1000 --epochs 8     # ~10 min on 1 CPU thread

Measured (2026-11-28, the embedded default, 1 thread): 1,000 gold programs per family, 3 epochs: held-out 0.25
(arith 0.27, rules 0.23); 8 epochs: 0.3625 (arith 0.475, rules 0.25, 0.5% of rule programs exact: chance level of
a valid program on True/False/Unknown). The seed model of the same run: 0.11. Those were the defaults before
the copy warm-up (`train.copy_warmup`) and rule programs written in the question's tokens; with both (same
procedure in a scratch script, 8 epochs of recall pretraining, 4 epochs on gold programs): arith 0.995, rules 0.97.
Both were measured before rule programs gained a comment line per sentence and rule tasks their probes (held-out
rule tasks now count only when the probes come out right too; gold programs always pass them).
"""
import argparse, json, time
from pathlib import Path
from symbol_llm_nb.core import read_records, Task, load_config
from symbol_llm_nb.selftrain import SelfTrainConfig
from symbol_llm_nb.evaluate import evaluate_greedy
from symbol_llm_nb.families import sft_row
from symbol_llm_nb.tiny import label_sentences
from symbol_llm_nb.tasks import arith_tasks
from symbol_llm_nb.envs.logic import make_rule_tasks
from symbol_llm_nb.train import TrainConfig, train_sft
from symbol_llm_nb.models import load_tokenizer
from symbol_llm_nb.generate import make_generator

def gold_programs(cfg) -> dict:
    "question -> gold program, for every task the embedded generators make with this config's data settings."
    d, gold = cfg.data, {}
    if 'arith' in d.families:
        gold.update({t.question: t.program for t in arith_tasks(d.n_seed + d.n_train + d.n_eval, d.split_seed, **d.family_options.get('arith', {}))})
    if 'rules' in d.families:
        seed = make_rule_tasks(d.n_seed, d.split_seed, prefix='rules-seed')
        rest = make_rule_tasks(d.n_train + d.n_eval, d.split_seed + 7919, exclude={t.question for t in seed})
        gold.update({t.question: t.program for t in seed + rest})
    if d.label_sentences:  # the run's questions and programs carry sentence labels
        gold = {(t := label_sentences(Task('gold', 'gold', q, 0.0, p))).question: t.program for q, p in gold.items()}
    return gold

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--run-dir', default='runs/default', help='a run whose data and starting checkpoint (pretrained/ or base/) to use')
    ap.add_argument('--n', type=int, default=1000, help='gold programs per family (training tasks, in order)')
    ap.add_argument('--epochs', type=float, default=8)
    ap.add_argument('--out', help='where to save the fine-tuned model (default: RUN/gold_ceiling)')
    a = ap.parse_args()
    run = Path(a.run_dir)
    cfg = load_config(SelfTrainConfig, run/'config.yaml')
    start = run/'pretrained' if (run/'pretrained').exists() else run/'base'
    seed, train, ev = (read_records(Task, run/'data'/f'{k}.jsonl') for k in ('seed', 'train', 'eval'))
    gold = gold_programs(cfg)
    picked = [t for fam in cfg.data.families for t in [t for t in train if t.family == fam][:a.n]]
    missing = [t.id for t in picked if t.question not in gold]
    if missing: raise SystemExit(f"{run}: no gold program for {len(missing)} training tasks (e.g. {missing[0]}): not an embedded-generator run")
    tok = load_tokenizer(start)
    rows = [sft_row(tok, t, t.program) for t in seed if t.program] + [sft_row(tok, t, gold[t.question]) for t in picked]
    out, t0 = Path(a.out) if a.out else run/'gold_ceiling', time.time()
    stats = train_sft(start, rows, out, TrainConfig(epochs=a.epochs, lr=cfg.train.lr, batch_size=cfg.train.batch_size, report_to='none', seed=cfg.seed))
    t1 = time.time()
    gen = make_generator(cfg.sample.backend, out, batch_size=cfg.sample.batch_size)
    metrics, eval_rows = evaluate_greedy(gen, ev, cfg.sample.max_new_tokens, cfg.env.timeout, cfg.env.workers)
    exact = {fam: sum(r['text'].strip() == gold.get(t.question, '').strip() for t, r in zip(ev, eval_rows) if t.family == fam) /
                  max(1, sum(t.family == fam for t in ev)) for fam in cfg.data.families}
    seed_row = json.loads((run/'metrics.jsonl').read_text().splitlines()[0]) if (run/'metrics.jsonl').exists() else {}
    print(json.dumps({'gold_per_family': a.n, 'epochs': a.epochs, 'train_rows': len(rows), 'train_steps': stats['train_steps'],
                      'train_s': round(t1 - t0), **{k: round(v, 4) for k, v in metrics.items()},
                      **{f'exact_program_{f}': round(v, 4) for f, v in exact.items()},
                      'seed_model_accuracy': seed_row.get('eval_accuracy')}))

if __name__ == '__main__': main()
