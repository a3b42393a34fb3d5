"""pyproject.toml, environment.yml and constraints.txt name the same packages."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# conda-forge spells a few packages differently from PyPI.
CONDA_TO_PYPI = {"pytorch": "torch"}


def canonical(requirement: str) -> str:
    name = re.split(r"[<>=!~;\[ ]", requirement.strip(), maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def pyproject_packages() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {canonical(r) for r in project["dependencies"]}
    for extra in project["optional-dependencies"].values():
        names |= {canonical(r) for r in extra}
    return names


def environment_packages() -> set[str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    names = set()
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            names |= {canonical(r) for r in dep["pip"] if not r.startswith("-e")}
        else:
            name = canonical(dep)
            if name not in {"python", "pip"}:
                names.add(CONDA_TO_PYPI.get(name, name))
    return names


def constraint_pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[canonical(name)] = version
    return pins


def test_environment_yml_names_the_same_packages_as_pyproject():
    assert environment_packages() == pyproject_packages()


def test_environment_yml_installs_the_project():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(dep["pip"] for dep in env["dependencies"] if isinstance(dep, dict))
    assert "-e ." in pip_section


def test_every_dependency_is_pinned_exactly_in_constraints():
    pins = constraint_pins()
    missing = pyproject_packages() - set(pins)
    assert not missing, f"not pinned in constraints.txt: {sorted(missing)}"
    assert all(re.fullmatch(r"[0-9][0-9a-z.+]*", v) for v in pins.values()), pins


def test_torch_is_pinned_to_the_tested_cpu_build():
    # An unpinned torch resolves to a 5 GB CUDA build.
    assert constraint_pins()["torch"] == "2.13.0"


def test_every_subpackage_of_shortcut_lib_is_in_the_distribution():
    # A wheel without shortcut_lib/plots/ installs cleanly and then fails at import.
    from setuptools.discovery import PackageFinder

    setuptools_config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "shortcut_lib").rglob("__init__.py")
    }
    if "packages" in setuptools_config and isinstance(setuptools_config["packages"], list):
        shipped = set(setuptools_config["packages"])
    else:
        find = setuptools_config["packages"]["find"]
        shipped = set(PackageFinder.find(str(ROOT), include=find["include"]))
    assert on_disk <= shipped, f"not shipped: {sorted(on_disk - shipped)}"
