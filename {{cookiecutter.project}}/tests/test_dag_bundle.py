"""Airflow 3 DAG bundles: this repository's DAGs parse through a `GitDagBundle`, the way an
Airflow that reads them from Git does (README, "DAGs through a Git DAG bundle").

The bundle tracks a branch of a local Git repository holding this working tree's `dags/`, with
`subdir: dags`; it is parsed in a fresh interpreter whose only route to the team package is the
bundle's checkout, as in the DAG processor, where the bundle root is on `sys.path`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from {{ cookiecutter.package }}.settings import PACKAGE

from tests.conftest import APPS_DIR, PACKAGE_DIR, git

TRACKING_REF = "airflow/dev"
{% raw %}PARSE = """
import json, sys
from pathlib import Path

from airflow.dag_processing.dagbag import DagBag
from airflow.providers.git.bundles.git import GitDagBundle

bundle = GitDagBundle(
    name="{package}", tracking_ref="{ref}", subdir="dags", repo_url=sys.argv[1]
)
bundle.initialize()
sys.path.insert(0, str(bundle.path))
bag = DagBag(dag_folder=str(bundle.path / "{package}" / "apps"), bundle_path=bundle.path)
import {package}
print(json.dumps({{
    "version": bundle.get_current_version().version,
    "package": str(Path({package}.__file__).resolve().parent),
    "bundle": str(bundle.path.resolve()),
    "dags": sorted(bag.dag_ids),
    "errors": bag.import_errors,
}}))
"""{% endraw %}


def test_the_dags_parse_through_a_git_dag_bundle(tmp_path):
    origin = tmp_path / "origin"
    shutil.copytree(
        PACKAGE_DIR, origin / "dags" / PACKAGE, ignore=shutil.ignore_patterns("__pycache__")
    )
    git("init", "-q", "-b", "main", cwd=origin)
    git("add", "-A", cwd=origin)
    git("commit", "-q", "-m", "DAGs", cwd=origin)
    git("branch", TRACKING_REF, cwd=origin)
    commit = git("rev-parse", TRACKING_REF, cwd=origin)

    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH"] = str(tmp_path / "bundles")
    script = PARSE.format(package=PACKAGE, ref=TRACKING_REF)
    result = subprocess.run(
        [sys.executable, "-c", script, str(origin)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    parsed = json.loads(result.stdout.strip().splitlines()[-1])

    assert parsed["version"] == commit, "the bundle is pinned to the tracked commit"
    assert parsed["package"].startswith(parsed["bundle"]), "the package comes from the bundle"
    assert not parsed["errors"], parsed["errors"]
    apps = sorted(path.parent.name for path in APPS_DIR.glob("*/*_dag.py"))
    assert parsed["dags"] == [f"{PACKAGE}.{app}" for app in apps]
