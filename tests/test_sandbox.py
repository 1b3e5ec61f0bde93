"""Hostile programs against the Python sandbox (`symbol_llm_nb.envs.python`).

Each program gets reward 0 (or the correct verdict), the host is unharmed, no process of the sandbox is
left behind, and the pool keeps working afterwards.
"""
import json, os, signal, socket, threading, time, uuid
from pathlib import Path

import pytest

from symbol_llm_nb.envs.python import PythonEnv, SandboxPool, RunResult, answers_match, verify_rows

TIMEOUT = 1.0
SECRET = f'sandbox-secret-{uuid.uuid4().hex}'
GOLD = 7919  # a gold answer no program below can guess by accident
DATA = Path(__file__).resolve().parents[2] / 'shared' / 'data'


# ------------------------------------------------------------------ fixtures and host checks
class Listener:
    "A TCP listener on 127.0.0.1 and an abstract Unix socket, counting connections."
    def __init__(self):
        self.hits = 0
        self.tcp = socket.socket(); self.tcp.bind(('127.0.0.1', 0)); self.tcp.listen(8)
        self.port = self.tcp.getsockname()[1]
        self.unix_name = f'\0sandbox-test-{uuid.uuid4().hex}'
        self.unix = socket.socket(socket.AF_UNIX); self.unix.bind(self.unix_name); self.unix.listen(8)
        for s in (self.tcp, self.unix): threading.Thread(target=self._serve, args=(s,), daemon=True).start()
    def _serve(self, s):
        while True:
            try: s.accept()[0].close(); self.hits += 1
            except OSError: return
    def close(self):
        for s in (self.tcp, self.unix): s.close()


@pytest.fixture(scope='module')
def listener():
    l = Listener(); yield l; l.close()


@pytest.fixture(scope='module')
def env():
    os.environ['SANDBOX_TEST_SECRET'] = SECRET
    try: e = PythonEnv(timeout=TIMEOUT, workers=2)
    finally: del os.environ['SANDBOX_TEST_SECRET']
    e.verify('answer = 1', 1)  # start the warm parents
    yield e
    e.close()


def sandbox_pids(env) -> list[int]:
    "Host pids of processes that run as the sandbox's uid (programs and anything they started)."
    uid = env.pool.isolation['uid']
    out = []
    for p in os.listdir('/proc'):
        if p.isdigit():
            try:
                if os.stat(f'/proc/{p}').st_uid == uid: out.append(int(p))
            except OSError: pass
    return out


def warm_parent_pids(env) -> list[int]:
    return [z.proc.pid for s in env.pool.slots for z in s.values()]


@pytest.fixture
def host(env, listener, tmp_path):
    "Check, after the test, that nothing of the sandbox is left and that the pool still works."
    before = set(warm_parent_pids(env))
    keep = tmp_path / 'keep.txt'; keep.write_text('precious')
    yield {'keep': str(keep), 'port': listener.port, 'unix': listener.unix_name, 'hits': listener.hits}
    assert sandbox_pids(env) == [], 'a process of the sandbox outlived its call'
    assert keep.read_text() == 'precious'
    assert before <= set(warm_parent_pids(env)), 'a warm parent died'
    fb = env.verify("def solution():\n    return 6 * 7\n", 42)
    assert fb.reward == 1.0, fb


# ------------------------------------------------------------------ hostile programs
def check(env, program, reward=0.0, error=None):
    t0 = time.monotonic()
    fb = env.verify(program, GOLD)
    assert time.monotonic() - t0 < TIMEOUT + 3, 'the call took far longer than its timeout'
    assert fb.reward == reward, fb
    if error is not None: assert fb.error is not None and error in fb.error, fb
    return fb


RUNAWAYS = {
    'infinite loop': "while True:\n    pass",
    'sleep': "import time\ntime.sleep(60)",
    'infinite print': "while True:\n    print('x' * 1000)",
    'C-level loop that ignores signals': "answer = sum(range(10**12))",
    'big int power': "answer = 10 ** 10 ** 8",
    'signals ignored and blocked': ("import signal\nfor s in (signal.SIGTERM, signal.SIGINT, signal.SIGALRM, signal.SIGXCPU, signal.SIGHUP):\n"
                                    "    signal.signal(s, signal.SIG_IGN)\nsignal.pthread_sigmask(signal.SIG_BLOCK, range(1, 32))\nwhile True:\n    pass"),
    'busy in a finally block': "try:\n    while True: pass\nfinally:\n    while True: pass",
}

