"""What a parser redoes at every parse costs little: a config is validated once per content, in
a folder of this user's alone, and what the parser inherits is left out of its collections.
(The package's bytecode ships with the DAGs: tests/deploy/test_dags_sync.py.)"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

import pytest

from {{ cookiecutter.package }} import configs
from {{ cookiecutter.package }}.parse_cache import private_folder
from {{ cookiecutter.package }}.settings import PACKAGE

from tests.conftest import PACKAGE_DIR

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


@pytest.fixture
def temporary(tmp_path, monkeypatch):
    """A temporary directory of the test's own."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def refuse_to_validate(monkeypatch):
    def refuse(schema_name):
        raise AssertionError("validated again")

    monkeypatch.setattr(configs, "validator", refuse)


def test_a_config_is_validated_once_per_content(temporary, tmp_path, monkeypatch):
    config = tmp_path / "dev.json"
    config.write_bytes((PACKAGE_DIR / "environments" / "dev.json").read_bytes())
    valid = configs.load_config(config, "environment")
    refuse_to_validate(monkeypatch)
    assert configs.load_config(config, "environment") == valid
    config.write_text(config.read_text().replace("{", '{"unknown": 1, ', 1))
    with pytest.raises(AssertionError, match="validated again"):
        configs.load_config(config, "environment")


def test_a_private_folder_others_can_open_or_that_links_elsewhere_is_not_used(temporary):
    folder = private_folder("valid-configs")
    assert folder == temporary / f"{PACKAGE}-valid-configs-{os.getuid()}"
    (temporary / f"{PACKAGE}-shared-{os.getuid()}").mkdir(mode=0o755)
    (temporary / f"{PACKAGE}-shared-{os.getuid()}").chmod(0o755)
    assert private_folder("shared") is None
    (temporary / f"{PACKAGE}-linked-{os.getuid()}").symlink_to(folder)
    assert private_folder("linked") is None


def test_objects_the_parser_inherits_are_left_out_of_its_collections():
    env = os.environ | {"PYTHONPATH": str(PACKAGE_DIR.parent)}
    command = [sys.executable, "-c", GARBAGE_COLLECTED]
    collected = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert collected.returncode == 0, collected.stderr
