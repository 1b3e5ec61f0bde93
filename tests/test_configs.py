"The YAML recipes in configs/ load, and tiny_cpu.yaml is exactly the embedded default."
from pathlib import Path
from symbol_llm_nb.core import load_config
from symbol_llm_nb.selftrain import SelfTrainConfig

CONFIGS = Path(__file__).resolve().parents[1]/'configs'

def test_tiny_cpu_is_the_default():
    assert load_config(SelfTrainConfig, CONFIGS/'tiny_cpu.yaml') == SelfTrainConfig()

def test_tiny_cpu_plain_is_the_default_without_labels():
    cfg = load_config(SelfTrainConfig, CONFIGS/'tiny_cpu_plain.yaml')
    assert (cfg.data.label_sentences, cfg.model.recipe.family_indent, cfg.model.recipe.seed_programs) == (False, False, False)
    cfg.data.label_sentences = cfg.model.recipe.family_indent = cfg.model.recipe.seed_programs = True
    assert cfg == SelfTrainConfig()
