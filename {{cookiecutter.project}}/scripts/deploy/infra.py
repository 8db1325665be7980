"""Create or update an environment's AWS stack from `infra/aws/environment.yaml`.

Every stack parameter comes from `dags/<package>/environments/<env>.json`, so bucket, registry
and role names are the ones Airflow and the deploy use. The update goes through a change set:
its changes are printed before it runs, and the stack's outputs after.
"""

from __future__ import annotations

import time
from pathlib import Path

from botocore.exceptions import ClientError, WaiterError

from scripts.deploy import BadInput, DeployError
from scripts.deploy.layout import PACKAGE, REPO, read_settings, split_s3_uri

PROJECT = "{{ cookiecutter.project }}"
TEMPLATE = Path("infra", "aws", "environment.yaml")
NO_CHANGES = ("didn't contain changes", "No updates are to be performed")
MANAGED_POLICY_TAG = "for-use-with-amazon-emr-managed-policies"


def stack_name(environment: str) -> str:
    return f"{PROJECT}-{environment}"


def stack_parameters(environment: str, root: Path = REPO) -> dict[str, str]:
    """The stack parameters of `environment`, from its settings file."""
    settings = read_settings(environment, root)
    where = f"environments/{environment}.json"
    infra = settings.get("INFRA")
    if not infra:
        raise BadInput(f"{where} has no INFRA settings: {environment} has no AWS stack")
    if not infra["GITHUB_REPOSITORY"]:
        raise BadInput(f"{where}: set INFRA.GITHUB_REPOSITORY to <owner>/<repository>")
    issuer = infra["EKS_OIDC_ISSUER"] or ""
    if issuer and not settings["K8S_SERVICE_ACCOUNT"]:
        raise BadInput(f"{where}: INFRA.EKS_OIDC_ISSUER needs K8S_SERVICE_ACCOUNT")
    registry_host, _, registry_path = settings["IMAGE_REGISTRY"].partition("/")
    if ".dkr.ecr." not in registry_host or not registry_path:
        raise BadInput(
            f"{where}: IMAGE_REGISTRY must be <account>.dkr.ecr.<region>.amazonaws.com/<path> "
            f"for the stack to create its repositories, got {settings['IMAGE_REGISTRY']!r}"
        )
    deployment_bucket, deployment_prefix = split_s3_uri(settings["DEPLOYMENT_BUCKET"])
    data_bucket, data_prefix = split_s3_uri(settings["DATA_BUCKET"])
    dags = split_s3_uri(infra["DAGS_S3_URI"]) if infra["DAGS_S3_URI"] else ("", "")
    return {
        "Project": PROJECT,
        "Package": PACKAGE,
        "Environment": environment,
        "GitHubRepository": infra["GITHUB_REPOSITORY"],
        "CreateBuckets": str(infra["CREATE_BUCKETS"]).lower(),
        "DeploymentBucket": deployment_bucket,
        "DeploymentPrefix": deployment_prefix,
        "DataBucket": data_bucket,
        "DataPrefix": data_prefix,
        "DagsBucket": dags[0],
        "DagsPrefix": dags[1],
        "MwaaEnvironment": infra["MWAA_ENVIRONMENT"] or "",
        "RegistryPath": registry_path,
        # Images are promoted by digest from the previous environment's repositories.
        "TeamRegistryPath": registry_path.removesuffix(f"/{environment}"),
        "EmrServiceRoleName": settings["EMR_SERVICE_ROLE"],
        "EmrInstanceProfileName": settings["EMR_INSTANCE_PROFILE"],
        "EksOidcIssuer": issuer,
        "K8sNamespace": settings["K8S_NAMESPACE"],
        "K8sServiceAccount": settings["K8S_SERVICE_ACCOUNT"] or "",
    }


