"""The web environment against real MiniWoB++ tasks in headless Chromium: gold programs, bad programs,
and browsers that crash or hang in the middle of a run."""
import os, signal, threading, time
from pathlib import Path
import pytest

web = pytest.importorskip('symbol_llm_nb.envs.web', reason='the web environment needs the miniwob package')
from symbol_llm_nb.core import task_item

MISSING = web.browser_missing()
needs_browser = pytest.mark.skipif(MISSING is not None, reason=f'no headless Chromium here: {MISSING}')
DATA = next((p/'shared/data/agent/miniwob_train.jsonl' for p in Path(__file__).resolve().parents
             if (p/'shared/data/agent/miniwob_train.jsonl').exists()), None)
needs_data = pytest.mark.skipif(DATA is None, reason='../shared/data/agent/miniwob_train.jsonl is not here')

CLICK_ME = [('click_xpath', "//button[text()='Click Me!']")]


@pytest.fixture(scope='module')
def env():
    e = web.WebEnv(browsers=1)
    yield e
    e.close()


@needs_data
def test_loader_drops_unreproducible_rows_by_name():
    tasks = web.load_miniwob(DATA)
    assert len(tasks) == 1600 and not {t.meta['env_name'] for t in tasks} & set(web.UNREPRODUCIBLE)
    assert sorted(t.id for t in tasks if t.program is None) == sorted(web.WRONG_GOLD)
    kept = web.load_miniwob(DATA, env_names=['text-transform'], unreproducible='keep')
    assert len(kept) == 50 and not kept[0].meta['reproducible']
    t = web.load_miniwob(DATA, env_names=['search-engine'], seeds=[0])[0]
    assert (t.id, t.family, t.meta['seed']) == ('search-engine-0', 'web', 0)
    assert 'agent.click_xpath' in t.program and '```' not in t.program
    assert web.web_prompt(t).endswith(t.question + '\nThe action is:\n')


@needs_browser
@needs_data
def test_gold_programs_succeed_on_real_tasks(env):
    # loops, f-strings, every-match clicks, copy/paste keys, option lists, data-wob_ref XPaths
    names = ['search-engine', 'choose-date', 'click-shades', 'copy-paste', 'click-scroll-list', 'multi-layouts']
    tasks = web.load_miniwob(DATA, env_names=names, seeds=[1, 4])
    fb = env.verify_batch([task_item(t, f"```\n{t.program}\n```") for t in tasks])
    assert [f.error for f in fb] == [None] * len(tasks)
    assert all(f.reward == 1.0 and f.info['raw_reward'] == 1.0 for f in fb)
    assert all(0.8 < f.info['env_reward'] <= 1.0 for f in fb)


@needs_browser
def test_bad_programs_score_zero_with_one_line_errors(env):
    cases = {
        'agent.scroll(10)': 'unknown action agent.scroll',
        "agent.click_xpath(\"//button[text()='Click Me!'\")": 'invalid XPath',
        "agent.click_xpath(\"//button[@id='nothing']\")": 'no element matches',
        "x = 1 / 0\nagent.click_xpath(\"//button[text()='Click Me!']\")": 'ZeroDivisionError',
        'while True:\n    pass': 'timeout',
        "agent.press('f13')": 'unknown key',
        "agent.type(42)": 'takes a string',
        "for i in range(1000):\n    agent.type('a')": 'more than 50 actions',
        "print('no actions')": 'no agent calls',
    }
    items = [{'env_name': 'click-test', 'id': 0, 'program': p} for p in cases]
    t0 = time.monotonic()
    fb = env.verify_batch(items)
    for f, (prog, expected) in zip(fb, cases.items()):
        assert f.reward == 0.0, prog
        assert expected in f.error and '\n' not in f.error and len(f.error) < 400, (prog, f.error)
    assert time.monotonic() - t0 < 30


@needs_browser
def test_programs_run_in_the_sandbox_not_here(env, tmp_path):
    marker = tmp_path/'pwned'
    prog = f"open({str(marker)!r}, 'w').write('x')\nagent.click_xpath(\"//button[text()='Click Me!']\")"
    fb = env.verify_batch([{'env_name': 'click-test', 'id': 0, 'program': prog}])
    assert not marker.exists()
    assert fb[0].reward == 0.0 and fb[0].error.startswith('program failed')


@needs_browser
def test_items_are_checked_before_any_browser_work(env):
    fb = env.verify_batch([{'env_name': 'no-such-task', 'id': 0, 'program': 'agent.type("x")'},
                           {'env_name': 'click-test', 'id': 'seven', 'program': 'agent.type("x")'},
                           {'env_name': 'click-test', 'program': 'agent.type("x")'}])
    assert [f.reward for f in fb] == [0.0] * 3
    assert [f.error for f in fb] == ["unknown MiniWoB task 'no-such-task'", "the seed must be an integer, got 'seven'",
                                     "missing field 'id'"]


def _kill_during_episode(pool, n, sig, group=False, after=0.02):
    "In the background, send `sig` to the pool's chromium (or its whole process group) `after` s into episode `n`."
    b = pool.browsers[0]
    def killer():
        while not (b.episodes >= n and b.deadline is not None): time.sleep(0.005)
        time.sleep(after)
        if group: os.killpg(b.pgid, sig)
        else: os.kill(b.pids()[1], sig)
    t = threading.Thread(target=killer, daemon=True)
    t.start()
    return t


@needs_browser
def test_a_browser_killed_mid_run_costs_one_episode():
    with web.BrowserPool(size=1) as pool:
        # the 4th episode is long (40 mouse moves before the click) so that the kill lands inside it
        long = [('movemouse', "//button")] * 40 + CLICK_ME
        episodes = [('click-test', s, long if s == 3 else CLICK_ME) for s in range(9)]
        killer = _kill_during_episode(pool, 4, signal.SIGKILL, after=0.25)  # past the reset, among the moves
        rs = pool.run(episodes)
        killer.join(5)
    lost = [r for r in rs if r.crashed]
    assert [r.crashed for r in rs] == [False] * 3 + [True] + [False] * 5
    assert 'browser crashed' in rs[3].error and rs[3].raw_reward == 0.0
    assert [r.raw_reward for r in rs[:3] + rs[4:]] == [1.0] * 8
    assert pool.browsers[0].starts == 2


@needs_browser
def test_a_hung_browser_is_killed_after_the_episode_timeout():
    with web.BrowserPool(size=1, episode_timeout=3.0) as pool:
        pool.run([('click-test', 0, CLICK_ME)])  # start the browser outside the measured run
        killer = _kill_during_episode(pool, 3, signal.SIGSTOP, group=True)  # freeze driver and browser
        t0 = time.monotonic()
        rs = pool.run([('click-test', s, CLICK_ME * 3) for s in range(1, 6)])
        dt = time.monotonic() - t0
        killer.join(5)
    assert [r.crashed for r in rs] == [False, True, False, False, False]
    assert 'timed out after 3s' in rs[1].error
    assert [r.raw_reward for i, r in enumerate(rs) if i != 1] == [1.0] * 4
    assert dt < 15
