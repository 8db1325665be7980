"""EMR in a shared AWS account: this repository's dev and staging, another team's repository and
clusters nobody tagged, side by side in one account and region, with the same DAG ids and the
same run ids. Every AWS call is authorized as AWS would (tests/iam.py) against the policies of
the stacks `make infra` creates, before moto sees it: a refused call fails as in AWS.
"""

import json

import boto3
import pytest
from airflow.providers.amazon.aws.operators import emr as provider_emr
from airflow.sdk import DAG
from moto import mock_aws

from {{ cookiecutter.package }} import emr, janitor
from {{ cookiecutter.package }}.settings import PACKAGE, TEAM, load_settings

from scripts.bench_emr_calls import measure
from scripts.deploy import BadInput, infra
from tests.conftest import RELEASE, iam_client
from tests.emr_run import DAG_ID, LOGICAL_DATE, RUN_ID, end_steps_in, run, task_states, write_app
from tests.iam import (
    ACCOUNT,
    MANAGED_POLICY_TAG,
    Request,
    aws_managed_policy,
    cluster_arn,
    emr_service_requests,
    enforced,
    evaluate,
    managed_policy,
    request_tags,
    role_partition,
    role_policies,
)
from tests.test_infra import stack_template

REGION = load_settings("dev").AWS_REGION
OTHER_TEAM = "other_pipelines"  # another repository's package, baked with the same owner
MANAGED = {"Key": MANAGED_POLICY_TAG, "Value": "true"}


@pytest.fixture
def dag(dags_folder, monkeypatch):
    return write_app(dags_folder, monkeypatch)


@pytest.fixture
def account(availability_zones, stack_repo, deploy_release):
    """One AWS account: the dev and staging stacks of this repository as `make infra` creates
    them, RELEASE deployed to dev; `policies(env)` is the Airflow runtime policy of `env`."""
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    for env in ("dev", "staging"):
        infra.deploy_stack(env, cloudformation, stack_repo)
    deploy_release(RELEASE, live=True)
    iam = iam_client()
    arns = {policy["PolicyName"]: policy["Arn"] for policy in iam.list_policies()["Policies"]}

    class Account:
        emr = boto3.client("emr", region_name=REGION)
        ec2 = boto3.client("ec2", region_name=REGION)

        @staticmethod
        def runtime_policy(env: str) -> list[dict]:
            return [managed_policy(iam, arns[f"{infra.PROJECT}-{env}-airflow-runtime"])]

        @staticmethod
        def service_role_policies(env: str) -> list[dict]:
            attached = stack_template()["Resources"]["EmrServiceRole"]["Properties"]
            inline = role_policies(iam, load_settings(env).EMR_SERVICE_ROLE)
            return inline + [aws_managed_policy(arn) for arn in attached["ManagedPolicyArns"]]

    return Account


def request_in(environment: str, dag, monkeypatch, **changes) -> dict:
    """The RunJobFlow request the DAG's create task sends in `environment`, for run RUN_ID, with
    these settings changed."""
    with monkeypatch.context() as patch:
        patch.setattr(emr, "load_settings", lambda: load_settings(environment).replace(**changes))
        twin = DAG(dag_id=DAG_ID, schedule=None, start_date=LOGICAL_DATE)
        twin.fileloc = dag.fileloc
        request = emr.Cluster(dag=twin, cluster_name="e2e").create_task.job_flow_overrides
    return json.loads(json.dumps(request).replace("{% raw %}{{ run_id }}{% endraw %}", RUN_ID))


def change_settings(root, environment: str, **changes) -> None:
    """Change settings of `environment` in the repository copy `root`."""
    path = root / "dags" / PACKAGE / "environments" / f"{environment}.json"
    path.write_text(json.dumps(json.loads(path.read_text()) | changes))


def retagged(request: dict, name: str, **tags: str | None) -> dict:
    """`request` with another name and these tags changed (None: left out)."""
    changed = emr.tag_dict(request["Tags"]) | tags
    kept = {key: value for key, value in changed.items() if value is not None}
    return request | {"Name": name, "Tags": emr.tag_list(kept)}


