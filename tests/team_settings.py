"""What a team fills in during its first week, for the tests that bake a configured repository."""

from __future__ import annotations

import json
from pathlib import Path

from test_hooks import extensions

ACCOUNT = "210987654321"  # another account than the baked registry's: a shared one


def configure(repo: Path) -> None:
    """Fill in every documented setting of dev and staging as a team does (README, "Set up an
    environment"), with values of the repository's region and partition."""
    answers = json.loads((repo / ".cruft.json").read_text())["context"]["cookiecutter"]
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
            "EKS_OIDC_ISSUER": f"oidc.eks.{region}.{domain}/id/0123456789ABCDEF0123456789ABCDEF",
        }
        if answers["dags_target"] == "s3":
            settings["INFRA"]["DAGS_S3_URI"] = f"s3://acme-{env}-airflow/dags"
        if answers["airflow_api"] == "mwaa":  # Airflow reaches the team's EKS cluster from MWAA
            settings["K8S_EKS_CLUSTER"] = "acme-data"
            settings["INFRA"]["MWAA_ENVIRONMENT"] = f"acme-{env}"
        path.write_text(json.dumps(settings, indent=2) + "\n")
