"""The non-default deploy answers pass the baked repository's own gate too."""

from __future__ import annotations

import pytest
import yaml
from conftest import bake, commit_all, run

pytestmark = pytest.mark.gate


def test_mwaa_bake_passes_make_test(tmp_path):
    repo = bake(tmp_path, airflow_api="mwaa")
    commit_all(repo)
    run(["make", "test"], repo)
    usage = run(["make", "rollback"], repo, check=False)
    assert usage.returncode == 2
    assert "usage: make rollback ENVIRONMENT=" in usage.stderr
    manifests = run(["make", "k8s-manifests", "ENVIRONMENT=prod"], repo).stdout
    binding = next(d for d in yaml.safe_load_all(manifests) if d["kind"] == "RoleBinding")
    assert binding["subjects"] == [
        {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Group",
            "name": "data-pipelines-airflow",
        }
    ]