@pytest.mark.parametrize('name', RUNAWAYS)
def test_runaway_is_killed_at_the_timeout(env, host, name):
    fb = check(env, RUNAWAYS[name], error='timeout')
    assert fb.elapsed_s < TIMEOUT + 0.5


def test_fork_bomb(env, host):
    check(env, "import os\nwhile True:\n    try: os.fork()\n    except OSError: pass")


def test_thread_bomb(env, host):
    check(env, "import threading, time\nwhile True:\n    threading.Thread(target=time.sleep, args=(60,)).start()")


@pytest.mark.parametrize('program', ["x = bytearray(64 * 1024**3)", "x = ' ' * (4 * 1024**3)", "x = [0] * 10**9"])
def test_memory_bomb(env, host, program):
    check(env, program + f"\nanswer = {GOLD}", error='MemoryError')


def test_gradual_memory_bomb(env, host):
    # touching memory page by page is slow here: it hits either the memory limit or the timeout
    check(env, f"x = []\nwhile True:\n    x.append(bytearray(10**8))\nanswer = {GOLD}")


@pytest.mark.parametrize('program,error', [
    ("import sys\nsys.exit(0)", 'exited with code 0'),
    ("raise SystemExit(3)", 'exited with code 3'),
    ("import os\nos._exit(3)", 'exited with code 3'),
    ("import os\nos._exit(0)", 'exited without an answer'),
    ("import ctypes\nctypes.string_at(0)", 'killed by signal SIGSEGV'),
    ("import os\nos.abort()", 'killed by signal SIGABRT'),
    ("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", 'killed by signal SIGKILL'),
    ("import os, signal\nos.kill(-1, signal.SIGKILL)", 'ProcessLookupError'),  # kill(-1) reaches no one else
    ("def f():\n    return f()\nanswer = f()", 'RecursionError'),
])
def test_exits_and_crashes(env, host, program, error):
    check(env, program, error=error)


def test_cannot_kill_its_warm_parent(env, host):
    check(env, "import os, signal\nos.kill(1, signal.SIGKILL)\nos.kill(os.getppid(), signal.SIGKILL)", error='PermissionError')


def test_print_flood_is_capped_and_the_answer_counts(env, host):
    fb = check(env, f"for i in range(50000):\n    print(i)\nanswer = {GOLD}", reward=1.0)
    r = env.pool.map('symbol_llm_nb.envs.python:run_program', ["for i in range(50000):\n    print(i)\nanswer = 1"], lean=True)[0]
    assert r.value == 1 and 0 < len(r.stdout) <= env.pool.cfg['max_output']


def test_stderr_flood_and_traceback_spam(env, host):
    check(env, f"import sys, traceback\nfor i in range(20000):\n    print('warning', i, file=sys.stderr)\n    sys.stderr.write('x' * 100)\nanswer = {GOLD}", reward=1.0)


def test_fd_level_flood(env, host):
    check(env, f"import os\nfor _ in range(20000):\n    os.write(1, b'x' * 1000)\n    os.write(2, b'y' * 1000)\nanswer = {GOLD}", reward=1.0)


def test_files_outside_are_out_of_reach(env, host):
    prog = (f"import os\nfound = 0\n"
            f"for p in [{host['keep']!r}, '/work/shared/data/README.md', '/root/.bashrc', {str(Path(__file__).resolve())!r}]:\n"
            f"    try:\n        open(p).read(); found += 1\n    except OSError: pass\n"
            f"    try:\n        os.remove(p); found += 1\n    except OSError: pass\n"
            f"answer = {GOLD} if found else 0")
    check(env, prog)


def test_writes_stay_private(env, host):
    name = f'sandbox-test-{uuid.uuid4().hex}'
    prog = (f"import os\nwritten = 0\nfor d in ['/tmp', '/var/tmp', '/dev/shm', '/etc', '/usr', os.path.expanduser('~')]:\n"
            f"    try:\n        open(os.path.join(d, {name!r}), 'w').write('x'); written += 1\n    except OSError: pass\n"
            f"answer = written")
    fb = env.verify(prog, GOLD)
    assert fb.prediction >= 1  # it may write to its own private tmp dirs ...
    for d in ['/tmp', '/var/tmp', '/dev/shm', '/etc', '/usr']:
        assert not os.path.exists(os.path.join(d, name))  # ... which the host never sees


