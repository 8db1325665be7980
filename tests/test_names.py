"""Generated code passes the baked repository's ruff for every valid name, whatever its length or
alphabetical position: nothing in a template line may wrap or sort differently because of a name.

A property-style matrix, fast on purpose (a bake and two ruff runs each, no environments built).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import bake

# Package lengths 1, 2, 13, 14, 28, 29, 32 (the longest the hook accepts) and first letters
# a, m, s, t, u, z: both sides of `scripts` and `tests`, the repository's other import roots.
PACKAGES = [
    "a",
    "zz",
    "marketing_ops",
    "sales_insights",
    "t" * 28,
    "u" + "_x" * 14,
    "z" * 32,
    "scripts_team",
    "tests_team",
]
NAMES = [
    {"package": package, "project": package.replace("_", "-")[:32]} for package in PACKAGES
] + [
    {"project_name": "Équipe Données Ünïcode"},
    {"project_name": "  Data Pipelines "},
    {"project_name": "X", "project": "p" * 32, "package": "m" * 32},
]


def ruff(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "ruff", *args, "--no-cache"]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True)


def test_the_matrix_covers_the_lengths_and_letters_named_in_the_rule():
    lengths = {len(package) for package in PACKAGES}
    assert {1, 2, 13, 14, 28, 29, 32} <= lengths
    assert set("amstuz") <= {package[0] for package in PACKAGES}


def test_this_suite_runs_the_ruff_the_baked_repository_pins(tmp_path):
    repo = bake(tmp_path, example_apps="no")
    pinned = re.search(r"ruff==([0-9.]+)", (repo / ".pre-commit-config.yaml").read_text())
    assert ruff("--version", cwd=repo).stdout.split() == ["ruff", pinned[1]]


@pytest.mark.parametrize("answers", NAMES, ids=lambda answers: "-".join(answers.values()))
def test_generated_code_passes_ruff_for_any_name(tmp_path, answers):
    repo = bake(tmp_path, **answers)
    check = ruff("check", "--output-format", "concise", ".", cwd=repo)
    assert check.returncode == 0, check.stdout
    formatted = ruff("format", "--check", ".", cwd=repo)
    assert formatted.returncode == 0, formatted.stdout
    title = (repo / "README.md").read_text().splitlines()[0]
    assert title == title.strip(), "trailing whitespace fails the baked lint"


@pytest.mark.parametrize("package", ["a", "z" * 32])
def test_new_apps_pass_ruff_for_any_app_name(tmp_path, package):
    repo = bake(tmp_path, package=package, project=package.replace("_", "-"), example_apps="no")
    longest = 63 - len(package) - 1  # the DAG id `<package>.<app>` is a label value
    for pattern, letter in (("spark", "a"), ("k8s", "m"), ("hybrid", "z")):
        for name in (letter, letter * longest):
            command = [sys.executable, "scripts/new_app.py", "--name", name, "--pattern", pattern]
            subprocess.run(command, cwd=repo, check=True, capture_output=True)
    check = ruff("check", "--output-format", "concise", ".", cwd=repo)
    assert check.returncode == 0, check.stdout
    formatted = ruff("format", "--check", ".", cwd=repo)
    assert formatted.returncode == 0, formatted.stdout
