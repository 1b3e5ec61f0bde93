import os, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]

def _shared_data():
    for p in (os.environ.get('SYMBOL_LLM_SHARED_DATA'), ROOT.parent/'shared'/'data'):
        if p and Path(p).is_dir(): return Path(p)
    return None

@pytest.fixture
def shared_data():
    p = _shared_data()
    if p is None: pytest.skip('../shared/data (the benchmark files) is not beside this checkout')
    return p
