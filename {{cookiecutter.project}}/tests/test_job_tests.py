"""`make test-jobs` (part of `make test`) tests each job project in its own environment; the
PySpark tests need Java, and without it one line says so before anything runs."""

import pytest

from scripts import test_jobs


@pytest.fixture
def jobs(tmp_path, monkeypatch):
    """A jobs/ folder with a Spark project and a container job."""
    for project in ("my_app/spark", "my_app/score"):
        (tmp_path / "jobs" / project).mkdir(parents=True)
        (tmp_path / "jobs" / project / "pyproject.toml").write_text("[project]\n")
    monkeypatch.setattr(test_jobs, "JOBS", tmp_path / "jobs")
    return tmp_path / "jobs"


def test_without_java_the_spark_tests_say_what_to_install_and_nothing_runs(
    jobs, tmp_path, monkeypatch, capsys
):
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(test_jobs.subprocess, "run", lambda *args, **kwargs: pytest.fail("ran"))
    assert test_jobs.main([]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith("jobs: the PySpark tests of jobs/my_app/spark start Spark. ")
    assert "found none on PATH or in JAVA_HOME: install Java 17" in err
