"The GPU recipes in configs/ load as `SelfTrainConfig` and say what they promise (bf16, checkpointing, vLLM, LoRA for 7B)."
from pathlib import Path
import pytest, yaml
from symbol_llm_nb.core import ConfigError, load_config
from symbol_llm_nb.selftrain import SelfTrainConfig, make_tasks

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ['gpu_qwen2.5_7b.yaml', 'gpu_small.yaml']

@pytest.mark.parametrize('name', RECIPES)
def test_gpu_recipe_loads(name):
    cfg = load_config(SelfTrainConfig, ROOT/'configs'/name)
    assert cfg.model.name_or_path and cfg.model.dtype == 'bfloat16'
    assert cfg.sample.backend == 'vllm' and cfg.sample.k == 5 and cfg.sample.temperature == 1.0
    for t in (cfg.seed_sft, cfg.train):
        assert t.bf16 and t.gradient_checkpointing
    assert cfg.loop.init_from == 'seed' and cfg.train.epochs == 1
    # every key in the file is a real config key (load_config refuses unknown ones) and survives the round trip
    raw = yaml.safe_load((ROOT/'configs'/name).read_text())
    assert raw['model']['name_or_path'] == cfg.model.name_or_path

def test_7b_recipe_trains_lora():
    cfg = load_config(SelfTrainConfig, ROOT/'configs'/'gpu_qwen2.5_7b.yaml')
    assert '7B' in cfg.model.name_or_path and cfg.seed_sft.lora.enabled and cfg.train.lora.enabled

def test_recipes_name_real_topologies():
    for name in RECIPES:
        text = (ROOT/'configs'/name).read_text()
        assert 'configs/accelerate/{single_gpu,multi_gpu_ddp,fsdp,deepspeed_zero3}.yaml' in text
    for topo in ('single_gpu', 'multi_gpu_ddp', 'fsdp', 'deepspeed_zero3'):
        assert (ROOT/'configs'/'accelerate'/f'{topo}.yaml').is_file(), topo

def test_recipe_data_file_reads(shared_data, monkeypatch):
    "The recipes' train_file (relative to the repo root) holds answer-only math tasks."
    monkeypatch.chdir(ROOT)
    cfg = load_config(SelfTrainConfig, ROOT/'configs'/'gpu_small.yaml', {'data': {'n_train': 4, 'n_eval': 4, 'file_limit': 50}})
    if not (ROOT/cfg.data.train_file).is_file(): pytest.skip(f'{cfg.data.train_file} is not beside this checkout')
    splits = make_tasks(cfg.data)
    assert len(splits['train']) == 50 and all(t.program is None for t in splits['train'])
    assert len(splits['seed']) == 160 and all(t.program for t in splits['seed'])

def test_typo_in_recipe_is_refused(tmp_path):
    text = (ROOT/'configs'/'gpu_small.yaml').read_text().replace('gradient_checkpointing:', 'gradient_checkpoint:', 1)
    (tmp_path/'bad.yaml').write_text(text)
    with pytest.raises(ConfigError, match='gradient_checkpoint'): load_config(SelfTrainConfig, tmp_path/'bad.yaml')