@pytest.fixture
def neighbours(account, dag, monkeypatch) -> dict[str, str]:
    """Clusters other roles started in the account, by what they are: each has the DAG id, run
    id and cluster name of this repository's dev run, or its name."""
    dev = request_in("dev", dag, monkeypatch)
    ours = emr.name_prefix("dev")
    requests = {
        "staging of this repository": request_in("staging", dag, monkeypatch),
        # What every repository baked with the same owner tagged before the team was the package.
        "same owner, tagged as before": retagged(
            dev, f"{DAG_ID}.e2e", team=TEAM, environment=None, **{MANAGED_POLICY_TAG: None}
        ),
        "another team's dev": retagged(dev, f"{OTHER_TEAM}/dev/{DAG_ID}.e2e", team=OTHER_TEAM),
        "untagged, named like ours": {**dev, "Name": f"{ours}{DAG_ID}.e2e", "Tags": []},
        "untagged": {**dev, "Name": "adhoc", "Tags": []},
    }
    return {what: account.emr.run_job_flow(**r)["JobFlowId"] for what, r in requests.items()}


def states(client, ids) -> dict[str, str]:
    return {i: client.describe_cluster(ClusterId=i)["Cluster"]["Status"]["State"] for i in ids}


@pytest.mark.parametrize("create_retried", [False, True], ids=["", "create-retried"])
def test_a_run_starts_and_ends_only_its_own_cluster(
    dag, account, neighbours, monkeypatch, create_retried
):
    end_steps_in(monkeypatch, "COMPLETED")
    if create_retried:  # RunJobFlow went through, then the try failed: the next one adopts
        link = provider_emr.get_log_uri
        failures = [ConnectionError("DescribeCluster for the log link: connection lost")]

        def link_fails_once(**kwargs):
            if failures:
                raise failures.pop()
            return link(**kwargs)

        monkeypatch.setattr(provider_emr, "get_log_uri", link_fails_once)
    with enforced(monkeypatch, account.runtime_policy("dev")) as dev:
        dag_run = run(dag)

    assert dag_run.state == "success", task_states(dag_run)
    assert dev.refused == [], "the run reached for a cluster its role may not touch"
    clusters = account.emr.list_clusters()["Clusters"]
    [own] = [cluster["Id"] for cluster in clusters if cluster["Id"] not in neighbours.values()]
    tags = emr.tag_dict(account.emr.describe_cluster(ClusterId=own)["Cluster"]["Tags"])
    assert (tags["team"], tags["environment"], tags["airflow_run_id"]) == (PACKAGE, "dev", RUN_ID)
    assert states(account.emr, [own]) == {own: "TERMINATED"}
    waiting = {neighbours[what]: "WAITING" for what in neighbours}
    assert states(account.emr, neighbours.values()) == waiting, neighbours


def test_a_janitor_sweeps_only_its_teams_clusters_of_its_environment(
    account, neighbours, dag, monkeypatch
):
    """Every run is over as far as each Airflow knows: each janitor ends its own orphan only."""
    dev_orphan = account.emr.run_job_flow(**request_in("dev", dag, monkeypatch))["JobFlowId"]
    sweep = {"run_is_active": lambda dag_id, run_id: False, "now": LOGICAL_DATE, "dry_run": False}
    sweep["max_age"] = LOGICAL_DATE - LOGICAL_DATE.subtract(days=1)

    with enforced(monkeypatch, account.runtime_policy("dev")) as dev:
        [ended] = janitor.sweep(account.emr, environment="dev", **sweep)
    assert ended["cluster_id"] == dev_orphan
    # Named like the team's, so described: the role may not, and the janitor moves on.
    spoof = neighbours["untagged, named like ours"]
    assert dev.refused == [
        f"DescribeCluster: elasticmapreduce:DescribeCluster on {cluster_arn(REGION, spoof)}: "
        "denied: statement 'UseOnlyThisTeamsClustersOfThisEnvironment' needs StringEquals "
        "aws:ResourceTag/team ['" + PACKAGE + "'] (request: missing); statement "
        "'UseOnlyThisTeamsClustersOfThisEnvironment' needs StringEquals "
        "aws:ResourceTag/environment ['dev'] (request: missing)"
    ]
    describes = [call for call in dev.calls if call.operation == "DescribeCluster"]
    assert len(describes) == 2, "only clusters named like the team's in dev are described"

    staging = neighbours["staging of this repository"]
    with enforced(monkeypatch, account.runtime_policy("staging")) as staging_janitor:
        [ended] = janitor.sweep(account.emr, environment="staging", **sweep)
    assert ended["cluster_id"] == staging
    assert staging_janitor.refused == []
    left = [neighbours[what] for what in neighbours if neighbours[what] != staging]
    assert set(states(account.emr, left).values()) == {"WAITING"}


