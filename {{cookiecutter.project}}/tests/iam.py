"""IAM for the tests: which AWS calls a role's policies allow, and the calls the code makes.

moto's own IAM enforcement checks neither resources nor conditions for EMR and ECR, so the
stack's policies are evaluated here instead, with IAM's rules for what the policies use:
an explicit Deny wins, an Allow needs a matching action, resource and every condition, and a
condition key missing from the request fails the condition. tests/test_iam.py tests this.
"""

from __future__ import annotations

import ast
import fnmatch
import json
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.client import BaseClient
from botocore.session import get_session

ACCOUNT = "123456789012"  # moto's


# moto's CloudFormation resolves AWS::Partition to "aws" in every region (moto 5.2.5,
# cloudformation/parsing.py), so requests are built in that partition to meet the stack's
# policies. The template itself says ${AWS::Partition} everywhere (template test_partitions.py).
PARTITION = "aws"


def role_partition(region: str) -> str:
    """The partition of the role ARNs moto's IAM makes (by region, unlike AWS::Partition)."""
    return get_session().get_partition_for_region(region)


@dataclass(frozen=True)
class Request:
    """One authorization IAM makes: an action on a resource, with the request's context keys."""

    action: str
    resource: str
    context: Mapping[str, str] = field(default_factory=dict)


def _like(pattern: str, value: str, case_sensitive: bool = True) -> bool:
    flags = 0 if case_sensitive else re.IGNORECASE
    return re.match(fnmatch.translate(pattern), value, flags) is not None


OPERATORS = {
    "StringEquals": lambda expected, actual: actual == expected,
    "StringLike": _like,
    "ArnLike": _like,
    "ArnEquals": lambda expected, actual: actual == expected,
}


