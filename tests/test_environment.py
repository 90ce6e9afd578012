"""environment.yml (conda-forge, Binder), binder/ and pyproject.toml must agree."""

import os
import re
import tomllib
from importlib import metadata
from pathlib import Path

import yaml  # PyYAML comes with jupyterlab (via jupyter-events)
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
ENV = yaml.safe_load((ROOT / "environment.yml").read_text())
CONDA_TO_PIP = {"pytorch-cpu": "torch", "pytorch": "torch"}


def conda_deps():
    """{pip name: conda version or None} for the conda dependencies, python apart."""
    deps = {}
    for dep in ENV["dependencies"]:
        if isinstance(dep, dict):  # the pip section: see pip_section()
            assert list(dep) == ["pip"], f"only conda packages and a pip section, not {dep!r}"
            continue
        match = re.fullmatch(r"([\w.-]+)\s*(?:=+\s*([\w.]+))?", dep)
        assert match, f"unsupported conda spec {dep!r}: use name or name=version"
        name, version = match.groups()
        deps[canonicalize_name(CONDA_TO_PIP.get(name, name))] = version
    return deps


def pip_section():
    """The lines of environment.yml's pip section: pip options, then `name==version` pins."""
    (section,) = [dep["pip"] for dep in ENV["dependencies"] if isinstance(dep, dict)]
    return section


def pip_reqs(lines):
    return {canonicalize_name(r.name): r for r in map(Requirement, lines)}


def environment_deps():
    """{pip name: pinned version or None} of everything environment.yml installs, python too."""
    pins = pinned(line for line in pip_section() if not line.startswith("-"))
    conda = conda_deps()
    assert not set(pins) & set(conda), f"{set(pins) & set(conda)} both from conda and from pip"
    return {**conda, **pins}


def test_runtime_dependencies_agree():
    conda = environment_deps()
    python = conda.pop("python")
    conda.pop("pip")  # the installer of the pip section
    runtime = pip_reqs(PYPROJECT["project"]["dependencies"])
    dev = pip_reqs(PYPROJECT["project"]["optional-dependencies"]["dev"])
    assert set(runtime) <= set(conda), "in pyproject.toml but missing from environment.yml"
    assert set(conda) - set(runtime) <= set(dev), "in environment.yml but not in pyproject.toml"
    for name, version in conda.items():
        if version and name in runtime:
            assert Version(version) in runtime[name].specifier, (name, version)
    assert Version(python) in SpecifierSet(PYPROJECT["project"]["requires-python"])


def test_environment_takes_torch_s_cpu_build_from_pytorch_s_index():
    assert ENV["name"] == "hyperviz"
    assert ENV["channels"] == ["conda-forge"]
    assert "pip" in ENV["dependencies"], "conda must install pip for the pip section"
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in pip_section()
    assert not [dep for dep in conda_deps() if dep == "torch"], "torch comes from the pip section"


def test_binder_uses_the_same_environment():
    link = ROOT / "binder" / "environment.yml"
    assert link.is_symlink() and os.readlink(link) == "../environment.yml"
    assert link.read_text() == (ROOT / "environment.yml").read_text()


def test_postbuild_installs_without_dependencies():
    post = ROOT / "binder" / "postBuild"
    assert os.access(post, os.X_OK), "binder/postBuild must be executable"
    lines = [line.strip() for line in post.read_text().splitlines()]
    assert lines[0] == "#!/bin/bash" and "set -e" in lines
    installs = [line for line in lines if line.startswith("pip install")]
    assert installs and all("--no-deps" in line for line in installs)
    assert any(line.endswith("-e .") for line in installs)


def test_ci_runs_make_test():
    assert "make test" in (ROOT / ".ci" / "run").read_text().splitlines()


def test_makefile_torch_pin_satisfies_pyproject():
    pin = re.search(r"^TORCH_VERSION \?= (\S+)$", (ROOT / "Makefile").read_text(), re.M)
    torch = pip_reqs(PYPROJECT["project"]["dependencies"])["torch"]
    assert Version(pin.group(1)) in torch.specifier


def test_no_cpu_kernel_pins_promise_identical_numbers():
    """Pins did not make digits portable (claims and the nbval sanitizer do): none remain."""
    pinned = re.compile(r"^export (ATEN_CPU_CAPABILITY|MKL_CBWR|ONEDNN_MAX_CPU_ISA)\b", re.M)
    for path in [ROOT / "Makefile", *sorted((ROOT / "binder").iterdir())]:
        assert not pinned.search(path.read_text()), f"{path.name} pins CPU kernels"


def test_notebook_tests_run_twice_the_second_time_with_other_rounding():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^OTHER_ROUNDING := .*ATEN_CPU_CAPABILITY=default", makefile, re.M)
    assert "$(OTHER_ROUNDING) $(NBVAL) notebooks/" in makefile


def pinned(lines):
    """{name: version} of the `name==version` lines of a requirements or constraints file."""
    pins = {}
    for line in lines:
        line = line.split("#")[0].strip()
        if line:
            requirement = Requirement(line)
            (spec,) = requirement.specifier
            assert spec.operator == "==", f"pin with ==, not {line!r}"
            pins[canonicalize_name(requirement.name)] = spec.version
    return pins


def test_binder_pins_the_versions_ci_tests():
    """environment.yml (Binder) pins exactly what the Makefile's install puts in the venv."""
    ci = pinned((ROOT / "constraints.txt").read_text().splitlines())
    ci["torch"] = re.search(r"^TORCH_VERSION \?= (\S+)$", (ROOT / "Makefile").read_text(), re.M)[1]
    binder = environment_deps()
    for name in ["torch", "plotly", "anywidget", "ipywidgets", "jupyterlab", "nbval"]:
        assert name in ci, f"{name} is not pinned in constraints.txt"
        assert binder[name] == ci[name], (
            f"environment.yml pins {name}={binder[name]}, CI {ci[name]}"
        )


def test_the_venv_holds_the_pinned_versions():
    """What CI runs is what the pins say (torch as its CPU build on Linux)."""
    ci = pinned((ROOT / "constraints.txt").read_text().splitlines())
    for name, version in ci.items():
        assert metadata.version(name) == version, f"{name} {metadata.version(name)} != {version}"
    installed = Version(metadata.version("torch"))
    assert (
        installed.public
        == re.search(r"^TORCH_VERSION \?= (\S+)$", (ROOT / "Makefile").read_text(), re.M)[1]
    )
