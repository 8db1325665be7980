"""The policy evaluator of tests/iam.py follows IAM's rules on the cases the stack relies on."""

import pytest

from tests.iam import Call, Request, allows, denied, policy_document

BUCKET = "arn:aws:s3:::deployment"
POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": f"{BUCKET}/dev/*",
        },
        {
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": BUCKET,
            "Condition": {"StringLike": {"s3:prefix": "dev/*"}},
        },
        {
            "Effect": "Allow",
            "Action": "elasticmapreduce:TerminateJobFlows",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:ResourceTag/team": "data"}},
        },
        {"Effect": "Deny", "Action": "s3:PutObject", "Resource": f"{BUCKET}/dev/locked/*"},
    ],
}
TERMINATE = "elasticmapreduce:TerminateJobFlows"


@pytest.mark.parametrize(
    ("request_", "allowed"),
    [
        (Request("s3:PutObject", f"{BUCKET}/dev/a/b.py"), True),
        (Request("S3:putobject", f"{BUCKET}/dev/a.py"), True),  # actions ignore case
        (Request("s3:PutObject", f"{BUCKET}/staging/a.py"), False),
        (Request("s3:PutObject", f"{BUCKET}/DEV/a.py"), False),  # resources do not
        (Request("s3:DeleteObject", f"{BUCKET}/dev/a.py"), False),
        (Request("s3:PutObject", f"{BUCKET}/dev/locked/a.py"), False),  # an explicit Deny wins
        (Request("s3:ListBucket", BUCKET, {"s3:prefix": "dev/abc/"}), True),
        (Request("s3:ListBucket", BUCKET, {"s3:prefix": "staging/"}), False),
        (Request("s3:ListBucket", BUCKET), False),  # a missing condition key fails
        (Request(TERMINATE, "arn:c/1", {"aws:ResourceTag/team": "data"}), True),
        (Request(TERMINATE, "arn:c/1", {"aws:ResourceTag/team": "other"}), False),
    ],
)
def test_iam_rules(request_, allowed):
    assert allows([POLICY], request_) is allowed


def test_an_unknown_condition_operator_is_an_error_not_a_pass():
    policy = {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "*",
                "Resource": "*",
                "Condition": {"DateLessThan": {"aws:CurrentTime": "2030-01-01"}},
            }
        ]
    }
    with pytest.raises(ValueError, match="DateLessThan"):
        allows([policy], Request("s3:GetObject", "*"))


def test_not_action_allows_everything_else():
    policy = {"Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]}
    assert allows([policy], Request("s3:GetObject", "*"))
    assert not allows([policy], Request("iam:PassRole", "*"))


def test_calls_map_to_their_authorizations():
    calls = [
        Call("s3", "ListObjectsV2", {"Bucket": "deployment", "Prefix": "dev/x/"}, "eu-west-1"),
        Call(
            "s3",
            "DeleteObjects",
            {
                "Bucket": "deployment",
                "Delete": {"Objects": [{"Key": "dev/a"}, {"Key": "staging/b"}]},
            },
            "eu-west-1",
        ),
        Call("elasticmapreduce", "TerminateJobFlows", {"JobFlowIds": ["j-1"]}, "eu-west-1"),
    ]
    assert denied([POLICY], calls, cluster_tags={"j-1": {"team": "data"}}) == [
        f"DeleteObjects: {Request('s3:DeleteObject', f'{BUCKET}/dev/a')}",
        f"DeleteObjects: {Request('s3:DeleteObject', f'{BUCKET}/staging/b')}",
    ]
    with pytest.raises(ValueError, match="map s3 PutBucketPolicy"):
        denied([POLICY], [Call("s3", "PutBucketPolicy", {"Bucket": "b"}, "eu-west-1")])


def test_moto_stack_policies_read_as_aws_returns_them():
    assert policy_document(repr({"Statement": [{"Effect": "Allow"}, None]})) == {
        "Statement": [{"Effect": "Allow"}]
    }
