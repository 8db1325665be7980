"""The generated CI/CD for every airflow_api x dags_target answer: workflows that match GitHub's
schemas, zizmor-clean, in deploy order, with pinned actions; a stack granting named actions."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import bake

PACKAGE = "data_pipelines"
WORKFLOWS = (".github/workflows/ci.yml", ".github/workflows/deploy.yml")
ACTION = ".github/actions/deploy/action.yml"
DEPENDABOT = ".github/dependabot.yml"
ANSWERS = [
    {"airflow_api": api, "dags_target": target}
    for api in ("airflow", "mwaa")
    for target in ("s3", "none")
    if (api, target) != ("mwaa", "none")  # MWAA reads DAGs only from S3
]


@pytest.fixture(
    scope="module", params=ANSWERS, ids=lambda a: f"{a['airflow_api']}-{a['dags_target']}"
)
def baked(request, tmp_path_factory) -> tuple[Path, dict]:
    return bake(tmp_path_factory.mktemp("deploy"), **request.param), request.param


def tool(name: str) -> str:
    """A linter installed next to this Python (the tox env), else on PATH."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    assert found, f"{name} is not installed (tox run -e tests installs it)"
    return found


def lint(command: list[str], cwd: Path) -> None:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def load(repo: Path, relative: str) -> dict:
    return yaml.safe_load((repo / relative).read_text())


def test_workflows_match_githubs_schemas(baked):
    repo, _ = baked
    check = tool("check-jsonschema")
    lint([check, "--builtin-schema", "vendor.github-workflows", *WORKFLOWS], repo)
    lint([check, "--builtin-schema", "vendor.github-actions", ACTION], repo)


def test_zizmor_finds_nothing_of_medium_or_high_severity(baked):
    repo, _ = baked
    lint([tool("zizmor"), "--offline", "--min-severity", "medium", ".github"], repo)


def test_every_action_is_pinned_to_a_commit_with_its_version(baked):
    repo, _ = baked
    for relative in (*WORKFLOWS, ACTION):
        for line in (repo / relative).read_text().splitlines():
            uses = re.search(r"uses: (\S+)", line)
            if uses and not uses[1].startswith("./"):
                # owner/repository[/path of an action in it]@commit
                assert re.fullmatch(r"[\w.-]+/[\w.-]+(/[\w.-]+)*@[0-9a-f]{40}", uses[1]), line
                assert re.search(r"# v\d+\.\d+\.\d+$", line), f"no version comment: {line}"


def test_ci_gates_every_push_and_pull_request(baked):
    repo, _ = baked
    ci = load(repo, ".github/workflows/ci.yml")
    assert set(ci[True]) == {"push", "pull_request"}  # YAML 1.1 reads the key `on` as True
    assert ci["permissions"] == {"contents": "read"}
    assert ci["concurrency"]["cancel-in-progress"] is True
    runs = [step.get("run", "") for job in ci["jobs"].values() for step in job["steps"]]
    assert "make test" in runs
    assert any("build-images" in run for run in runs)
    images = ci["jobs"]["images"]["steps"]
    qemu = next(i for i, s in enumerate(images) if "setup-qemu-action" in s.get("uses", ""))
    assert qemu < next(i for i, s in enumerate(images) if "build-images" in s.get("run", ""))
    assert any("actionlint" in run for run in runs)


