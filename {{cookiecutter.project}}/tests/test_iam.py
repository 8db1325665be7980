"""tests/iam.py: AWS's rules on the cases the stacks rely on, what a refusal says, and the
authorizations each call maps to."""

import pytest

from tests.iam import Call, Request, allows, denied, evaluate, policy_document, trust_allows

BUCKET = "arn:aws:s3:::deployment"
CLUSTER = "arn:aws:elasticmapreduce:eu-west-1:123456789012:cluster/"
TERMINATE = "elasticmapreduce:TerminateJobFlows"
TAG = "elasticmapreduce:AddTags"
POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": f"{BUCKET}/dev/*",
        },
        {
            "Sid": "ListDev",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": BUCKET,
            "Condition": {"StringLike": {"s3:prefix": "dev/*"}},
        },
        {
            "Sid": "OwnClusters",
            "Effect": "Allow",
            "Action": TERMINATE,
            "Resource": f"{CLUSTER}*",
            "Condition": {"StringEquals": {"aws:ResourceTag/team": "data"}},
        },
        {
            "Sid": "TagAsTheyStart",
            "Effect": "Allow",
            "Action": TAG,
            "Resource": CLUSTER + "${*}",
            "Condition": {
                "StringEquals": {"aws:RequestTag/team": "data"},
                "ForAllValues:StringEquals": {"aws:TagKeys": ["team", "app"]},
            },
        },
        {"Effect": "Deny", "Action": "s3:PutObject", "Resource": f"{BUCKET}/dev/locked/*"},
    ],
}


def tags(**values: str) -> dict:
    return {f"aws:RequestTag/{k}": v for k, v in values.items()} | {"aws:TagKeys": list(values)}


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
        (Request(TERMINATE, f"{CLUSTER}j-1", {"aws:ResourceTag/team": "data"}), True),
        (Request(TERMINATE, f"{CLUSTER}j-1", {"aws:ResourceTag/team": "other"}), False),
        # ${*} is a literal *: the cluster to be, never an existing one.
        (Request(TAG, f"{CLUSTER}*", tags(team="data", app="x")), True),
        (Request(TAG, f"{CLUSTER}j-1", tags(team="data", app="x")), False),
        # ForAllValues: every tag key sent must be listed.
        (Request(TAG, f"{CLUSTER}*", tags(team="data", owner="x")), False),
    ],
)
def test_iam_rules(request_, allowed):
    assert allows([POLICY], request_) is allowed


def test_a_refusal_names_the_statements_and_what_they_lack():
    [terminate, put, tag] = evaluate(
        [POLICY],
        [
            Request(TERMINATE, f"{CLUSTER}j-1", {"aws:ResourceTag/team": "other"}),
            Request("s3:PutObject", f"{BUCKET}/dev/locked/a.py"),
            Request(TAG, f"{CLUSTER}*", tags(team="other")),
        ],
    )
    assert terminate.reasons == (
        "statement 'OwnClusters' needs StringEquals aws:ResourceTag/team ['data'] (request: other)",
    )
    assert put.reasons == ("explicitly denied by an unnamed statement",)
    assert tag.reasons == (
        "statement 'TagAsTheyStart' needs StringEquals aws:RequestTag/team ['data'] "
        "(request: other)",
    )


def test_a_request_aws_cannot_make_is_an_error_not_a_refusal():
    with pytest.raises(ValueError, match="not a request AWS can make"):
        allows([POLICY], Request("elasticmapreduce:DescribeClustr", f"{CLUSTER}j-1"))


def test_a_trust_policy_decides_who_assumes_the_role():
    provider = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {"token.actions.githubusercontent.com:sub": "repo:a/b:x"}
                },
            }
        ],
    }
    role = "arn:aws:iam::123456789012:role/deploy"

    def claims(subject: str) -> Request:
        claim = {"token.actions.githubusercontent.com:sub": subject}
        return Request("sts:AssumeRoleWithWebIdentity", role, claim)

    assert trust_allows(trust, claims("repo:a/b:x"), provider)
    assert not trust_allows(trust, claims("repo:a/b:y"), provider)
    other = provider.replace("token.actions.githubusercontent.com", "gitlab.com")
    assert not trust_allows(trust, claims("repo:a/b:x"), other)


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
        f"DeleteObjects: s3:DeleteObject on {BUCKET}/dev/a: denied: no statement allows "
        f"s3:DeleteObject on {BUCKET}/dev/a",
        f"DeleteObjects: s3:DeleteObject on {BUCKET}/staging/b: denied: no statement allows "
        f"s3:DeleteObject on {BUCKET}/staging/b",
    ]
    with pytest.raises(ValueError, match="map s3 PutBucketPolicy"):
        denied([POLICY], [Call("s3", "PutBucketPolicy", {"Bucket": "b"}, "eu-west-1")])


def test_moto_stack_policies_read_as_aws_returns_them():
    assert policy_document(repr({"Statement": [{"Effect": "Allow"}, None]})) == {
        "Statement": [{"Effect": "Allow"}]
    }
