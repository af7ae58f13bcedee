"""The package's shape: no import circles, one declared public surface that the generated code keeps to, and the
old import paths that notebooks and pickled models of earlier jobs still use."""

from __future__ import annotations

import ast
import importlib
import inspect
import pathlib
import pickle
import re

import pytest

import autopilot_local

PACKAGE = pathlib.Path(autopilot_local.__file__).parent
TEMPLATES = PACKAGE.parent / "templates"
# packages the public surface exports whole: each declares its own public names
PUBLIC_PACKAGES = ("tuning", "ensembling", "transformers")


def _module_names() -> dict[str, pathlib.Path]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def _imports(name: str, path: pathlib.Path, modules: dict) -> set[str]:
    """The package's modules that ``name`` imports, at its top or inside a function."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            head = ".".join(base + ([node.module] if node.module else []))
            targets = [f"{head}.{alias.name}" for alias in node.names] + [head]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name and not name.startswith(target + "."):
                found.add(target)
    return found


def test_no_module_imports_one_that_imports_it_back():
    modules = _module_names()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    state: dict = {}

    def visit(name: str, trail: list) -> None:
        state[name] = "open"
        for other in sorted(graph[name]):
            if state.get(other) == "open":
                circle = trail[trail.index(other):] + [name, other]
                pytest.fail("import circle: " + " -> ".join(circle))
            if other not in state:
                visit(other, trail + [name])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [])


def _readme_layers() -> list[list[str]]:
    """The rooms of the README's layout, line by line from the leaves up (``registry.py s3.py`` is one line)."""
    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    block = readme.split("## The code", 1)[1].split("```", 2)[1]
    lines = block.split("autopilot_local/\n", 1)[1].split("\ntemplates/", 1)[0].splitlines()
    layers = []
    for line in lines:
        if line.startswith("  ") and not line.startswith("   "):  # not a description's second line
            names = line.strip().split("  ")[0].split()
            layers.append([name.removesuffix(".py").rstrip("/").replace("__init__", "autopilot_local")
                           for name in names])
    return layers


def test_every_room_imports_only_rooms_the_readme_lists_before_it():
    modules = _module_names()
    level = {room: i for i, rooms in enumerate(_readme_layers()) for room in rooms}
    room = lambda module: module.split(".")[1] if "." in module else module  # noqa: E731
    assert set(map(room, modules)) == set(level), "the README's layout and the package's rooms differ"
    upward = [f"{name} imports {other}" for name, path in modules.items() for other in _imports(name, path, modules)
              if level[room(other)] > level[room(name)]]
    assert not upward


def test_every_public_name_loads_and_says_what_it_takes():
    for name in autopilot_local.__all__:
        value = getattr(autopilot_local, name)
        assert inspect.getdoc(value), f"autopilot_local.{name} has no docstring"
        if inspect.isfunction(value) and inspect.signature(value).parameters:
            assert "Parameters\n" in inspect.getdoc(value), f"autopilot_local.{name} does not document its parameters"
    for package in PUBLIC_PACKAGES:
        module = importlib.import_module(f"autopilot_local.{package}")
        for name in module.__all__:
            value = getattr(module, name)
            if inspect.isclass(value) or inspect.isfunction(value):  # a constant cannot carry a docstring
                assert inspect.getdoc(value), f"autopilot_local.{package}.{name} has no docstring"


def test_the_templates_import_only_the_declared_public_names():
    pattern = re.compile(r"^\s*from (autopilot_local[\w.]*) import \(?([\w ,\n]+?)\)?$", re.MULTILINE)
    seen = 0
    for template in TEMPLATES.glob("*.jinja"):
        text = re.sub(r"\{%.*?%\}\n?", "", template.read_text(encoding="utf-8"))  # the transformers' import list
        for module, names in pattern.findall(text):
            names = [n.split(" as ")[0].strip() for n in names.replace("\n", ",").split(",") if n.strip()]
            if module == "autopilot_local":
                declared = autopilot_local.__all__
            else:
                package = module.removeprefix("autopilot_local.")
                assert package in PUBLIC_PACKAGES, f"{template.name} imports from {module}, which is not public"
                declared = importlib.import_module(module).__all__
            for name in names:
                seen += 1
                assert name in declared, f"{template.name} imports {name} from {module}, which does not declare it"
    assert seen >= 15  # the notebooks' and dpp modules' imports were all read


# What the notebooks of jobs written before the house was put in order import, and the classes their models pickle
OLD_IMPORTS = {
    "autopilot_local.job": ["fit_transforms", "prepare", "split_rows", "tuning_settings", "ensembling_data",
                            "ensembling_settings", "ensemble_of"],
    "autopilot_local.algorithms": ["ALGORITHMS", "Range"],
    "autopilot_local.config": ["JobConfig", "objective_direction"],
    "autopilot_local.artifacts": ["dump_model"],
    "autopilot_local.io": ["read_table"],
    "autopilot_local.model": ["CandidateModel"],
    "autopilot_local.ensembling": ["FAMILIES", "ModelSpec", "run"],
    "autopilot_local.ensembling.model": ["Views"],
    "autopilot_local.tuning": ["in_memory_study", "tune"],
    "autopilot_local.notebooks": ["report_views"],
}
OLD_PICKLED = [
    ("autopilot_local.tuning", "FoldEnsemble", "autopilot_local.model"),
    ("autopilot_local.algorithms", "PresentClassesClassifier", "autopilot_local.model"),
    ("autopilot_local.linear_learner", "LinearLearnerRegressor", "autopilot_local.tuning.linear_learner"),
    ("autopilot_local.linear_learner", "LinearLearnerClassifier", "autopilot_local.tuning.linear_learner"),
]


@pytest.mark.parametrize("module", sorted(OLD_IMPORTS))
def test_notebooks_of_earlier_jobs_still_import(module):
    imported = importlib.import_module(module)
    for name in OLD_IMPORTS[module]:
        assert getattr(imported, name) is not None


@pytest.mark.parametrize("statement", ["from autopilot_local import AutoML", "import autopilot_local.sdk.resources",
                                       "from autopilot_local.core.shapes import TabularJobConfig"])
def test_the_sdk_copy_is_gone_and_says_what_replaces_it(statement):
    with pytest.raises(ImportError, match="run the real SDK, unchanged, against `autopilot-local server`"):
        exec(statement, {})


@pytest.mark.parametrize("old_module, name, new_module", OLD_PICKLED)
def test_models_pickled_by_earlier_jobs_find_their_classes(old_module, name, new_module):
    reference = b"\x80\x04c" + f"{old_module}\n{name}\n".encode() + b"."  # a pickle of the class itself
    assert pickle.loads(reference) is getattr(importlib.import_module(new_module), name)