def test_deploy_goes_dev_staging_prod_with_oidc_only_there(baked):
    repo, answers = baked
    deploy = load(repo, ".github/workflows/deploy.yml")
    environments = sorted(p.stem for p in (repo / f"dags/{PACKAGE}/environments").glob("*.json"))
    environments.remove("local")  # the environment of `make run-local`, never deployed
    assert deploy["permissions"] == {}
    assert sorted(deploy["jobs"]) == sorted(["test", *environments])
    assert deploy["jobs"]["test"]["steps"][-1]["run"] == "make test"
    assert deploy["jobs"]["dev"]["needs"] == "test"
    assert deploy[True]["workflow_dispatch"]["inputs"]["environment"]["options"] == [
        "dev",
        "staging",
        "prod",
    ]
    assert deploy["jobs"]["staging"]["needs"] == ["test", "dev"]
    assert deploy["jobs"]["prod"]["needs"] == ["test", "staging"]
    # With a Git DAG bundle, each environment's job moves its branch: the one write it has.
    contents = "write" if answers["dags_target"] == "none" else "read"
    for name in environments:
        job = deploy["jobs"][name]
        assert job["environment"] == name
        assert job["permissions"] == {"contents": contents, "id-token": "write"}
        assert job["concurrency"] == {"group": f"deploy-{name}", "cancel-in-progress": False}
        assert job["steps"][-1]["uses"] == "./.github/actions/deploy"


def test_only_main_deploys_and_only_main_may_assume_the_role(baked):
    """A manual run from another branch deploys nothing; the OIDC trust says the same."""
    repo, _ = baked
    jobs = load(repo, ".github/workflows/deploy.yml")["jobs"]
    for name in ("dev", "staging", "prod"):
        condition = " ".join(jobs[name]["if"].split())
        assert condition.startswith("github.ref == 'refs/heads/main' && ") or (
            "&& github.ref == 'refs/heads/main' &&" in condition
        ), condition
    stack = (repo / "infra/aws/environment.yaml").read_text()
    # GitHub's default subject; the branch through the environment's branch policy and `ref`.
    assert "sub: !Sub repo:${GitHubRepository}:environment:${Environment}\n" in stack
    assert "token.actions.githubusercontent.com:ref: refs/heads/main\n" in stack
    assert "deployment-branch-policies -f name=main" in (repo / "README.md").read_text()


def test_images_are_built_once_and_promoted_by_digest(baked):
    repo, _ = baked
    jobs = load(repo, ".github/workflows/deploy.yml")["jobs"]
    deploys = ("dev", "staging", "prod")
    promotes = {name: jobs[name]["steps"][-1]["with"].get("promote-from") for name in deploys}
    assert promotes == {"dev": None, "staging": "dev", "prod": "staging"}
    steps = load(repo, ACTION)["runs"]["steps"]
    builds = [s for s in steps if "push-images" in s.get("run", "")]
    promotions = [s for s in steps if "promote-images" in s.get("run", "")]
    assert [s["if"] for s in builds] == ["inputs.promote-from == ''"]
    assert [s["if"] for s in promotions] == ["inputs.promote-from != ''"]
    assert "build" not in promotions[0]["run"]


def test_dependabot_keeps_actions_base_images_and_every_lock_current(baked):
    repo, _ = baked
    lint([tool("check-jsonschema"), "--builtin-schema", "vendor.dependabot", DEPENDABOT], repo)
    updates = {u["package-ecosystem"]: u["directories"] for u in load(repo, DEPENDABOT)["updates"]}
    assert updates == {
        "github-actions": ["/", "/.github/actions/*"],
        "docker": ["/jobs/*/*"],
        "uv": ["/", "/jobs/*/*"],
    }


def test_make_format_runs_the_ruff_that_pre_commit_pins(baked):
    repo, _ = baked
    makefile = (repo / "Makefile").read_text()
    assert "RUFF := $(shell grep -o -m 1 'ruff==[0-9.]*' .pre-commit-config.yaml)" in makefile
    assert "ruff check --fix ." in makefile and "ruff format ." in makefile
    assert "make format" in (repo / "README.md").read_text()