def test_a_timed_out_runs_failure_callback_ends_its_clusters_only(
    account, neighbours, dag, monkeypatch
):
    """What the DAG processor runs when the scheduler fails a run on its dagrun_timeout, with
    the runtime policy: every cluster of the run up ends, no other."""
    own = account.emr.run_job_flow(**request_in("dev", dag, monkeypatch))["JobFlowId"]
    assert emr.end_clusters in dag.on_failure_callback
    with enforced(monkeypatch, account.runtime_policy("dev")) as processor:
        emr.end_clusters({"dag": dag, "run_id": RUN_ID, "reason": "timed_out"})

    spoof = cluster_arn(REGION, neighbours["untagged, named like ours"])
    assert [refused for refused in processor.refused if spoof not in refused] == []
    assert states(account.emr, [own]) == {own: "TERMINATED"}
    assert set(states(account.emr, neighbours.values()).values()) == {"WAITING"}


# What a worker role could try with clusters that are not its own, and what it needs itself.
EXPECTED = {
    "start tagged for this team and environment": True,
    "start tagged for staging": False,
    "start without the managed-policy tag": False,
    "tag a cluster as it starts": True,
    "tag an untagged cluster as ours": False,
    "tag another team's cluster as ours": False,
    "remove a tag from our cluster": False,
    "terminate our cluster": True,
    "terminate staging's cluster": False,
    "add a step to another team's cluster": False,
    "add a step to an untagged cluster": False,
    "pass this environment's instance role to EMR": True,
    "pass this environment's instance role to EC2": False,
    "pass staging's instance role to EMR": False,
}


def test_the_runtime_policy_enforces_the_identity(account):
    ours = {"team": PACKAGE, "environment": "dev"}
    tags = [{"Key": key, "Value": value} for key, value in ours.items()]

    def on(cluster_tags: dict[str, str]) -> dict[str, str]:
        return {f"aws:ResourceTag/{key}": value for key, value in cluster_tags.items()}

    def run_job_flow(*cluster_tags: dict[str, str]) -> Request:
        return Request("elasticmapreduce:RunJobFlow", "*", request_tags(list(cluster_tags)))

    cluster = cluster_arn(REGION, "j-0123456789ABC")
    role = f"arn:{role_partition(REGION)}:iam::{ACCOUNT}:role/"
    to_emr = {"iam:PassedToService": "elasticmapreduce.amazonaws.com"}
    requests = {
        "start tagged for this team and environment": run_job_flow(*tags, MANAGED),
        "start tagged for staging": run_job_flow(
            tags[0], {"Key": "environment", "Value": "staging"}, MANAGED
        ),
        "start without the managed-policy tag": run_job_flow(*tags),
        "tag a cluster as it starts": Request(
            "elasticmapreduce:AddTags", cluster_arn(REGION, "*"), request_tags([*tags, MANAGED])
        ),
        "tag an untagged cluster as ours": Request(
            "elasticmapreduce:AddTags", cluster, request_tags([*tags, MANAGED])
        ),
        "tag another team's cluster as ours": Request(
            "elasticmapreduce:AddTags",
            cluster,
            request_tags([*tags, MANAGED]) | on({"team": OTHER_TEAM, "environment": "dev"}),
        ),
        "remove a tag from our cluster": Request(
            "elasticmapreduce:RemoveTags", cluster, on(ours) | {"aws:TagKeys": ["environment"]}
        ),
        "terminate our cluster": Request("elasticmapreduce:TerminateJobFlows", cluster, on(ours)),
        "terminate staging's cluster": Request(
            "elasticmapreduce:TerminateJobFlows", cluster, on(ours | {"environment": "staging"})
        ),
        "add a step to another team's cluster": Request(
            "elasticmapreduce:AddJobFlowSteps", cluster, on(ours | {"team": OTHER_TEAM})
        ),
        "add a step to an untagged cluster": Request("elasticmapreduce:AddJobFlowSteps", cluster),
        "pass this environment's instance role to EMR": Request(
            "iam:PassRole", role + load_settings("dev").EMR_INSTANCE_PROFILE, to_emr
        ),
        "pass this environment's instance role to EC2": Request(
            "iam:PassRole",
            role + load_settings("dev").EMR_INSTANCE_PROFILE,
            {"iam:PassedToService": "ec2.amazonaws.com"},
        ),
        "pass staging's instance role to EMR": Request(
            "iam:PassRole", role + load_settings("staging").EMR_INSTANCE_PROFILE, to_emr
        ),
    }
    policy = account.runtime_policy("dev")
    decisions = dict(zip(requests, evaluate(policy, requests.values()), strict=True))
    assert {what: decision.allowed for what, decision in decisions.items()} == EXPECTED


