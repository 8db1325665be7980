import json

import boto3
import pytest

from scripts.deploy import DeployError
from scripts.deploy.artifacts import check_release_complete, image_digests, upload_release
from tests.deploy.support import EARLIER_RELEASE, REGISTRY, RELEASE


@pytest.fixture
def s3(aws):
    client = boto3.client("s3", region_name="eu-west-1")
    client.create_bucket(
        Bucket="team-deployment", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    return client


def keys(s3) -> list[str]:
    return [item["Key"] for item in s3.list_objects_v2(Bucket="team-deployment")["Contents"]]


def test_scripts_land_under_the_release_then_the_manifest(tree, s3, environment):
    images = {f"{REGISTRY}/recommend-train:{RELEASE}": "sha256:" + "1" * 64}
    uploaded = upload_release(environment, RELEASE, s3, tree, images)
    assert uploaded == [
        f"dev/{RELEASE}/recommend/prepare.py",
        f"dev/{RELEASE}/report/aggregate.py",
        f"dev/{RELEASE}/release.json",
    ]
    assert uploaded[-1] == f"dev/{RELEASE}/release.json", "the manifest is written last"
    body = s3.get_object(Bucket="team-deployment", Key=uploaded[0])["Body"].read()
    assert body == (tree / "jobs/recommend/spark/prepare.py").read_bytes()
    manifest = json.loads(s3.get_object(Bucket="team-deployment", Key=uploaded[-1])["Body"].read())
    assert manifest == {
        "release": RELEASE,
        "environment": "dev",
        "images": images,
        "scripts": ["recommend/prepare.py", "report/aggregate.py"],
    }


def test_a_new_release_keeps_the_earlier_ones(tree, s3, environment):
    upload_release(environment, EARLIER_RELEASE, s3, tree)
    upload_release(environment, RELEASE, s3, tree)
    assert {key.split("/")[1] for key in keys(s3)} == {EARLIER_RELEASE, RELEASE}
    check_release_complete(environment, EARLIER_RELEASE, s3)


def test_a_release_never_uploaded_is_refused(tree, s3, environment):
    upload_release(environment, RELEASE, s3, tree)
    with pytest.raises(DeployError, match=f"{EARLIER_RELEASE} was never deployed to dev"):
        check_release_complete(environment, EARLIER_RELEASE, s3)


def test_a_repository_without_spark_scripts_still_records_its_release(tmp_path, s3, environment):
    assert upload_release(environment, RELEASE, s3, tmp_path) == [f"dev/{RELEASE}/release.json"]
    check_release_complete(environment, RELEASE, s3)


def test_a_release_missing_a_script_is_refused_in_one_line(tree, s3, environment):
    upload_release(environment, RELEASE, s3, tree)
    s3.delete_object(Bucket="team-deployment", Key=f"dev/{RELEASE}/report/aggregate.py")
    with pytest.raises(DeployError) as error:
        check_release_complete(environment, RELEASE, s3)
    assert str(error.value).startswith(
        f"release {RELEASE} can no longer run in dev: "
        f"s3://team-deployment/dev/{RELEASE}/report/aggregate.py gone"
    )


def test_the_manifest_records_each_images_digest_in_the_registry(tree, environment, fake_docker):
    reference = f"{REGISTRY}/recommend-train:{RELEASE}"
    with pytest.raises(DeployError, match=f"{reference} is not in dev's registry: push or promote"):
        image_digests(environment, RELEASE, tree)
    fake_docker.registry.write_text(
        json.dumps(
            {
                reference: "sha256:" + "1" * 64,
                reference.replace("recommend-train", "report-publish"): "sha256:" + "2" * 64,
            }
        )
    )
    assert image_digests(environment, RELEASE, tree) == {
        reference: "sha256:" + "1" * 64,
        f"{REGISTRY}/report-publish:{RELEASE}": "sha256:" + "2" * 64,
    }
