"""Jinja filters for cookiecutter.json: the AWS partition a region belongs to, and its domain.

ARNs (`arn:<partition>:...`) and default hostnames (`<service>.<region>.<domain>`) differ per
partition: China is `aws-cn` under amazonaws.com.cn, GovCloud `aws-us-gov`, and so on. The bake
runs in cookiecutter's Python, where botocore is not guaranteed, so this is botocore's own table
(botocore/data/partitions.json; tests/test_partitions.py keeps them equal) for the partitions a
baked repository works in. The ISO partitions are left out: they are closed to GitHub, which
deploys, and to the tests' AWS stand-in, moto.
"""

from __future__ import annotations

import re

from cookiecutter.utils import simple_filter

# partition: (region pattern, DNS suffix), from botocore 1.43.117 (the generated repository's).
PARTITIONS = {
    "aws": (r"^(us|eu|ap|sa|ca|me|af|il|mx)\-\w+\-\d+$", "amazonaws.com"),
    "aws-cn": (r"^cn\-\w+\-\d+$", "amazonaws.com.cn"),
    "aws-eusc": (r"^eusc\-(de)\-\w+\-\d+$", "amazonaws.eu"),
    "aws-us-gov": (r"^us\-gov\-\w+\-\d+$", "amazonaws.com"),
}


def partition_of(region: str) -> str:
    """The partition whose region pattern matches `region`, or "" for none of PARTITIONS."""
    for partition, (pattern, _) in PARTITIONS.items():
        if re.match(pattern, region, flags=re.ASCII):
            return partition
    return ""


@simple_filter
def aws_partition(region: str) -> str:
    return partition_of(region)


@simple_filter
def aws_dns_suffix(region: str) -> str:
    partition = partition_of(region)
    return PARTITIONS[partition][1] if partition else ""