def tag_managed(ec2, *resource_ids: str) -> None:
    ec2.create_tags(Resources=list(resource_ids), Tags=[MANAGED])


def test_clusters_start_under_amazon_emr_service_policy_v2(account, dag, monkeypatch, stack_repo):
    """What EMR does with the service role to start the run's cluster, against AWS's own
    AmazonEMRServicePolicy_v2 (as moto ships it) and the stack's addition to it."""
    # dev names no network, whatever its file says: clusters start in a default subnet of the
    # default VPC, which nobody tagged.
    default_network = {"EMR_SUBNET_IDS": [], "EMR_SECURITY_GROUPS": {}}
    change_settings(stack_repo, "dev", **default_network)
    request = request_in("dev", dag, monkeypatch, **default_network)
    service_role = f"arn:{role_partition(REGION)}:iam::{ACCOUNT}:role/" + request["ServiceRole"]

    def refused() -> list[str]:
        needed = emr_service_requests(request, account.ec2, REGION)
        decisions = evaluate(account.service_role_policies("dev"), needed, caller=service_role)
        return [str(decision) for decision in decisions if not decision.allowed]

    subnets = account.ec2.describe_subnets(
        Filters=[{"Name": "default-for-az", "Values": ["true"]}]
    )["Subnets"]
    untagged = [subnet["SubnetId"] for subnet in subnets] + [subnets[0]["VpcId"]]
    assert any("'CreateInTaggedNetwork' needs StringEquals" in why for why in refused())
    with pytest.raises(BadInput, match=r"EMR clusters of dev cannot start: .*tag them: aws ec2"):
        infra.check_emr_network("dev", account.ec2, stack_repo)
    assert infra.untagged_emr_network("dev", account.ec2, stack_repo) == untagged

    tag_managed(account.ec2, *untagged)
    assert refused() == []
    infra.check_emr_network("dev", account.ec2, stack_repo)


def test_make_infra_names_the_untagged_subnets_and_security_groups(account, stack_repo):
    ec2 = account.ec2
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.1.1.0/24")["Subnet"]["SubnetId"]
    groups = [
        ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc)["GroupId"]
        for name in ("primary", "core")
    ]
    tag_managed(ec2, subnet, groups[0])
    security_groups = {
        "EmrManagedMasterSecurityGroup": groups[0],
        "EmrManagedSlaveSecurityGroup": groups[1],
    }
    change_settings(stack_repo, "dev", EMR_SUBNET_IDS=[subnet], EMR_SECURITY_GROUPS=security_groups)

    # EMR creates no security group here, so the VPC needs no tag.
    assert infra.untagged_emr_network("dev", ec2, stack_repo) == [groups[1]]
    change_settings(stack_repo, "dev", EMR_SUBNET_IDS=["subnet-0000000000000000f"])
    with pytest.raises(BadInput, match=r"environments/dev\.json: EMR_SUBNET_IDS or EMR_SECU"):
        infra.check_emr_network("dev", ec2, stack_repo)


def test_the_calls_of_a_run_and_a_sweep_do_not_grow_with_other_clusters(dags_folder, monkeypatch):
    """make bench-emr: only ListClusters, one page per 50 clusters up in the region, grows."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    counts = []
    for foreign in (0, 60):
        with mock_aws():
            counts.append(measure(foreign, dags_folder, monkeypatch))
    [(alone_run, alone_sweep), (crowded_run, crowded_sweep)] = counts
    assert crowded_run == alone_run
    pages = {"emr ListClusters": 0}
    assert crowded_sweep | pages == alone_sweep | pages
    assert (alone_sweep["emr ListClusters"], crowded_sweep["emr ListClusters"]) == (1, 2)
