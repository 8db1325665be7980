"""`make test-jobs` (part of `make test`) tests each job project in its own locked environment,
where its inputs changed since its last green run; the PySpark tests need Java, and without it
one line says so before anything runs."""

import subprocess

import pytest

from scripts import test_jobs

PYPROJECT = """\
[project]
name = "score"
version = "0.1.0"
requires-python = ">=3.11"

[dependency-groups]
dev = ["pytest==9.2.0"]

[tool.uv]
package = false

[tool.pytest.ini_options]
pythonpath = ["."]
"""


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A repository whose jobs/ has a container job in two apps, declared alike."""
    monkeypatch.setattr(test_jobs, "ROOT", tmp_path)
    monkeypatch.setattr(test_jobs, "JOBS", tmp_path / "jobs")
    monkeypatch.setattr(test_jobs, "CACHE", tmp_path / ".cache")
    monkeypatch.setattr(test_jobs, "ENVIRONMENTS", tmp_path / ".cache" / "job-envs")
    monkeypatch.delenv("FRESH", raising=False)
    for app in ("a", "b"):
        project = tmp_path / "jobs" / app / "score"
        (project / "tests").mkdir(parents=True)
        (project / "pyproject.toml").write_text(PYPROJECT)
        (project / "score.py").write_text(f"APP = {app!r}\n")
        (project / "tests" / "test_score.py").write_text(
            f"from score import APP\n\n\ndef test_app():\n    assert APP == {app!r}\n"
        )
    subprocess.run(["uv", "lock", "-q"], cwd=project, check=True)
    (tmp_path / "jobs" / "a" / "score" / "uv.lock").write_bytes((project / "uv.lock").read_bytes())
    return tmp_path


def gate(capsys, *argv: str, expect: int = 0) -> tuple[dict[str, str], str]:
    """`make test-jobs`, which must exit `expect`: the line of each project, and the last line."""
    code = test_jobs.main(list(argv))
    out, err = capsys.readouterr()
    assert code == expect, f"exit {code}\n{out}{err}"
    said = [line[4:].split(": ", 1) for line in out.splitlines() if line.startswith("==> ")]
    return dict(line for line in said if len(line) == 2), out.splitlines()[-1]


def test_a_project_is_reused_until_its_code_tests_or_lock_change(repo, capsys):
    lines, summary = gate(capsys)  # each app's tests import their own `score`, in one process
    assert lines == dict.fromkeys(["jobs/a/score", "jobs/b/score"], "runs (no earlier green run)")
    assert summary == "jobs: 2 projects passed (2 ran, 0 reused)"
    assert len(list((repo / ".cache" / "job-envs").iterdir())) == 1, "alike: one environment"

    lines, summary = gate(capsys)
    assert summary == "jobs: 2 projects passed (0 ran, 2 reused)"
    assert all(
        line.startswith("reused, unchanged since its green run of ") for line in lines.values()
    )

    # The same size: were both writes in one second, Python would trust the cached module.
    (repo / "jobs" / "a" / "score" / "score.py").write_text("APP = 'b'\n")
    test = repo / "jobs" / "b" / "score" / "tests" / "test_score.py"
    test.write_text(test.read_text() + "\n\ndef test_more():\n    assert True\n")
    lines, _ = gate(capsys, expect=1)  # a's code broke its test
    assert lines == {
        "jobs/a/score": "runs (changed: score/score.py)",
        "jobs/b/score": "runs (changed: score/tests/test_score.py)",
    }
    lines, _ = gate(capsys, expect=1)
    assert lines["jobs/a/score"] == "runs (changed: score/score.py)", "a failure is not recorded"
    assert lines["jobs/b/score"].startswith("reused")

    (repo / "jobs" / "a" / "score" / "score.py").write_text("APP = 'a'\n")
    lock = repo / "jobs" / "b" / "score" / "uv.lock"
    lock.write_text(lock.read_text() + "\n")
    lines, summary = gate(capsys)
    assert summary == "jobs: 2 projects passed (1 ran, 1 reused)"
    assert lines["jobs/a/score"].startswith("reused"), "back to the content of its green run"
    assert lines["jobs/b/score"] == "runs (changed: score/uv.lock)"

    lines, _ = gate(capsys, "--fresh")
    assert set(lines.values()) == {"runs (asked to run all)"}


def test_without_java_the_spark_tests_say_what_to_install_and_nothing_runs(
    repo, tmp_path, monkeypatch, capsys
):
    (repo / "jobs" / "a" / "score").rename(repo / "jobs" / "a" / "spark")
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(test_jobs.subprocess, "run", lambda *args, **kwargs: pytest.fail("ran"))
    assert test_jobs.main([]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith("jobs: the PySpark tests of jobs/a/spark start Spark. ")
    assert "found none on PATH or in JAVA_HOME: install Java 17" in err
