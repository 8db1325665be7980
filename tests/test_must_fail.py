"""Bad answers stop the bake with one clear line and leave nothing behind."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import TEMPLATE

BAD_ANSWERS = [
    ("project", "My Project", "a slug"),
    ("package", "my-package", "Python identifier"),
    ("package", "import", "keyword"),
    ("package", "logging", "shadow"),
    ("package", "airflow", "shadow"),
    ("package", "celery", "shadow"),
    ("package", "redis", "shadow"),
    ("owner", "Data Team!", "Kubernetes label"),
    ("aws_region", "moon-base-1x", "AWS region"),
    ("deployment_bucket", "https://bucket", "S3 URI"),
    ("deployment_bucket", "s3://ab", "S3 URI"),
    ("data_bucket", "s3://Bad_Bucket/x", "S3 URI"),
    ("data_bucket", "s3://bucket/", "trailing slash"),
    ("image_registry", "not a registry", "registry host"),
    ("image_registry", "Registry.Example.com/team", "registry host"),
    ("k8s_namespace", "-team", "RFC 1123"),
    ("k8s_namespace", "team.ns", "RFC 1123"),
    ("k8s_namespace", "kube-system", "system namespace"),
    ("k8s_namespace", "default", "system namespace"),
    ("project_name", 'x"""; import os; os.system("touch PWNED"); """', None),
    ("package", 'x"""\nimport os\n"""', "Python identifier"),
    ("owner", "team-", "Kubernetes label"),
    ("project_name", "!!!", "letter or digit"),
    ("package", "type", "soft keyword"),
    ("aws_region", "cn-north", "AWS region"),
    ("owner", " data-team", "whitespace"),
    ("data_bucket", "s3://bucket-x/../../..", "S3 URI"),
    ("airflow_api", "rest", "one of airflow, mwaa"),
    ("dags_target", "git", "one of s3, none"),
    ("example_apps", "maybe", "one of yes, no"),
]


def cookiecutter_cli(output_dir, **answers):
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "cookiecutter",
            "--no-input",
            str(TEMPLATE),
            "-o",
            str(output_dir),
            *(f"{key}={value}" for key, value in answers.items()),
        ],
        capture_output=True,
        text=True,
        cwd=output_dir,
    )


@pytest.mark.parametrize(
    ("key", "value", "rule"), BAD_ANSWERS, ids=[f"{k}={v!r}" for k, v, _ in BAD_ANSWERS]
)
def test_bad_answer_is_rejected_cleanly(tmp_path, key, value, rule):
    result = cookiecutter_cli(tmp_path, **{key: value})
    if rule is None:
        # A hostile answer that is still a valid project name must bake as plain text.
        assert result.returncode == 0, result.stderr
        assert not list(tmp_path.rglob("PWNED"))
        return
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR: ")]
    assert len(errors) == 1, result.stderr
    assert f"'{key}'" in errors[0] and repr(value) in errors[0] and rule in errors[0]
    assert list(tmp_path.iterdir()) == [], "a rejected bake left files behind"