def _listed(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _matches(statement: Mapping[str, Any], request: Request) -> bool:
    actions = _listed(statement.get("Action", statement.get("NotAction")))
    named = any(_like(action, request.action, case_sensitive=False) for action in actions)
    if named == ("NotAction" in statement):
        return False
    resources = _listed(statement.get("Resource", statement.get("NotResource", "*")))
    named = any(_like(resource, request.resource) for resource in resources)
    if named == ("NotResource" in statement):
        return False
    for operator, keys in statement.get("Condition", {}).items():
        if operator not in OPERATORS:
            raise ValueError(f"condition operator {operator} is not evaluated by tests/iam.py")
        for key, expected in keys.items():
            actual = request.context.get(key)
            if actual is None or not any(
                OPERATORS[operator](value, actual) for value in _listed(expected)
            ):
                return False
    return True


def allows(documents: list[Mapping[str, Any]], request: Request) -> bool:
    """Whether identity policies `documents` allow `request`."""
    statements = [statement for document in documents for statement in document["Statement"]]
    matching = [statement for statement in statements if _matches(statement, request)]
    if any(statement["Effect"] == "Deny" for statement in matching):
        return False
    return any(statement["Effect"] == "Allow" for statement in matching)


def policy_document(value: str | Mapping[str, Any]) -> dict[str, Any]:
    """A policy document as moto returns it from a stack: inline policies come back as a
    Python repr and `AWS::NoValue` stays in lists as None, where AWS drops it."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            value = ast.literal_eval(value)
    return {**value, "Statement": [s for s in _listed(value["Statement"]) if s is not None]}


def role_policies(iam, role: str) -> list[dict[str, Any]]:
    """Every identity policy of `role`: inline and attached customer-managed ones."""
    names = iam.list_role_policies(RoleName=role)["PolicyNames"]
    documents = [iam.get_role_policy(RoleName=role, PolicyName=name) for name in names]
    return [policy_document(document["PolicyDocument"]) for document in documents]


def managed_policy(iam, arn: str) -> dict[str, Any]:
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]
    return policy_document(document["Document"])


def trust_policy(iam, role: str) -> dict[str, Any]:
    return policy_document(iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"])


@dataclass(frozen=True)
class Call:
    """One AWS API call the code made."""

    service: str  # the signing name: s3, ecr, elasticmapreduce, ...
    operation: str
    params: Mapping[str, Any]
    region: str


@contextmanager
def recorded_calls(monkeypatch) -> Iterator[list[Call]]:
    """Record every AWS API call made through botocore in this process while inside."""
    calls: list[Call] = []
    make_api_call = BaseClient._make_api_call

    def recording(client, operation, params):
        service = client.meta.service_model.signing_name
        calls.append(Call(service, operation, params, client.meta.region_name))
        return make_api_call(client, operation, params)

    with monkeypatch.context() as patch:
        patch.setattr(BaseClient, "_make_api_call", recording)
        yield calls


def s3_requests(call: Call) -> list[Request]:
    bucket = f"arn:{PARTITION}:s3:::{call.params['Bucket']}"
    match call.operation:
        case "PutObject" | "CreateMultipartUpload" | "UploadPart" | "CompleteMultipartUpload":
            return [Request("s3:PutObject", f"{bucket}/{call.params['Key']}")]
        case "GetObject" | "HeadObject":
            return [Request("s3:GetObject", f"{bucket}/{call.params['Key']}")]
        case "ListObjectsV2" | "ListObjects":
            return [Request("s3:ListBucket", bucket, {"s3:prefix": call.params.get("Prefix", "")})]
        case "DeleteObjects":
            objects = call.params["Delete"]["Objects"]
            return [Request("s3:DeleteObject", f"{bucket}/{item['Key']}") for item in objects]
    raise ValueError(f"tests/iam.py: map s3 {call.operation} to its IAM authorization")


def ecr_requests(call: Call) -> list[Request]:
    match call.operation:
        case "GetAuthorizationToken":
            return [Request("ecr:GetAuthorizationToken", "*")]
        case "DescribeRepositories":
            return [
                Request(
                    "ecr:DescribeRepositories",
                    f"arn:{PARTITION}:ecr:{call.region}:{ACCOUNT}:repository/{name}",
                )
                for name in call.params["repositoryNames"]
            ]
    raise ValueError(f"tests/iam.py: map ecr {call.operation} to its IAM authorization")


def emr_requests(call: Call, cluster_tags: Mapping[str, Mapping[str, str]]) -> list[Request]:
    """`cluster_tags`: the tags of each cluster by id, as EMR knows them when authorizing."""
    action = f"elasticmapreduce:{call.operation}"
    if call.operation == "ListClusters":
        return [Request(action, "*")]
    if call.operation == "RunJobFlow":
        tags = {f"aws:RequestTag/{tag['Key']}": tag["Value"] for tag in call.params["Tags"]}
        roles = (call.params["ServiceRole"], call.params["JobFlowRole"])  # profile = role name
        iam = f"arn:{role_partition(call.region)}:iam::{ACCOUNT}"
        return [
            Request(action, "*", tags),
            Request("elasticmapreduce:AddTags", "*", tags),
            *(Request("iam:PassRole", f"{iam}:role/{role}") for role in roles),
        ]
    ids = call.params.get("JobFlowIds") or [
        call.params.get("ClusterId", call.params.get("JobFlowId"))
    ]
    return [
        Request(
            action,
            f"arn:{PARTITION}:elasticmapreduce:{call.region}:{ACCOUNT}:cluster/{cluster}",
            {f"aws:ResourceTag/{key}": value for key, value in cluster_tags[cluster].items()},
        )
        for cluster in ids
    ]


def requests(call: Call, cluster_tags: Mapping[str, Mapping[str, str]] | None = None):
    """The IAM authorizations AWS makes for `call`."""
    if (call.service, call.operation) == ("sts", "GetCallerIdentity"):
        return []  # needs no permission
    if call.service == "s3":
        return s3_requests(call)
    if call.service == "ecr":
        return ecr_requests(call)
    if call.service == "elasticmapreduce":
        return emr_requests(call, cluster_tags or {})
    raise ValueError(f"tests/iam.py: map {call.service} {call.operation} to its authorization")


def denied(documents: list[Mapping[str, Any]], calls: list[Call], **kwargs) -> list[str]:
    """Every authorization of `calls` that `documents` do not allow, readable."""
    return [
        f"{call.operation}: {request}"
        for call in calls
        for request in requests(call, **kwargs)
        if not allows(documents, request)
    ]
