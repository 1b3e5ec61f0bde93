"""Episodes per second of the web environment with 1 and N browsers, side by side.

Runs the gold programs of the real MiniWoB++ training rows (every reproducible task, the first few seeds)
through `WebEnv.verify_batch`: sandboxed recording, then replay in headless Chromium. Browser start-up is
excluded (a warm-up batch starts the browsers and the sandbox first); everything else is timed.

    nice -n 10 python bench/verify_web.py --browsers 2 --seeds 3
"""
import argparse, time
from pathlib import Path
from symbol_llm_nb.core import task_item
from symbol_llm_nb.envs.web import WebEnv, load_miniwob, browser_missing


def default_data():
    for p in Path(__file__).resolve().parents:
        f = p/'shared/data/agent/miniwob_train.jsonl'
        if f.exists(): return f
    return None


def measure(tasks, browsers:int) -> dict:
    "Verify the gold programs of `tasks` with `browsers` browsers; episodes per second after warm-up."
    items = [task_item(t, t.program) for t in tasks]
    with WebEnv(browsers=browsers, workers=min(browsers, 2)) as env:
        env.verify_batch(items[:2 * browsers])  # start every browser and the sandbox (not timed)
        t0 = time.perf_counter()
        fb = env.verify_batch(items)
        dt = time.perf_counter() - t0
    return {'browsers': browsers, 'episodes': len(fb), 'seconds': dt, 'per_s': len(fb) / dt,
            'success': sum(f.reward for f in fb) / len(fb)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--browsers', type=int, default=2, help='N, the larger pool (compared with 1)')
    ap.add_argument('--seeds', type=int, default=3, help='seeds per task (0..seeds-1)')
    ap.add_argument('--data', type=Path, default=default_data(), help='miniwob_train.jsonl')
    args = ap.parse_args()
    if (why := browser_missing()): raise SystemExit(f'cannot run: {why}')
    if args.data is None: raise SystemExit('cannot find shared/data/agent/miniwob_train.jsonl; pass --data')
    tasks = load_miniwob(args.data, seeds=range(args.seeds))
    rows = [measure(tasks, n) for n in sorted({1, args.browsers})]
    print(f"{len(tasks)} gold episodes ({len({t.meta['env_name'] for t in tasks})} tasks x {args.seeds} seeds)")
    print(f"{'browsers':>8} {'episodes':>8} {'seconds':>8} {'episodes/s':>10} {'success':>8} {'speedup':>8}")
    for r in rows:
        print(f"{r['browsers']:>8} {r['episodes']:>8} {r['seconds']:>8.1f} {r['per_s']:>10.2f} "
              f"{r['success']:>8.3f} {r['per_s'] / rows[0]['per_s']:>7.2f}x")


if __name__ == '__main__':
    main()
