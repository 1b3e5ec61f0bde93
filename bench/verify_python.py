"""Score the same ~2,000 programs with (a) an in-process `exec` + SIGALRM scorer like the reference
implementation of ENVISIONS and (b) `PythonEnv`, and print side by side: programs per second on the
runaway-free part, wall time on the whole set, and what each does with hostile programs.

    python bench/verify_python.py [--n 2000] [--runaways 20] [--timeout 2] [--workers 2] [--json OUT]
"""
from __future__ import annotations
import argparse, json, os, random, signal, socket, subprocess, sys, threading, time, uuid

from symbol_llm_nb.tasks import arith_tasks
from symbol_llm_nb.envs.python import PythonEnv

# ---------------------------------------------------------------- the program set
RUNAWAYS = ["def solution():\n    while True:\n        pass\n",
            "import time\ndef solution():\n    time.sleep(1000)\n    return 1\n",
            "def solution():\n    n = 0\n    while n >= 0:\n        n += 1\n    return n\n"]
# Every program carries its task id in a comment, so all 2,000 are distinct: `PythonEnv` runs identical
# programs of a batch once, which would otherwise flatter it.
ERRORS = ["    return total / 0\n", "    return totl\n", "    return total +\n", "    return int('x')\n"]

def program_set(n:int=2000, runaways:int=20, seed:int=0) -> list[dict]:
    "`n` programs for arithmetic tasks: ~70% correct, ~20% wrong, ~8% raising, and `runaways` that never stop."
    rng = random.Random(seed)
    items = []
    for t in arith_tasks(n, seed=seed):
        body, kind = t.program, 'correct'
        r = rng.random()
        if r < 0.2: body, kind = body.replace('return total', 'return total + 1'), 'wrong'
        elif r < 0.28: body, kind = body.rsplit('\n', 1)[0] + '\n' + rng.choice(ERRORS), 'error'
        items.append({'id': t.id, 'program': body, 'answer': t.answer, 'kind': kind})
    for i in rng.sample(range(n), runaways):
        items[i] = {**items[i], 'program': rng.choice(RUNAWAYS), 'kind': 'runaway'}
    for it in items: it['program'] = f"# {it['id']}\n{it['program']}"
    assert len({it['program'] for it in items}) == len(items)
    return items

# ---------------------------------------------------------------- (a) the baseline
class _Alarm(Exception): pass

def _on_alarm(signum, frame): raise _Alarm()

def baseline_score(program:str, answer, timeout:int=2) -> float:
    "The reference way: `exec` in this process, SIGALRM for the timeout, compare in this process."
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(timeout)
    try:
        env = {}
        exec(program, env)
        pred = env['solution']() if 'solution' in env else env['answer']
        return float(pred == answer or abs(float(pred) - float(answer)) < 1e-6)
    except Exception: return 0.0
    finally: signal.alarm(0)

def baseline_batch(items:list[dict], timeout:int=2) -> list[float]:
    return [baseline_score(it['program'], it['answer'], timeout) for it in items]

# ---------------------------------------------------------------- hostile programs
SECRET = 'hunter2-' + uuid.uuid4().hex[:8]

def hostile_programs(port:int, outside:str) -> dict[str, str]:
    "name -> program; the gold answer of each is 7, so a reward of 1 means the program got through."
    return {
        'infinite loop, SIGALRM ignored': "import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\nwhile True: pass",
        'C-level loop (SIGALRM waits for it)': "answer = 7 + 0 * sum(range(10**12))",
        'sys.exit at import': "import sys\nsys.exit(0)",
        'os._exit at import': "import os\nos._exit(0)",
        'segfault': "import ctypes\nctypes.string_at(0)",
        'memory bomb': "x = bytearray(1 << 36)\nanswer = 7",
        'lying float subclass': "class F(float):\n    def __eq__(self, other): return True\nanswer = F(1.0)",
        'patched builtins': "import builtins\nbuiltins.abs = lambda x: 0\nbuiltins.float = lambda x: 0.0\nanswer = 1",
        'reads an environment secret': f"import os\nanswer = 7 if {SECRET!r} in str(dict(os.environ)) else 0",
        'connects to a local listener': f"import socket\ns = socket.create_connection(('127.0.0.1', {port}), timeout=1)\ns.sendall(b'hi')\nanswer = 7",
        'writes outside its directory': f"open({outside!r}, 'w').write('x')\nanswer = 7",
        'detached child outlives it': "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(60)\n    os._exit(0)\nanswer = 7",
    }