def untagged_emr_network(environment: str, ec2, root: Path = REPO) -> list[str]:
    """The subnets, security groups and VPCs the environment's clusters start in that lack the
    tag AWS's AmazonEMRServicePolicy_v2 needs: it acts only on tagged resources. The stack
    creates none of them, so they are checked here (EMR itself tags what it creates)."""
    settings = read_settings(environment, root)
    where = f"environments/{environment}.json"
    try:
        if settings["EMR_SUBNET_IDS"]:
            subnets = ec2.describe_subnets(SubnetIds=settings["EMR_SUBNET_IDS"])["Subnets"]
        else:  # EMR starts clusters in a default subnet of the default VPC
            default = [{"Name": "default-for-az", "Values": ["true"]}]
            subnets = ec2.describe_subnets(Filters=default)["Subnets"]
        groups = settings["EMR_SECURITY_GROUPS"]
        group_ids = [group for value in groups.values() for group in _listed(value)]
        found = (
            ec2.describe_security_groups(GroupIds=group_ids)["SecurityGroups"] if group_ids else []
        )
    except ClientError as error:
        raise BadInput(f"{where}: EMR_SUBNET_IDS or EMR_SECURITY_GROUPS: {error}") from None
    if not subnets:
        raise BadInput(f"{where}: set EMR_SUBNET_IDS: {settings['AWS_REGION']} has no default VPC")
    resources = {subnet["SubnetId"]: subnet for subnet in subnets} | {
        group["GroupId"]: group for group in found
    }
    if not {"EmrManagedMasterSecurityGroup", "EmrManagedSlaveSecurityGroup"} <= groups.keys():
        # EMR creates its managed security groups, in the subnets' VPC.
        vpc_ids = sorted({subnet["VpcId"] for subnet in subnets})
        resources |= {vpc["VpcId"]: vpc for vpc in ec2.describe_vpcs(VpcIds=vpc_ids)["Vpcs"]}
    return [
        resource_id
        for resource_id, resource in resources.items()
        if {"Key": MANAGED_POLICY_TAG, "Value": "true"} not in resource.get("Tags", [])
    ]


def _listed(value: str | list[str]) -> list[str]:
    return value if isinstance(value, list) else [value]


def check_emr_network(environment: str, ec2, root: Path = REPO) -> None:
    """Refuse, in one line, an environment whose clusters could not start."""
    untagged = untagged_emr_network(environment, ec2, root)
    if untagged:
        raise BadInput(
            f"EMR clusters of {environment} cannot start: AmazonEMRServicePolicy_v2 acts only "
            f"on resources tagged {MANAGED_POLICY_TAG}=true; tag them: aws ec2 create-tags "
            f"--resources {' '.join(untagged)} --tags Key={MANAGED_POLICY_TAG},Value=true"
        )


def stack_exists(cloudformation, name: str) -> bool:
    try:
        [stack] = cloudformation.describe_stacks(StackName=name)["Stacks"]
    except ClientError as error:
        if "does not exist" in str(error):
            return False
        raise
    # A first change set that was never executed leaves an empty stack behind.
    return stack["StackStatus"] != "REVIEW_IN_PROGRESS"


def deploy_stack(environment: str, cloudformation, root: Path = REPO) -> dict[str, str]:
    """Create or update the stack through a change set; returns the stack's outputs."""
    name = stack_name(environment)
    parameters = stack_parameters(environment, root)
    update = stack_exists(cloudformation, name)
    try:
        change_set = cloudformation.create_change_set(
            StackName=name,
            ChangeSetName=f"make-infra-{int(time.time())}",
            ChangeSetType="UPDATE" if update else "CREATE",
            TemplateBody=(root / TEMPLATE).read_text(),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
            Capabilities=["CAPABILITY_NAMED_IAM"],
            Tags=[{"Key": "team", "Value": PACKAGE}, {"Key": "environment", "Value": environment}],
        )["Id"]
    except ClientError as error:  # some endpoints refuse an unchanged stack at once
        if not any(text in str(error) for text in NO_CHANGES):
            raise
        print(f"{name}: no changes")
        return stack_outputs(cloudformation, name)
    try:
        cloudformation.get_waiter("change_set_create_complete").wait(ChangeSetName=change_set)
    except WaiterError:
        reason = cloudformation.describe_change_set(ChangeSetName=change_set)["StatusReason"]
        if any(text in reason for text in NO_CHANGES):
            cloudformation.delete_change_set(ChangeSetName=change_set)
            print(f"{name}: no changes")
            return stack_outputs(cloudformation, name)
        raise DeployError(f"{name}: change set failed: {reason}") from None
    print(f"{name}: {'update' if update else 'create'}")
    for change in cloudformation.describe_change_set(ChangeSetName=change_set)["Changes"]:
        resource = change["ResourceChange"]
        replacement = " (replacement)" if resource.get("Replacement") == "True" else ""
        print(
            f"  {resource['Action']:<6} {resource['LogicalResourceId']} "
            f"{resource['ResourceType']}{replacement}"
        )
    cloudformation.execute_change_set(ChangeSetName=change_set)
    waiter = "stack_update_complete" if update else "stack_create_complete"
    try:
        cloudformation.get_waiter(waiter).wait(StackName=name)
    except WaiterError as error:
        raise DeployError(f"{name}: {error} (see the stack's events in the console)") from None
    return stack_outputs(cloudformation, name)


def stack_outputs(cloudformation, name: str) -> dict[str, str]:
    [stack] = cloudformation.describe_stacks(StackName=name)["Stacks"]
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}
