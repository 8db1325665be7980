"""Importing the package in a parser costs little: its modules are compiled once per version,
even where Python writes no bytecode, and what the parser inherits is left out of its collections.

Each test imports the package in a fresh interpreter, as each DAG processor parse does, with
PYTHONDONTWRITEBYTECODE=1 and a temporary directory of its own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from {{ cookiecutter.package }}.settings import PACKAGE

from tests.conftest import PACKAGE_DIR

# Compiling from source fails in the child: only the cache can load the modules.
NO_COMPILING = f"""
from {PACKAGE}.parse_cache import CachingLoader

def refuse(*args):
    raise AssertionError("compiled from source")

CachingLoader.source_to_code = refuse
"""

# Objects made before the package's import (as the parser inherits them) and after it.
GARBAGE_COLLECTED = f"""
import gc
inherited = []
import {PACKAGE}
own = []
swept = set(map(id, gc.get_objects()))
assert id(inherited) not in swept, "inherited objects are swept by the parser's collections"
assert id(own) in swept, "the parser's own objects are not swept by its collections"
"""


def parse(dags: Path, tmp: Path, code: str = "") -> subprocess.CompletedProcess:
    """Import the package's modules in a fresh interpreter, after running `code`."""
    program = "\n".join(
        [
            f"import {PACKAGE}",
            code,
            f"import {PACKAGE}.emr, {PACKAGE}.k8s",
            f"print({PACKAGE}.settings.PACKAGE)",
        ]
    )
    return run(program, dags, tmp)


def run(program: str, dags: Path, tmp: Path) -> subprocess.CompletedProcess:
    env = os.environ | {"PYTHONPATH": str(dags), "PYTHONDONTWRITEBYTECODE": "1", "TMPDIR": str(tmp)}
    return subprocess.run(
        [sys.executable, "-c", program], env=env, capture_output=True, text=True, check=False
    )


def cache_folder(tmp: Path) -> Path:
    return tmp / f"{PACKAGE}-bytecode-{os.getuid()}"


def test_modules_compiled_once_are_loaded_from_the_cache(tmp_path):
    first = parse(PACKAGE_DIR.parent, tmp_path)
    assert first.returncode == 0, first.stderr
    assert len(list(cache_folder(tmp_path).iterdir())) >= 5
    again = parse(PACKAGE_DIR.parent, tmp_path, NO_COMPILING)
    assert again.returncode == 0, again.stderr


def test_a_changed_module_is_compiled_again(tmp_path):
    dags = tmp_path / "dags"
    shutil.copytree(PACKAGE_DIR, dags / PACKAGE, ignore=shutil.ignore_patterns("apps", "ops"))
    assert parse(dags, tmp_path).returncode == 0
    settings = dags / PACKAGE / "settings.py"
    settings.write_text(
        settings.read_text().replace(f'PACKAGE = "{PACKAGE}"', 'PACKAGE = "edited"')
    )
    changed = parse(dags, tmp_path)
    assert changed.stdout.strip() == "edited", changed.stderr
    refused = parse(dags, tmp_path, NO_COMPILING)
    assert refused.returncode == 0, refused.stderr  # the edited version is cached in turn


def test_a_cache_folder_others_can_open_is_not_used(tmp_path):
    folder = cache_folder(tmp_path)
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    compiled = parse(PACKAGE_DIR.parent, tmp_path)
    assert compiled.returncode == 0, compiled.stderr
    assert not list(folder.iterdir())
    refused = parse(PACKAGE_DIR.parent, tmp_path, NO_COMPILING)
    assert "compiled from source" in refused.stderr


def test_a_cache_folder_that_links_elsewhere_is_not_used(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    cache_folder(tmp_path).symlink_to(elsewhere)
    assert parse(PACKAGE_DIR.parent, tmp_path).returncode == 0
    assert not list(elsewhere.iterdir())


def test_objects_the_parser_inherits_are_left_out_of_its_collections(tmp_path):
    collected = run(GARBAGE_COLLECTED, PACKAGE_DIR.parent, tmp_path)
    assert collected.returncode == 0, collected.stderr
