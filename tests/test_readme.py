"""The README's commands work as written."""

from __future__ import annotations

import json
import re
import shlex

from conftest import TEMPLATE, run
from test_cruft_update import template_repository


def test_the_bake_command_works_verbatim_from_a_local_clone(tmp_path):
    readme = (TEMPLATE / "README.md").read_text()
    [command] = re.findall(r"^(uvx cookiecutter\S* hybrid-airflow)$", readme, flags=re.MULTILINE)
    clone = template_repository(tmp_path / "hybrid-airflow")

    run([*shlex.split(command), "--no-input"], tmp_path)

    repo = tmp_path / "data-pipelines"
    assert run(["git", "status", "--porcelain"], repo).stdout, "a git repository, files staged"
    record = json.loads((repo / ".cruft.json").read_text())
    head = run(["git", "rev-parse", "HEAD"], clone).stdout.strip()
    assert (record["template"], record["commit"]) == (str(clone), head)