def test_file_size_limit(env, host):
    check(env, f"open('big', 'wb').write(b'x' * (64 * 1024**2))\nanswer = {GOLD}", error='File too large')


def test_no_network(env, host, listener):
    prog = (f"import socket\nok = 0\n"
            f"for fam, addr in [(socket.AF_INET, ('127.0.0.1', {host['port']})), (socket.AF_UNIX, {host['unix']!r}), (socket.AF_INET, ('1.1.1.1', 53))]:\n"
            f"    try:\n        s = socket.socket(fam); s.settimeout(0.5); s.connect(addr); ok += 1\n    except OSError: pass\n"
            f"answer = {GOLD} if ok else 0")
    check(env, prog)
    assert listener.hits == host['hits']


def test_environment_secrets(env, host):
    prog = (f"import os\nfound = {SECRET!r} in str(dict(os.environ))\nfor p in os.listdir('/proc'):\n"
            f"    try:\n        found |= {SECRET!r}.encode() in open(f'/proc/{{p}}/environ', 'rb').read()\n    except OSError: pass\n"
            f"answer = {GOLD} if found else 0")
    check(env, prog)


def test_host_processes_are_invisible(env, host):
    fb = env.verify("import os\nanswer = [p for p in os.listdir('/proc') if p.isdigit()]", GOLD)
    assert str(os.getpid()) not in fb.prediction and len(fb.prediction) <= 3


@pytest.mark.parametrize('program,reward', [
    (f"import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(60)\nanswer = {GOLD}", 1.0),
    ("import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        time.sleep(60)\n    os._exit(0)\nwhile True:\n    pass", 0.0),
    (f"import subprocess\nsubprocess.Popen(['sleep', '60'], start_new_session=True)\nanswer = {GOLD}", 1.0),
])
def test_detached_children_do_not_outlive_the_call(env, host, program, reward):
    check(env, program, reward=reward)


def test_lying_numeric_subclasses(env, host):
    check(env, "class F(float):\n    def __eq__(self, o): return True\n    def __ne__(self, o): return False\n"
               "    def __float__(self): return 1e9\n    def __repr__(self): return '7919'\nanswer = F(3.0)")
    check(env, "class I(int):\n    def __eq__(self, o): return True\n    def __index__(self): return 7919\nanswer = I(3)")


def test_patched_builtins(env, host):
    check(env, "import builtins, math, json\nbuiltins.abs = lambda x: 0\nbuiltins.float = lambda x=0: 0.0\n"
               "builtins.isinstance = lambda *a: True\nmath.isclose = lambda *a, **k: True\nanswer = 3")
    check(env, "import json\njson.dumps = lambda *a, **k: 'nonsense'\nanswer = 3")


def test_forged_answer_pipe(env, host):
    # a program may write to the answer pipe itself; malformed data is no answer
    check(env, "import os\nos.write(3, b'{not json')\nanswer = 3", error='exited without an answer')


@pytest.mark.parametrize('program,error', [
    ("answer = 'x' * 10**8", 'return value too large'),
    ("answer = list(range(10**6))", 'return value too large'),
    ("a = []\nfor _ in range(100000):\n    a = [a]\nanswer = a", 'too deeply'),
])
def test_huge_return_values(env, host, program, error):
    check(env, program, error=error)


def test_huge_int_is_plain_data(env, host):
    fb = check(env, "answer = 10 ** 100000")
    assert fb.prediction == 'inf'


# ------------------------------------------------------------------ the pool as a generic engine
def record_actions(program: str) -> list:
    "Like the web environment: run an action program against a recording `agent`, return its calls."
    calls = []
    class Agent:
        def __getattr__(self, name): return lambda *a: calls.append([name, *a])
    exec(program, {'agent': Agent()})
    return calls


def test_generic_functions_run_isolated():
    with SandboxPool(workers=2, timeout=TIMEOUT, preload=('math',)) as pool:
        res = pool.map(record_actions, ["agent.click_xpath('//button')\nfor i in range(2):\n    agent.type(str(i))",
                                        "while True: pass", "agent.press(x)"])
    assert res[0] == RunResult([['click_xpath', '//button'], ['type', '0'], ['type', '1']], None, res[0].elapsed_s, '')
    assert res[1].error == f'timeout after {TIMEOUT}s' and res[1].value is None
    assert res[2].error == "NameError: name 'x' is not defined"