def test_business_code_then_the_dags_then_the_variable(baked):
    """New runs never start on DAG code older than their release."""
    repo, answers = baked
    steps = load(repo, ACTION)["runs"]["steps"]
    commands = [
        re.search(r"scripts\.deploy \\?\s*([a-z-]+)", step["run"])[1]
        for step in steps
        if "run" in step
    ]
    dags = {"s3": "sync-dags", "none": "push-dags"}[answers["dags_target"]]
    assert commands == [
        "settings",
        "push-images",
        "promote-images",
        "upload-artifacts",
        dags,
        "set-release",
    ]
    # Only push-dags gets the job's token, which can write to the repository.
    tokened = [step for step in steps if "github.token" in str(step)]
    assert [step["env"]["GITHUB_TOKEN"] for step in tokened] == (
        ["${{ github.token }}"] if dags == "push-dags" else []
    )
    assert all(dags in step["run"] for step in tokened)
    credentials = next(
        i for i, s in enumerate(steps) if "configure-aws-credentials" in s.get("uses", "")
    )
    first_upload = next(i for i, s in enumerate(steps) if "push-images" in s.get("run", ""))
    assert credentials < first_upload
    # The first step checks what set-release will need to reach Airflow, before anything ships.
    settings, set_release = next(step for step in steps if step.get("id") == "settings"), steps[-1]
    assert f"--api {answers['airflow_api']}" in settings["run"]
    assert settings["env"].keys() == set_release["env"].keys() - {"RELEASE"}


def test_answers_shape_the_deploy(baked):
    repo, answers = baked
    workflows = "".join((repo / path).read_text() for path in (*WORKFLOWS, ACTION))
    readme = (repo / "README.md").read_text()
    script = (repo / "scripts/deploy/airflow_variable.py").read_text()
    api = answers["airflow_api"]
    assert f'DEFAULT_API = "{api}"' in script
    assert f"--api {api}" in workflows
    assert ("AIRFLOW_PASSWORD" in workflows) == (api == "airflow")
    syncs = answers["dags_target"] == "s3"
    # The DAGs folder and the MWAA environment come from the environment files only; the
    # deploy's first step checks those its later steps read.
    assert ('sync-dags "$ENVIRONMENT"\n' in workflows) == syncs
    assert ("--require DAGS_S3_URI" in workflows) == syncs
    assert "--require MWAA_ENVIRONMENT" not in workflows, "--api mwaa checks it"
    assert "DAGS_S3_PREFIX" not in workflows + readme
    assert "vars.MWAA_ENVIRONMENT" not in workflows and "| `MWAA_ENVIRONMENT` |" not in readme
    waits = re.search(r"^RETRY_WAITS = \((\d+), (\d+)\)$", script, re.MULTILINE).groups()
    assert "asks again, after {} s and then {} s,".format(*waits) in readme
    assert ("dag_bundle_config_list" in readme) == (not syncs)
    assert "make rollback ENVIRONMENT=prod RELEASE=" in readme


class CloudFormationLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (!Sub, !Ref, ...) read as plain values."""


def _untagged(loader, suffix, node):
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_scalar(node)


CloudFormationLoader.add_multi_constructor("!", _untagged)


def test_the_stack_grants_named_actions_only(baked):
    repo, answers = baked
    text = (repo / "infra/aws/environment.yaml").read_text()
    template = yaml.load(text, Loader=CloudFormationLoader)  # noqa: S506 (a SafeLoader)
    documents = [
        policy["PolicyDocument"]
        for resource in template["Resources"].values()
        for policy in resource["Properties"].get("Policies", [])
    ] + [
        resource["Properties"]["PolicyDocument"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::IAM::ManagedPolicy"
    ]
    statements = [
        statement
        for document in documents
        for item in document["Statement"]
        # !If [condition, statement, !Ref AWS::NoValue]
        for statement in (item[1:2] if isinstance(item, list) else [item])
    ]
    assert len(statements) > 10
    for statement in statements:
        assert statement["Effect"] == "Allow" and statement["Sid"], statement
        actions = statement["Action"]
        actions = [actions] if isinstance(actions, str) else actions
        assert not [a for a in actions if "*" in a], statement
    assert not (repo / "deploy").exists(), "the stack replaces the hand-written policies"
    readme = (repo / "README.md").read_text()
    assert ("INFRA.DAGS_S3_URI" in readme) == (answers["dags_target"] == "s3")
    setup_mwaa = "`INFRA.MWAA_ENVIRONMENT` (the MWAA environment's name)"
    assert (setup_mwaa in readme) == (answers["airflow_api"] == "mwaa")
