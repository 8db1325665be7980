"""The environment's stack template (infra/aws/environment.yaml) declares what the code uses."""

from cfnlint.decode import decode

from scripts.deploy.infra import stack_parameters
from scripts.deploy.layout import REPO, container_jobs

TEMPLATE = REPO / "infra" / "aws" / "environment.yaml"


def stack_template() -> dict:
    template, problems = decode(str(TEMPLATE))
    assert not problems, problems
    return template


def resources_of_type(kind: str) -> dict:
    return {k: v for k, v in stack_template()["Resources"].items() if v["Type"] == kind}


def test_every_container_job_has_its_image_repository():
    repositories = {
        resource["Properties"]["RepositoryName"]["Fn::Sub"]
        for resource in resources_of_type("AWS::ECR::Repository").values()
    }
    missing = [
        f"jobs/{job.app}/{job.job}"
        for job in container_jobs()
        if "${RegistryPath}/" + job.image not in repositories
    ]
    assert not missing, (
        f"no AWS::ECR::Repository for {', '.join(missing)} in {TEMPLATE.relative_to(REPO)}: "
        "declare one as make new-app does (RepositoryName: !Sub ${RegistryPath}/<app>-<job>)"
    )


def test_repositories_keep_tags_immutable_and_scan_every_push():
    for name, repository in resources_of_type("AWS::ECR::Repository").items():
        properties = repository["Properties"]
        assert properties["ImageTagMutability"] == "IMMUTABLE", name
        assert properties["ImageScanningConfiguration"] == {"ScanOnPush": True}, name
        assert "LifecyclePolicy" not in properties, f"{name}: make infra sets it (retention.py)"


def test_every_stack_parameter_comes_from_the_settings(stack_repo):
    assert set(stack_parameters("dev", stack_repo)) == set(stack_template()["Parameters"])


def test_buckets_are_private_and_encrypted_and_their_lifecycle_is_left_to_each_environment():
    buckets = resources_of_type("AWS::S3::Bucket")
    assert set(buckets) == {"DeploymentBucketResource", "DataBucketResource"}
    for name, bucket in buckets.items():
        properties = bucket["Properties"]
        assert bucket["Condition"] == "CreateBuckets"
        assert set(properties["PublicAccessBlockConfiguration"].values()) == {True}
        [encryption] = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"]
        # Shared by environments: each one's make infra puts its own rules (retention.py).
        assert "LifecycleConfiguration" not in properties, name
    deployment = buckets["DeploymentBucketResource"]["Properties"]
    assert deployment["VersioningConfiguration"] == {"Status": "Enabled"}
