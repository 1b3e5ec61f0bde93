"The package's import graph follows the layer order the README states: no module imports one above it, no circles."
import ast, re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT/'symbol_llm_nb'

def stated_layers() -> list[list[str]]:
    "The layer order in the README's architecture section: the line that starts with `core ->`."
    line = next(l for l in (ROOT/'README.md').read_text().splitlines() if l.strip().strip('`').startswith('core ->'))
    return [[m.strip() for m in layer.split(',')] for layer in line.strip().strip('`').split('->')]

def module_imports() -> dict[str, set[str]]:
    "Each module of the package (dotted, without the package name) and the package modules it imports, anywhere in it."
    out = {}
    for path in PKG.rglob('*.py'):
        if path.name in ('__init__.py', '_modidx.py'): continue
        name = '.'.join(path.relative_to(PKG).with_suffix('').parts)
        pkg = name.rsplit('.', 1)[0] if '.' in name else ''
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level:   # relative: from .core / from ..core
                    base = pkg.split('.')[:len(pkg.split('.')) - node.level + 1] if pkg else []
                    mod = '.'.join([p for p in base if p] + ([node.module] if node.module else []))
                elif node.module and node.module.startswith('symbol_llm_nb'): mod = node.module[len('symbol_llm_nb.'):]
                else: continue
                found.add(mod)
            elif isinstance(node, ast.Import):
                found |= {a.name[len('symbol_llm_nb.'):] for a in node.names if a.name.startswith('symbol_llm_nb.')}
        out[name] = {m for m in found if m and m != name}
    return out

def layer_of(module:str, layers) -> int:
    for i, layer in enumerate(layers):
        for pattern in layer:
            if module == pattern or (pattern.endswith('*') and module.startswith(pattern[:-1])): return i
    raise AssertionError(f"module {module} is in no layer of the README's architecture section")

def upward(imports:dict, layers) -> list[tuple[str, str]]:
    "The (module, imported module) pairs whose import goes to a higher layer."
    return [(m, i) for m, deps in imports.items() for i in sorted(deps) if layer_of(i, layers) > layer_of(m, layers)]

def circle(imports:dict) -> list[str]|None:
    "An import circle (the modules along it), or None."
    state = {}
    def visit(m, path):
        if state.get(m) == 'done': return None
        if state.get(m) == 'open': return path[path.index(m):] + [m]
        state[m] = 'open'
        for d in sorted(imports.get(m, ())):
            if found := visit(d, path + [m]): return found
        state[m] = 'done'
    return next((c for m in sorted(imports) if (c := visit(m, []))), None)

def test_every_import_goes_down_or_sideways():
    layers = stated_layers()
    assert len(layers) >= 5 and layers[0] == ['core'] and layers[-1] == ['cli']
    assert upward(module_imports(), layers) == []

def test_no_import_circles():
    assert circle(module_imports()) is None

def test_the_checks_find_what_they_look_for():
    layers, imports = stated_layers(), module_imports()
    assert 'selftrain' in imports['cli'] and 'train' in imports['selftrain']   # function-level imports count too
    assert upward({**imports, 'models': imports['models'] | {'train'}}, layers) == [('models', 'train')]
    assert circle({**imports, 'core': {'selftrain'}})[0] in ('core', 'selftrain')
