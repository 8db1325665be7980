"""push-dags moves an environment's Git DAG bundle branch to the release, in a real Git remote."""

import pytest

from scripts.deploy import DeployError
from scripts.deploy.cli import main
from scripts.deploy.dag_bundle import push_dags
from tests.conftest import git
from tests.deploy.support import RELEASE


@pytest.fixture
def clone(tmp_path):
    """A checkout with two commits of `main`, pushed to its bare `origin`, as a deploy job's."""
    git("init", "-q", "--bare", "-b", "main", str(tmp_path / "origin.git"), cwd=tmp_path)
    checkout = tmp_path / "checkout"
    git("clone", "-q", str(tmp_path / "origin.git"), str(checkout), cwd=tmp_path)
    for message in ("first", "second"):
        git("commit", "-q", "--allow-empty", "-m", message, cwd=checkout)
    git("push", "-q", "origin", "main", cwd=checkout)
    return checkout


def branch_at(clone, branch: str) -> str:
    return git("ls-remote", "origin", f"refs/heads/{branch}", cwd=clone).split()[0]


def test_the_environments_branch_follows_each_release_back_and_forth(clone):
    first, second = git("rev-parse", "HEAD~1", "HEAD", cwd=clone).split()
    assert push_dags("prod", second, root=clone) == "airflow/prod"
    assert branch_at(clone, "airflow/prod") == second
    push_dags("prod", first, root=clone)  # a rollback moves it back
    assert branch_at(clone, "airflow/prod") == first
    push_dags("staging", second, root=clone)
    assert branch_at(clone, "airflow/staging") == second
    assert branch_at(clone, "airflow/prod") == first, "each environment has its own branch"


def test_a_commit_the_checkout_does_not_have_is_one_line(clone):
    with pytest.raises(DeployError) as raised:
        push_dags("dev", RELEASE, root=clone)
    assert str(raised.value).startswith(f"git push of {RELEASE} to origin airflow/dev failed: ")
    assert "\n" not in str(raised.value)


def test_push_dags_checks_environment_and_release_before_git_runs(capsys):
    assert main(["push-dags", "qa", RELEASE]) == 2
    assert capsys.readouterr().err.startswith("error: unknown environment 'qa'")
    assert main(["push-dags", "dev", "HEAD"]) == 1
    assert "release must be a full 40-character commit SHA" in capsys.readouterr().err
