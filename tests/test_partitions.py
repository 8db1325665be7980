"""Every AWS partition is baked right: ARNs, the default registry domain, the ECR login host."""

from __future__ import annotations

import json
import re
from importlib.resources import files

import pytest
from conftest import bake
from test_hooks import extensions

BOTOCORE_PARTITIONS = json.loads(files("botocore").joinpath("data/partitions.json").read_text())


def test_the_partition_table_is_botocores():
    """botocore (pinned as in the generated repository's lock) is the source of the table."""
    botocore = {
        partition["id"]: (partition["regionRegex"], partition["outputs"]["dnsSuffix"])
        for partition in BOTOCORE_PARTITIONS["partitions"]
    }
    assert botocore == extensions.PARTITIONS


@pytest.mark.parametrize(
    "partition", BOTOCORE_PARTITIONS["partitions"], ids=lambda partition: partition["id"]
)
def test_every_known_region_gets_its_partition(partition):
    regions = [name for name in partition["regions"] if re.search(r"-[0-9]+$", name)]
    assert regions
    for region in regions:
        assert extensions.partition_of(region) == partition["id"], region


@pytest.mark.parametrize(
    ("region", "partition", "domain"),
    [
        ("cn-north-1", "aws-cn", "amazonaws.com.cn"),
        ("us-gov-west-1", "aws-us-gov", "amazonaws.com"),
        ("eusc-de-east-1", "aws-eusc", "amazonaws.eu"),
    ],
)
def test_arns_and_registry_follow_the_partition(tmp_path, region, partition, domain):
    repo = bake(tmp_path, aws_region=region, example_apps="no")
    stack = (repo / "infra/aws/environment.yaml").read_text()
    assert "arn:aws:" not in stack and "arn:${AWS::Partition}:" in stack
    prod = json.loads((repo / "dags/data_pipelines/environments/prod.json").read_text())
    assert prod["K8S_SERVICE_ACCOUNT_ROLE_ARN"].startswith(f"arn:{partition}:iam::123456789012:")
    prod = json.loads((repo / "dags/data_pipelines/environments/prod.json").read_text())
    assert prod["IMAGE_REGISTRY"] == f"123456789012.dkr.ecr.{region}.{domain}/data-pipelines/prod"
