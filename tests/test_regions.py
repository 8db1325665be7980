"""Every region the README names, in a repository configured as a team configures it in its
first week: the baked lint and scheduling tests pass.

One bake per region, each with dev and staging filled in with realistic values of its partition
(subnets, security groups, the GitHub repository, the EKS cluster's OIDC issuer, a registry in
another account, buckets of its own per environment) and prod left as baked. China's also has a
short package that sorts after `scripts` and `tests`, and an owner that is a label value but no
slug. The scheduling tests run without those that read no setting and no region (the parse
cache, Airflow's REST API, the DAG bundle, the parse-cost guard, the local runtime, the job
projects' runner) and without the DAG runs end to end under moto, whose calls the EMR and
shared-account tests make in the region too; the default bake's `make test` runs them all
(tests/test_baked_gate.py).
"""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import assert_succeeded, bake, commit_all, run
from team_settings import configure

pytestmark = pytest.mark.gate

# The regions the README names, with the answers baked with each.
REGIONS = {
    "cn-north-1": {"project_name": "Zeta", "owner": "Data.Team"},
    "us-gov-west-1": {},
    "eusc-de-east-1": {},
}
# Left out (see above): what reads no setting and no region, and the DAG runs end to end.
REGION_FREE = (
    "-m 'not api_server' -k 'not parse_cache and not dag_bundle and not parse_imports'"
    " --ignore=tests/test_local.py --ignore=tests/test_run_local.py --ignore=tests/apps"
    " --ignore=tests/test_emr_e2e.py --ignore=tests/test_job_tests.py"
)


def gate(repo: Path) -> list[subprocess.CompletedProcess]:
    """The baked lint, then the scheduling tests that read settings or regions."""
    return [
        run(["make", "lint"], repo, check=False),
        run(["make", "test-dags", f"ARGS={REGION_FREE}"], repo, check=False),
    ]


@pytest.fixture(scope="module")
def gated(tmp_path_factory) -> dict[str, tuple[Path, list[subprocess.CompletedProcess]]]:
    """Each region's bake, configured and committed, through its gate. The gates run side by
    side: each is one process at a time, so they share two cores instead of queueing."""
    repos = {}
    for region, answers in REGIONS.items():
        repos[region] = bake(tmp_path_factory.mktemp(region), aws_region=region, **answers)
        configure(repos[region])
        commit_all(repos[region])
    with ThreadPoolExecutor(len(repos)) as pool:
        results = dict(zip(repos, pool.map(gate, repos.values()), strict=True))
    return {region: (repos[region], results[region]) for region in REGIONS}


@pytest.mark.parametrize("region", REGIONS)
def test_the_baked_lint_and_scheduling_tests_pass(gated, region):
    repo, results = gated[region]
    for result in results:
        assert_succeeded(result, repo)
    for target in ("rollback", "rerun"):
        usage = run(["make", target, "ENVIRONMENT=prod"], repo, check=False)
        assert usage.returncode == 2 and f"usage: make {target} ENVIRONMENT=" in usage.stderr
