"""Every AWS partition a repository can be baked for is baked right: ARNs, the default registry
domain, the GitHub OIDC audience, the environment schema; the ISO partitions are refused."""

from __future__ import annotations

import json
import re
from importlib.resources import files

import pytest
import yaml
from conftest import bake
from test_hooks import extensions

BOTOCORE_PARTITIONS = json.loads(files("botocore").joinpath("data/partitions.json").read_text())
SUPPORTED = extensions.PARTITIONS


def regions(partition: dict) -> list[str]:
    return [name for name in partition["regions"] if re.search(r"-[0-9]+$", name)]


def test_the_partition_table_is_botocores():
    """botocore (pinned as in the generated repository's lock) is the source of the table."""
    botocore = {
        partition["id"]: (partition["regionRegex"], partition["outputs"]["dnsSuffix"])
        for partition in BOTOCORE_PARTITIONS["partitions"]
    }
    assert {name: botocore[name] for name in SUPPORTED} == SUPPORTED
    assert sorted(set(botocore) - set(SUPPORTED)) == [
        "aws-iso",
        "aws-iso-b",
        "aws-iso-e",
        "aws-iso-f",
    ]


@pytest.mark.parametrize(
    "partition", BOTOCORE_PARTITIONS["partitions"], ids=lambda partition: partition["id"]
)
def test_every_known_region_gets_its_partition_or_is_refused(partition):
    assert regions(partition)
    expected = partition["id"] if partition["id"] in SUPPORTED else ""
    for region in regions(partition):
        assert extensions.partition_of(region) == expected, region


@pytest.mark.parametrize(
    ("region", "partition", "domain", "audience"),
    [
        ("cn-north-1", "aws-cn", "amazonaws.com.cn", "sts.amazonaws.com.cn"),
        ("us-gov-west-1", "aws-us-gov", "amazonaws.com", "sts.amazonaws.com"),
        ("eusc-de-east-1", "aws-eusc", "amazonaws.eu", "sts.amazonaws.com"),
    ],
)
def test_arns_registry_audience_and_schema_follow_the_partition(
    tmp_path, region, partition, domain, audience
):
    repo = bake(tmp_path, aws_region=region, example_apps="no")
    stack = (repo / "infra/aws/environment.yaml").read_text()
    assert "arn:aws:" not in stack and "arn:${AWS::Partition}:" in stack
    prod = json.loads((repo / "dags/data_pipelines/environments/prod.json").read_text())
    assert prod["K8S_SERVICE_ACCOUNT_ROLE_ARN"].startswith(f"arn:{partition}:iam::123456789012:")
    assert prod["IMAGE_REGISTRY"] == f"123456789012.dkr.ecr.{region}.{domain}/data-pipelines/prod"
    # GitHub's tokens ask for the audience that the deploy role trusts and the README registers.
    assert f"token.actions.githubusercontent.com:aud: {audience}\n" in stack
    action = yaml.safe_load((repo / ".github/actions/deploy/action.yml").read_text())
    audiences = [step["with"].get("audience") for step in action["runs"]["steps"] if "with" in step]
    assert [value for value in audiences if value] == [audience]
    assert f"--client-id-list {audience}`" in (repo / "README.md").read_text()
    schema = json.loads((repo / "dags/data_pipelines/schemas/environment.schema.json").read_text())[
        "properties"
    ]
    issuer = f"oidc.eks.{region}.{domain}/id/0123456789ABCDEF"
    assert re.search(schema["INFRA"]["properties"]["EKS_OIDC_ISSUER"]["pattern"], issuer)


def test_the_environment_schema_takes_every_region_of_the_partitions_and_no_other(default_repo):
    schema = json.loads(
        (default_repo / "dags/data_pipelines/schemas/environment.schema.json").read_text()
    )
    pattern = schema["properties"]["AWS_REGION"]["pattern"]
    for partition in BOTOCORE_PARTITIONS["partitions"]:
        for region in regions(partition):
            assert bool(re.search(pattern, region)) == (partition["id"] in SUPPORTED), region
