"""The hooks' functions, imported as modules (their Jinja line is a plain string until baked)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from conftest import TEMPLATE


def load_hook(name: str, folder: str = "hooks"):
    spec = importlib.util.spec_from_file_location(name, TEMPLATE / folder / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


pre_gen = load_hook("pre_gen_project")
post_gen = load_hook("post_gen_project")
extensions = load_hook("local_extensions", folder=".")

VALID = {
    "project_name": "Data Pipelines",
    "project": "data-pipelines",
    "package": "data_pipelines",
    "owner": "data-team",
    "aws_region": "eu-west-1",
    "deployment_bucket": "s3://data-pipelines-deployment",
    "data_bucket": "s3://data-pipelines-data/intermediate",
    "image_registry": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/data-pipelines",
    "k8s_namespace": "data-pipelines",
    "airflow_api": "airflow",
    "dags_target": "s3",
    "example_apps": "yes",
}


def validate(answers: dict) -> None:
    """As in a bake: cookiecutter.json derives the partition from the region first."""
    partition = extensions.partition_of(answers["aws_region"])
    pre_gen.validate(answers | {"__aws_partition": partition})


def test_valid_answers_pass():
    validate(VALID)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("project_name", ""),
        ("project_name", "two\nlines"),
        ("project", "Data Pipelines"),
        ("project", "-leading-dash"),
        ("package", "data-pipelines"),
        ("package", "class"),
        ("package", "match"),
        ("package", "json"),
        ("package", "airflow"),
        ("package", "a" * 33),
        ("owner", "Data Team"),
        ("owner", "data.team."),
        ("owner", "t" * 64),
        ("owner", "data-team "),
        ("aws_region", "europe"),
        ("aws_region", "eu-west"),
        ("aws_region", "xx-west-1"),
        ("aws_region", "us-iso-east-1"),
        ("aws_region", "us-isob-east-1"),
        ("aws_region", "eu-isoe-west-1"),
        ("aws_region", "us-isof-south-1"),
        ("aws_region", " eu-west-1"),
        ("package", "type"),
        ("package", "case"),
        ("deployment_bucket", "my-bucket"),
        ("deployment_bucket", "s3://My_Bucket"),
        ("deployment_bucket", "s3://bucket/prefix/"),
        ("data_bucket", "s3://192.168.1.1"),
        ("data_bucket", "s3://xn--bucket"),
        ("image_registry", "registry"),
        ("image_registry", "ghcr.io/Team"),
        ("image_registry", "registry:99999/team"),
        ("image_registry", "registry:/team"),
        ("k8s_namespace", "Team_NS"),
        ("k8s_namespace", "n" * 64),
        ("example_apps", "maybe"),
    ],
)
def test_bad_answer_names_key_value_and_rule(key, value):
    with pytest.raises(pre_gen.InvalidAnswer) as raised:
        validate(VALID | {key: value})
    message = str(raised.value)
    assert f"'{key}'" in message and repr(value) in message and "(" in message


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("image_registry", "localhost:5000"),
        ("image_registry", "registry.example.com:5000/team/images"),
        ("deployment_bucket", "s3://a.b-c/x/y_z"),
        ("image_registry", "registry:5000/team"),
        ("image_registry", "registry.example.com"),
        ("owner", "DataTeam"),
        ("owner", "data.team"),
        ("owner", "Data_Team-2"),
        ("aws_region", "us-gov-west-1"),
        ("aws_region", "cn-north-1"),
        ("aws_region", "cn-northwest-1"),
        ("aws_region", "eusc-de-east-1"),
        ("aws_region", "ap-southeast-7"),
        ("aws_region", "mx-central-1"),
        ("project_name", "  Padded name "),
        ("project_name", 'Données d\'équipe "quoted" \'\'\' \\ """'),
    ],
)
def test_unusual_but_valid_answers_pass(key, value):
    validate(VALID | {key: value})


def test_mwaa_needs_dags_in_s3():
    with pytest.raises(pre_gen.InvalidAnswer, match=r"'dags_target'.*MWAA reads DAGs only from S3"):
        validate(VALID | {"airflow_api": "mwaa", "dags_target": "none"})
    validate(VALID | {"airflow_api": "mwaa", "dags_target": "s3"})


def test_missing_answer_is_named():
    with pytest.raises(pre_gen.InvalidAnswer, match=r"'owner'.*required"):
        pre_gen.validate({k: v for k, v in VALID.items() if k != "owner"})


def test_remove_disabled_deletes_only_what_the_option_turns_off(tmp_path):
    for relative in ("tests/deploy/test_release_tag.py", "tests/deploy/test_cli.py"):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("")
    assert post_gen.remove_disabled(VALID, tmp_path) == []
    removed = post_gen.remove_disabled(VALID | {"example_apps": "no"}, tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in removed] == [
        "tests/deploy/test_release_tag.py"
    ]
    assert (tmp_path / "tests/deploy/test_cli.py").exists()


def test_cruft_record_keeps_answers_and_skips_team_folders():
    answers = VALID | {"_template": "/t", "_output_dir": "/o", "_repo_dir": "/t", "__x": "y"}
    record = post_gen.cruft_record(answers, "/t", "abc123")
    assert record["template"] == "/t" and record["commit"] == "abc123"
    context = record["context"]["cookiecutter"]
    assert context["package"] == "data_pipelines" and context["_template"] == "/t"
    assert "_output_dir" not in context and "__x" not in context
    assert "dags/data_pipelines/apps" in record["skip"] and "jobs" in record["skip"]


def test_template_source_expands_github_shorthand():
    template, _ = post_gen.template_source(
        {"_template": "gh:org/hybrid-airflow", "_repo_dir": "/nowhere"}
    )
    assert template == "https://github.com/org/hybrid-airflow"


def test_template_source_records_local_path_and_commit():
    template, commit = post_gen.template_source(
        {"_template": str(TEMPLATE), "_repo_dir": str(TEMPLATE)}
    )
    assert Path(template) == TEMPLATE
    assert commit is None or len(commit) == 40


def test_template_source_under_cruft_is_crufts_own():
    """cruft renders with `_template` and `_commit` and without cookiecutter's `_repo_dir`."""
    answers = {"_template": "https://example.com/t.git", "_commit": "a" * 40}
    assert post_gen.template_source(answers) == ("https://example.com/t.git", "a" * 40)
