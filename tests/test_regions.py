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

import json
from pathlib import Path

import pytest
from conftest import bake, commit_all, run
from test_hooks import extensions

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
ACCOUNT = "210987654321"  # another account than the baked registry's: a shared one


def configure(repo: Path) -> None:
    """Fill in every documented setting of dev and staging as a team does (README, "Set up an
    environment"), with values of the repository's region and partition."""
    [environments] = repo.glob("dags/*/environments")
    for env in ("dev", "staging"):
        path = environments / f"{env}.json"
        settings = json.loads(path.read_text())
        region = settings["AWS_REGION"]
        partition = extensions.partition_of(region)
        domain = extensions.PARTITIONS[partition][1]
        settings |= {
            "DEPLOYMENT_BUCKET": f"s3://acme-{env}-releases",
            "DATA_BUCKET": f"s3://acme-{env}-lake/pipelines",
            "IMAGE_REGISTRY": f"{ACCOUNT}.dkr.ecr.{region}.{domain}/pipelines/{env}",
            "DEFERRABLE": True,
            "K8S_NAMESPACE": f"pipelines-{env}",
            "K8S_SERVICE_ACCOUNT": "pipeline-jobs",
            "K8S_IMAGE_PULL_SECRETS": ["registry-pull"],
            "K8S_SERVICE_ACCOUNT_ROLE_ARN": f"arn:{partition}:iam::{ACCOUNT}:role/jobs-{env}",
            "K8S_VERSION": "1.32",
            "K8S_QUOTA": settings["K8S_QUOTA"] | {"pods": "40", "limits.memory": "128Gi"},
            "EMR_SUBNET_IDS": ["subnet-0123456789abcdef0"],
            "EMR_SECURITY_GROUPS": {
                "EmrManagedMasterSecurityGroup": "sg-0123456789abcdef0",
                "EmrManagedSlaveSecurityGroup": "sg-0fedcba9876543210",
                "ServiceAccessSecurityGroup": "sg-00112233445566778",
            },
            "EMR_SECURITY_CONFIGURATION": f"pipelines-{env}",
            "EMR_MAX_CLUSTERS": 8,
            "EMR_IDLE_TIMEOUT_SECONDS": 7200,
        }
        settings["INFRA"] |= {
            "GITHUB_REPOSITORY": "acme/pipelines",
            "CREATE_BUCKETS": True,
            "DAGS_S3_URI": f"s3://acme-{env}-airflow/dags",
            "EKS_OIDC_ISSUER": f"oidc.eks.{region}.{domain}/id/0123456789ABCDEF0123456789ABCDEF",
        }
        path.write_text(json.dumps(settings, indent=2) + "\n")


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
