"""Bakes: defaults, each non-default option value, awkward answers; no template debris left."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import TEMPLATE, bake

# A cookiecutter marker anywhere outside .scaffold/ (which is itself a template) is a bug.
MARKER = re.compile(r"\{\{-?\s*cookiecutter\b|\{%-?\s*(raw|endraw|if|elif|else|endif|for|set)\b")
SCAFFOLD = ".scaffold"

# Airflow templates and Actions expressions that must come out of the bake verbatim.
EXPRESSIONS = {
    "dags/{package}/settings.py": ["{{ config.DATA_BUCKET }}", "{{ config.NAME }}"],
    "dags/{package}/release.py": ['TEMPLATE = "{{ release() }}"'],
    "dags/{package}/apps/k8s_example/k8s_example_dag.py": [
        '"{{ config.DATA_BUCKET }}/landing/orders/{{ ds }}"',
        '"--date": "{{ ds }}"',
    ],
    "dags/{package}/apps/hybrid_example/hybrid_example_dag.py": ['"--date": "{{ ds }}"'],
    "dags/{package}/apps/hybrid_example/job_configs/preprocess.json": [
        '"{{ config.DATA_BUCKET }}/landing/orders_raw/{{ ds }}"',
    ],
    ".github/workflows/ci.yml": ["${{ github.workflow }}-${{ github.ref }}"],
    ".github/workflows/deploy.yml": [
        "${{ vars.AWS_ROLE_ARN }}",
        "${{ vars.AIRFLOW_URL }}",
        "${{ secrets.AIRFLOW_PASSWORD }}",
    ],
    ".github/actions/deploy/action.yml": [
        "${{ inputs.environment }}",
        "${{ github.sha }}",
        "${{ steps.settings.outputs.aws_region }}",
        "${{ inputs.airflow-password }}",
    ],
    "dags/{package}/apps/spark_example/job_configs/daily_event_counts.json": [
        '"{{ config.DEPLOYMENT_BUCKET }}/{{ release() }}/spark_example/daily_event_counts.py"',
        '"--date": "{{ ds }}"',
        '"{{ config.DATA_BUCKET }}/landing/events/{{ ds }}"',
    ],
    "dags/{package}/apps/spark_example/cluster_configs/spark_example.json": [
        '"{{ config.DATA_BUCKET }}/emr-logs/"',
    ],
}


def text_files(repo: Path):
    for path in sorted(repo.rglob("*")):
        if path.is_file() and ".git" not in path.relative_to(repo).parts:
            try:
                yield path, path.read_text()
            except UnicodeDecodeError:
                continue


def assert_no_markers(repo: Path) -> None:
    leftovers = []
    for path in repo.rglob("*"):
        relative = path.relative_to(repo).as_posix()
        if relative.startswith(SCAFFOLD) or ".git/" in relative + "/":
            continue
        if "{{" in relative or "}}" in relative or "cookiecutter" in relative:
            leftovers.append(f"path: {relative}")
    for path, text in text_files(repo):
        relative = path.relative_to(repo).as_posix()
        if relative.startswith(SCAFFOLD) or relative == ".cruft.json":
            continue
        leftovers += [f"{relative}: {m.group(0)!r}" for m in MARKER.finditer(text)]
    assert not leftovers, "cookiecutter markers survived the bake:\n" + "\n".join(leftovers)


def test_default_bake_layout(default_repo):
    package = "data_pipelines"
    assert default_repo.name == "data-pipelines"
    for relative in (
        "README.md",
        "Makefile",
        "pyproject.toml",
        "uv.lock",
        "tox.ini",
        ".pre-commit-config.yaml",
        ".gitignore",
        ".gitattributes",
        ".cruft.json",
        f"dags/{package}/__init__.py",
        f"dags/{package}/settings.py",
        f"dags/{package}/.airflowignore",
        f"dags/{package}/environments/dev.json",
        f"dags/{package}/environments/staging.json",
        f"dags/{package}/environments/prod.json",
        "jobs",
        "tests",
    ):
        assert (default_repo / relative).exists(), relative


def test_default_bake_has_no_markers_and_keeps_expressions(default_repo):
    assert_no_markers(default_repo)
    for relative, expressions in EXPRESSIONS.items():
        text = (default_repo / relative.format(package="data_pipelines")).read_text()
        for expression in expressions:
            assert expression in text, f"{expression} missing from {relative}"


def test_only_the_release_module_spells_the_release_variable(default_repo):
    """Everything else says `release()` or imports the name: a deploy never mixes releases."""
    spelled = [
        path.relative_to(default_repo).as_posix()
        for path, text in text_files(default_repo)
        if "data_pipelines_docker_tag" in text
    ]
    assert spelled == ["dags/data_pipelines/release.py"]


def test_environment_settings_carry_the_answers(tmp_path):
    repo = bake(
        tmp_path,
        project_name="Lake",
        aws_region="us-east-2",
        data_bucket="s3://lake-data/raw",
        k8s_namespace="lake-jobs",
    )
    prod = json.loads((repo / "dags/lake/environments/prod.json").read_text())
    assert prod["AWS_REGION"] == "us-east-2"
    assert prod["DATA_BUCKET"] == "s3://lake-data/raw/prod"
    assert prod["DEPLOYMENT_BUCKET"] == "s3://lake-deployment/prod"
    assert prod["IMAGE_REGISTRY"] == "123456789012.dkr.ecr.us-east-2.amazonaws.com/lake/prod"
    assert prod["EMR_SERVICE_ROLE"] == "lake-prod-emr-service"
    assert prod["K8S_NAMESPACE"] == "lake-jobs"


@pytest.mark.parametrize("api", ["airflow", "mwaa"])
def test_kubernetes_settings_follow_how_airflow_reaches_the_cluster(tmp_path, api):
    """In the cluster: in-cluster config, the workers' and the triggerer's service accounts are
    the RBAC subjects. MWAA: the AWS connection to an EKS cluster, the MWAA role mapped to a
    group."""
    repo = bake(tmp_path, airflow_api=api)
    for env in ("dev", "staging", "prod"):
        settings = json.loads((repo / f"dags/data_pipelines/environments/{env}.json").read_text())
        assert settings["K8S_SERVICE_ACCOUNT"] == "jobs"
        assert settings["K8S_SERVICE_ACCOUNT_ROLE_ARN"] == (
            f"arn:aws:iam::123456789012:role/data-pipelines-{env}-jobs"
        )
        assert settings["K8S_IN_CLUSTER"] is (api == "airflow")
        assert settings["K8S_EKS_CLUSTER"] == ("data-pipelines" if api == "mwaa" else None)
        subjects = settings["K8S_AIRFLOW_SUBJECTS"]
        if api == "mwaa":  # MWAA's execution role, every component's, mapped to a group
            assert [subject["kind"] for subject in subjects] == ["Group"]
        else:  # the workers, and the triggerer for deferrable waits
            assert [subject["name"] for subject in subjects] == [
                "airflow-worker",
                "airflow-triggerer",
            ]


def test_cruft_record_can_drive_cruft_update(default_repo):
    record = json.loads((default_repo / ".cruft.json").read_text())
    assert Path(record["template"]) == TEMPLATE
    assert record["context"]["cookiecutter"]["package"] == "data_pipelines"
    assert set(record) >= {"template", "commit", "checkout", "context", "directory", "skip"}


@pytest.mark.parametrize(
    "answers",
    [
        {"airflow_api": "mwaa"},
        {"dags_target": "none"},
        {"example_apps": "no"},
    ],
    ids=lambda answers: "-".join(f"{k}={v}" for k, v in answers.items()),
)
def test_each_non_default_option_bakes(tmp_path, answers):
    repo = bake(tmp_path, **answers)
    assert_no_markers(repo)
    recorded = json.loads((repo / ".cruft.json").read_text())["context"]["cookiecutter"]
    assert recorded.items() >= answers.items()


def test_example_apps_no_leaves_empty_app_and_job_folders(tmp_path):
    repo = bake(tmp_path, example_apps="no")
    apps = repo / "dags/data_pipelines/apps"
    assert apps.is_dir()
    assert [p.name for p in apps.iterdir() if p.is_dir()] == []
    assert [p.name for p in (repo / "jobs").iterdir() if p.is_dir()] == []


@pytest.mark.parametrize(
    ("project_name", "project", "package"),
    [
        ("Données Équipe Été", "donnees-equipe-ete", "donnees_equipe_ete"),
        (
            'Le "Big" Lake\'s \'\'\' \\ """ pipelines',
            "le-big-lake-s-pipelines",
            "le_big_lake_s_pipelines",
        ),
        (
            "A Very Long Project Name For The Customer Analytics And Recommendation Platform",
            "a-very-long-project-name-for-the",
            "a_very_long_project_name_for_the",
        ),
    ],
)
def test_awkward_names_bake(tmp_path, project_name, project, package):
    repo = bake(tmp_path, project_name=project_name)
    assert repo.name == project
    assert (repo / "dags" / package / "settings.py").exists()
    assert_no_markers(repo)
    assert project_name in (repo / "README.md").read_text()
