"""`make run-local` before the run: input, prerequisites, sample data, the local deployment."""

import json
import stat

import pytest

from {{ cookiecutter.package }}.local.paths import local_path

from scripts import run_local
from scripts.deploy.artifacts import upload_release
from scripts.deploy.layout import load_environment
from scripts.java import java_version


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """An app `my_app` with a DAG file, a Spark script and dated sample data, in a scratch repo."""
    apps, jobs = tmp_path / "apps", tmp_path / "jobs"
    (apps / "my_app").mkdir(parents=True)
    (apps / "my_app" / "my_app_dag.py").write_text("")
    (jobs / "my_app" / "spark").mkdir(parents=True)
    (jobs / "my_app" / "spark" / "count.py").write_text("print('counting')\n")
    samples = [("events", "2026-01-30"), ("events", "2026-01-31"), ("orders", "2026-01-29")]
    for dataset, day in samples:
        (jobs / "my_app" / "sample" / dataset / day).mkdir(parents=True)
        (jobs / "my_app" / "sample" / dataset / day / "part-0.json").write_text(f'"{day}"\n')
    monkeypatch.setattr(run_local, "APPS", apps)
    monkeypatch.setattr(run_local, "JOBS", jobs)
    monkeypatch.setattr(run_local, "LOCAL_DATA", tmp_path / ".local-data")
    return tmp_path


# --- input ----------------------------------------------------------------------------------


def test_an_app_is_a_folder_with_a_dag_file(repo):
    assert run_local.check_app("my_app") == repo / "apps" / "my_app" / "my_app_dag.py"


@pytest.mark.parametrize(
    ("app", "error"),
    [
        (None, r"missing app: make run-local app=<app> .*\(apps: my_app\)"),
        ("other_app", r"app='other_app': no such app .*\(apps: my_app\)"),
        ("../my_app", r"app='../my_app': no such app"),
    ],
)
def test_a_bad_app_is_one_line_naming_the_apps(repo, app, error):
    with pytest.raises(run_local.BadInput, match=error):
        run_local.check_app(app)


@pytest.mark.parametrize("day", ["2026-02-30", "2026-1-31", "31/01/2026", "yesterday", ""])
def test_a_bad_date_is_one_line(day):
    with pytest.raises(run_local.BadInput, match=r"not a day as YYYY-MM-DD, e\.g\. date="):
        run_local.check_day(day)


@pytest.mark.parametrize("argv", [["--app", "nope"], ["--app", "my_app", "--date", "2026-13-01"]])
def test_bad_input_exits_with_2_and_one_line(repo, capsys, argv):
    assert run_local.main(argv) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("run-local: ")


# --- sample data ----------------------------------------------------------------------------


def test_without_a_date_the_run_is_for_the_samples_latest_day(repo):
    assert run_local.default_day("my_app") == "2026-01-31"


def test_an_app_without_sample_data_needs_a_date(repo):
    (repo / "apps" / "bare").mkdir()
    with pytest.raises(run_local.BadInput, match=r"no sample data .* make run-local app=<app>"):
        run_local.default_day("bare")


def test_each_dataset_lands_for_the_run_date_its_own_day_or_its_latest(repo):
    landing = repo / "landing"
    stale = landing / "events" / "2026-01-30" / "stale.json"
    stale.parent.mkdir(parents=True)
    stale.write_text("{}")

    landed = run_local.land_samples("my_app", "2026-01-30", landing)

    sample = repo / "jobs" / "my_app" / "sample"
    assert landed == [
        (sample / "events" / "2026-01-30", landing / "events" / "2026-01-30"),
        (sample / "orders" / "2026-01-29", landing / "orders" / "2026-01-30"),
    ]
    assert sorted(p.name for p in (landing / "events" / "2026-01-30").iterdir()) == ["part-0.json"]
    assert (landing / "orders" / "2026-01-30" / "part-0.json").read_text() == '"2026-01-29"\n'


# --- the local deployment -------------------------------------------------------------------


def test_the_deploy_line_counts_the_apps_own_spark_scripts(repo):
    deployed = run_local.deploy_release
    assert deployed("my_app", root=repo) == "release local, 1 Spark script(s) of my_app"
    assert deployed("k8s_app", root=repo) == "release local, no Spark script for k8s_app"


def test_scripts_deploy_where_the_job_configs_look_for_them(repo):
    environment = load_environment("local")
    uploaded = upload_release(environment, "local", run_local.LocalBucket(), root=repo)

    deployed = f"{environment.deployment_bucket}/local/my_app/count.py"
    script = local_path(deployed, repo / ".local-data")
    assert script.read_text() == "print('counting')\n"
    manifest = script.parent.parent / "release.json"
    assert json.loads(manifest.read_text())["scripts"] == ["my_app/count.py"]
    assert len(uploaded) == 2


# --- prerequisites --------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def uv_found(monkeypatch):
    """As under `make`, which runs the script with `uv run` (uv names itself in $UV)."""
    monkeypatch.setenv("UV", "uv")


def fake_java(folder, version_line: str) -> None:
    """A `java` in `folder/bin` that reports `version_line` as the real one does (stderr)."""
    java = folder / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text(f"#!/bin/sh\necho '{version_line}' >&2\n")
    java.chmod(java.stat().st_mode | stat.S_IEXEC)


@pytest.mark.parametrize(
    ("version_line", "major"),
    [
        ('openjdk version "17.0.15" 2025-04-15', 17),
        ('java version "1.8.0_402"', 8),
        ('openjdk version "21" 2023-09-19', 21),
        ("no version here", None),
    ],
)
def test_the_java_version_is_read_as_java_reports_it(tmp_path, version_line, major):
    fake_java(tmp_path, version_line)
    assert java_version(str(tmp_path / "bin" / "java")) == major


def test_spark_on_an_unsupported_java_says_which_one_to_install(tmp_path, monkeypatch):
    fake_java(tmp_path, 'openjdk version "21.0.2" 2024-01-16')
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    with pytest.raises(run_local.BadInput) as error:
        run_local.check_prerequisites(needs_spark=True)
    message = str(error.value)
    assert "runs on Java 8, 11, 17" in message and "is Java 21" in message
    assert "apt-get install openjdk-17-jre-headless" in message
    assert "brew install openjdk@17" in message


def test_spark_without_java_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(run_local.BadInput, match=r"found none on PATH or in JAVA_HOME: install"):
        run_local.check_prerequisites(needs_spark=True)


def test_uv_is_needed(tmp_path, monkeypatch):
    monkeypatch.delenv("UV")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(run_local.BadInput, match="uv not found"):
        run_local.check_prerequisites(needs_spark=False)


def test_java_17_runs_spark_and_apps_without_spark_need_no_java(tmp_path, monkeypatch):
    fake_java(tmp_path, 'openjdk version "17.0.15" 2025-04-15')
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    run_local.check_prerequisites(needs_spark=True)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "nowhere"))
    run_local.check_prerequisites(needs_spark=False)
