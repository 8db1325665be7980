"""Every region the README names, in a repository configured as a team configures it in its
first week: the baked lint and scheduling tests pass.

One bake per region, each with dev and staging filled in with realistic values of its partition
(subnets, security groups, the GitHub repository, the EKS cluster's OIDC issuer, a registry in
another account, buckets of its own per environment) and prod left as baked. China's also has a
short package that sorts after `scripts` and `tests`, and an owner that is a label value but no
slug. The scheduling tests run without those that read no setting and no region (the parse
cache, Airflow's REST API, the DAG bundle, the parse-cost guard); the default bake's `make test`
runs them (tests/test_baked_gate.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import bake, commit_all, run
from team_settings import configure

pytestmark = pytest.mark.gate

# The regions the README names, with the answers baked with each.
REGIONS = {
    "cn-north-1": {"project_name": "Zeta", "owner": "Data.Team"},
    "us-gov-west-1": {},
    "eusc-de-east-1": {},
}
# What reads no setting and no region: the parse cache, Airflow's REST API, the DAG bundle and
# the parse-cost guard.
REGION_FREE = "-m 'not api_server' -k 'not parse_cache and not dag_bundle and not parse_imports'"


@pytest.fixture(scope="module", params=REGIONS)
def configured(request, tmp_path_factory) -> Path:
    repo = bake(
        tmp_path_factory.mktemp(request.param), aws_region=request.param, **REGIONS[request.param]
    )
    configure(repo)
    commit_all(repo)
    return repo


def test_the_baked_lint_and_scheduling_tests_pass(configured):
    run(["make", "lint"], configured)
    run(["make", "test-dags", f"ARGS={REGION_FREE}"], configured)
    usage = run(["make", "rollback"], configured, check=False)
    assert usage.returncode == 2 and "usage: make rollback ENVIRONMENT=" in usage.stderr