def _baseline_child():
    "Entry point for `--baseline-one`: score one program from stdin with the baseline, print the reward."
    job = json.loads(sys.stdin.read())
    print(json.dumps({'reward': baseline_score(job['program'], job['answer'], job['timeout'])}), flush=True)

def _leftovers(marker:str) -> list[int]:
    "Pids of processes whose environment carries `marker`."
    pids = []
    for p in os.listdir('/proc'):
        if p.isdigit() and int(p) != os.getpid():
            try:
                if marker.encode() in open(f'/proc/{p}/environ', 'rb').read(): pids.append(int(p))
            except OSError: pass
    return pids

def _uid_processes(uid) -> list[int]:
    "Pids of processes running as `uid` (the sandbox's programs)."
    pids = []
    for p in os.listdir('/proc'):
        if p.isdigit():
            try:
                if os.stat(f'/proc/{p}').st_uid == uid: pids.append(int(p))
            except OSError: pass
    return pids

class Listener:
    "A TCP listener on 127.0.0.1 that counts connections."
    def __init__(self):
        self.sock = socket.socket(); self.sock.bind(('127.0.0.1', 0)); self.sock.listen(16)
        self.port, self.hits = self.sock.getsockname()[1], 0
        threading.Thread(target=self._serve, daemon=True).start()
    def _serve(self):
        while True:
            try: self.sock.accept()[0].close(); self.hits += 1
            except OSError: return

def hostile_outcomes(env:PythonEnv, timeout:int) -> list[dict]:
    "Each hostile program once through the baseline (in its own process) and once through `env`."
    listener, outside = Listener(), os.path.abspath(f'bench-outside-{uuid.uuid4().hex[:8]}')
    rows = []
    for name, prog in hostile_programs(listener.port, outside).items():
        marker, hits = f'BENCH_MARK={uuid.uuid4().hex}', listener.hits
        t0 = time.perf_counter()
        try:
            p = subprocess.run([sys.executable, __file__, '--baseline-one'], input=json.dumps({'program': prog, 'answer': 7, 'timeout': timeout}),
                               capture_output=True, text=True, timeout=timeout + 8,
                               env={**os.environ, 'BENCH_SECRET': SECRET, 'BENCH_MARK': marker.split('=')[1]})
            out = p.stdout.strip().splitlines()
            base = f"reward {json.loads(out[-1])['reward']:g}" if p.returncode == 0 and out else f'scorer died (exit {p.returncode})'
        except subprocess.TimeoutExpired: base = f'scorer hung (killed after {timeout + 8}s)'
        b_elapsed = time.perf_counter() - t0
        harm = []
        if listener.hits > hits: harm.append('reached the network')
        if os.path.exists(outside): harm.append('wrote outside'); os.unlink(outside)
        if (left := _leftovers(marker.split('=')[1])):
            harm.append(f'{len(left)} process(es) left')
            for pid in left:
                try: os.kill(pid, signal.SIGKILL)
                except OSError: pass
        hits = listener.hits
        os.environ['BENCH_SECRET'] = SECRET
        fb = env.verify(prog, 7)
        del os.environ['BENCH_SECRET']
        s_harm = []
        if (left := _uid_processes(env.pool.isolation['uid'])): s_harm.append(f'{len(left)} process(es) left')
        if listener.hits > hits: s_harm.append('reached the network')
        if os.path.exists(outside): s_harm.append('wrote outside'); os.unlink(outside)
        rows.append({'program': name, 'baseline': base + ''.join(f', {h}' for h in harm), 'baseline_s': round(b_elapsed, 2),
                     'sandbox': f'reward {fb.reward:g} ({fb.error or "ok"})' + ''.join(f', {h}' for h in s_harm)})
    return rows

def sandbox_cpu_s(env:PythonEnv) -> float:
    "CPU seconds used so far by the warm parents of `env` and the children they reaped."
    tck, total = os.sysconf('SC_CLK_TCK'), 0
    for slot in env.pool.slots:
        for z in slot.values():
            for pid in [z.proc.pid, *open(f'/proc/{z.proc.pid}/task/{z.proc.pid}/children').read().split()]:
                total += sum(int(x) for x in open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()[11:15])
    return total / tck