def test_runaways_overlap_across_workers():
    with SandboxPool(workers=2, timeout=0.5) as pool:
        pool.map('symbol_llm_nb.envs.python:run_program', ['answer = 1'], lean=True)
        t0 = time.monotonic()
        res = pool.map('symbol_llm_nb.envs.python:run_program', ['import time\ntime.sleep(9)'] * 4 + ['answer = 2'], lean=True)
        wall = time.monotonic() - t0
    assert [r.error for r in res[:4]] == ['timeout after 0.5s'] * 4 and res[4].value == 2
    assert 0.9 < wall < 1.9, wall  # one after the other would take 2s


def test_timeout_override():
    with SandboxPool(workers=1, timeout=5.0) as pool:
        r = pool.map('symbol_llm_nb.envs.python:run_program', ['while True: pass'], timeout=0.3, lean=True)[0]
    assert r.error == 'timeout after 0.3s' and r.elapsed_s < 0.6


def test_dead_warm_parent_is_replaced():
    with SandboxPool(workers=1, timeout=5.0) as pool:
        prog = 'import time\ntime.sleep(3)\nanswer = 1'
        threading.Timer(0.5, lambda: [z.proc.kill() for s in pool.slots for z in s.values()]).start()
        first = pool.map('symbol_llm_nb.envs.python:run_program', [prog], lean=True)[0]
        second = pool.map('symbol_llm_nb.envs.python:run_program', ['answer = 2'], lean=True)[0]
    assert first.error == 'sandbox worker died' and second.value == 2


def test_functions_must_be_importable():
    with SandboxPool(workers=1) as pool:
        with pytest.raises(ValueError, match='top level of an importable module'): pool.map(lambda x: x, [1])


def test_isolation_report(env):
    iso = env.pool.isolation
    assert iso['uid'] and iso['pid_namespace'] and iso['network_namespace'] and iso['private_root'], iso


# ------------------------------------------------------------------ answers and real data
def test_answers_match():
    assert answers_match(7, '7.0') and answers_match('1,200', 1200) and answers_match('3/4', 0.75)
    assert answers_match(0.6666666666666666, '\\frac{2}{3}') and answers_match('\\frac{\\sqrt{3}}{2}', 0.8660254037844386)
    assert not answers_match(7.01, 7) and not answers_match(True, 1) and not answers_match(None, 0) and not answers_match([7], 7)


def test_math_rows_with_latex_and_exact_answers(env):
    path = DATA / 'math' / 'gsm_math_train.jsonl'
    if not path.exists(): pytest.skip(f'reference data not found at {path}')
    rows = [json.loads(l) for l in path.open()]
    math_rows = [r for r in rows if r['source'] == 'MATH' and r['label'] != int(r['label'])][:12]
    assert math_rows
    items = []
    for r in math_rows:
        items.append({'program': f"import sympy\nanswer = sympy.latex(sympy.nsimplify({r['label']!r}, rational=False))", 'answer': r['label']})
        items.append({'program': f"from fractions import Fraction\nanswer = Fraction({r['label']!r})", 'answer': r['label']})
        items.append({'program': f"def solution():\n    return {r['label']!r} * 1.001 + 0.01", 'answer': r['label']})
    fb = env.verify_batch(items)
    assert [f.reward for f in fb] == [1.0, 1.0, 0.0] * len(math_rows), [(i['program'], f) for i, f in zip(items, fb) if f.reward != 1.0]


def test_verify_rows_keeps_fields(env):
    rows = [{'id': 'a', 'program': '```python\nanswer = 2 + 2\n```', 'answer': 4, 'extra': [1]},
            {'id': 'b', 'program': 'answer = 5', 'answer': '4'}]
    out = verify_rows(env, rows)
    assert [r['reward'] for r in out] == [1.0, 0.0] and out[0]['extra'] == [1] and out[1]['prediction'] == 5
    assert set(out[0]) == {'id', 'program', 'answer', 'extra', 'reward', 'prediction', 'error', 'elapsed_s'}


def test_a_forked_copy_cannot_stop_the_pool():
    with SandboxPool(workers=1, timeout=2.0) as pool:
        pool.map('symbol_llm_nb.envs.python:run_program', ['answer = 1'], lean=True)
        pid = os.fork()
        if pid == 0:
            try: pool.close()
            finally: os._exit(0)
        os.waitpid(pid, 0)
        assert pool.map('symbol_llm_nb.envs.python:run_program', ['answer = 2'], lean=True)[0].value == 2
