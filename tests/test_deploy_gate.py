"""Unusual answers pass the baked repository's own gate too: a China-region bake (partition
aws-cn) with a short package that sorts after `scripts` and `tests` and an owner that is a label
value but no slug. (MWAA: tests/test_new_app.py.)"""

from __future__ import annotations

import pytest
import yaml
from conftest import bake, commit_all, run

pytestmark = pytest.mark.gate


def test_china_region_and_late_alphabet_package_pass_make_test(tmp_path):
    repo = bake(tmp_path, project_name="Zeta", aws_region="cn-north-1", owner="Data.Team")
    assert (repo / "dags/zeta").is_dir()
    commit_all(repo)
    run(["make", "test"], repo)
    for target in ("rollback", "rerun"):
        usage = run(["make", target, "ENVIRONMENT=prod"], repo, check=False)
        assert usage.returncode == 2
        assert f"usage: make {target} ENVIRONMENT=" in usage.stderr
    manifests = run(["make", "k8s-manifests", "ENVIRONMENT=prod"], repo).stdout
    binding = next(d for d in yaml.safe_load_all(manifests) if d["kind"] == "RoleBinding")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "airflow-worker", "namespace": "airflow"},
        {"kind": "ServiceAccount", "name": "airflow-triggerer", "namespace": "airflow"},
    ]
    assert binding["metadata"]["namespace"] == "zeta"