# ---------------------------------------------------------------- the run
def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=2000); ap.add_argument('--runaways', type=int, default=20)
    ap.add_argument('--timeout', type=int, default=2); ap.add_argument('--workers', type=int, default=2)
    ap.add_argument('--skip-baseline-whole', action='store_true', help='do not time the baseline on the whole set')
    ap.add_argument('--json', help='also write the numbers to this file')
    ap.add_argument('--baseline-one', action='store_true', help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.baseline_one: return _baseline_child()
    items = program_set(a.n, a.runaways)
    clean = [it for it in items if it['kind'] != 'runaway']
    res = {'n': len(items), 'runaways': a.runaways, 'timeout': a.timeout, 'workers': a.workers, 'load_avg': os.getloadavg()[0]}

    t0 = time.perf_counter(); base_clean = baseline_batch(clean, a.timeout); res['baseline_clean_s'] = time.perf_counter() - t0
    env = PythonEnv(timeout=a.timeout, workers=a.workers)
    env.verify('answer = 1', 1)                               # start the warm parents
    t0, c0, z0 = time.perf_counter(), os.times(), sandbox_cpu_s(env)
    fb_clean = env.verify_batch(clean)
    res['sandbox_clean_s'] = time.perf_counter() - t0
    c1 = os.times()
    res['sandbox_cpu_ms_per_program'] = 1e3 * (c1.user + c1.system - c0.user - c0.system + sandbox_cpu_s(env) - z0) / len(clean)
    t0 = time.perf_counter(); fb_all = env.verify_batch(items); res['sandbox_all_s'] = time.perf_counter() - t0
    if not a.skip_baseline_whole:
        t0 = time.perf_counter(); base_all = baseline_batch(items, a.timeout); res['baseline_all_s'] = time.perf_counter() - t0
    res['agree_clean'] = sum(b == f.reward for b, f in zip(base_clean, fb_clean)) / len(clean)
    res['sandbox_correct'] = sum(f.reward for f in fb_all)
    res['expected_correct'] = sum(it['kind'] == 'correct' for it in items)
    res['bound_s'] = a.runaways * a.timeout / a.workers + res['sandbox_clean_s']
    res['hostile'] = hostile_outcomes(env, a.timeout)
    res['isolation'] = env.pool.isolation
    env.close()

    print(f"{len(items)} programs ({len(clean)} runaway-free, {a.runaways} runaways), timeout {a.timeout}s, "
          f"{a.workers} workers, load average {res['load_avg']:.2f}")
    print(f"{'':38s}{'baseline (exec+alarm)':>24s}{'sandbox':>14s}")
    print(f"{'programs/s, runaway-free part':38s}{len(clean) / res['baseline_clean_s']:>24.0f}{len(clean) / res['sandbox_clean_s']:>14.0f}")
    print(f"{'CPU ms per program, runaway-free part':38s}{1e3 * res['baseline_clean_s'] / len(clean):>24.3f}"
          f"{res['sandbox_cpu_ms_per_program']:>14.3f}   (sandbox: all its processes; 2 idle cores would give "
          f"{2e3 / res['sandbox_cpu_ms_per_program']:.0f}/s)")
    print(f"{'wall time, whole set (s)':38s}{res.get('baseline_all_s', float('nan')):>24.1f}{res['sandbox_all_s']:>14.1f}")
    print(f"sandbox whole set vs bound runaways*timeout/workers + clean = {res['bound_s']:.1f}s: "
          f"{res['sandbox_all_s'] / res['bound_s']:.2f}x")
    print(f"rewards agree on the runaway-free part: {res['agree_clean']:.1%}; sandbox correct {res['sandbox_correct']:g} "
          f"of {res['expected_correct']} correct programs")
    print(f"sandbox isolation here: {res['isolation']}")
    print('\nhostile programs (gold answer 7; baseline run in its own process so the bench survives):')
    w = max(len(r['program']) for r in res['hostile'])
    for r in res['hostile']: print(f"  {r['program']:{w}s}  baseline: {r['baseline']:45s} sandbox: {r['sandbox']}")
    if a.json: open(a.json, 'w').write(json.dumps(res, indent=1))

if __name__ == '__main__': main()
