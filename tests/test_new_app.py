"""make new-app in a baked repository (MWAA, no examples): each pattern passes the gate; bad input
writes nothing and never reaches the shell; the gate catches what teams break most often, naming
the offending file."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from conftest import bake, commit_all, run
from team_settings import configure

pytestmark = pytest.mark.gate
PACKAGE = "data_pipelines"
# The longest app name a 14-character package allows: `<package>.<app>` is a 63-character label.
LONGEST = "a" * (63 - len(PACKAGE) - 1)


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    """A bake without examples, committed: new apps are the only apps. On MWAA in us-east-1,
    the one region whose buckets take no location constraint, with dev and staging configured
    as a team does (their EKS cluster, MWAA environments, network...)."""
    repo = bake(
        tmp_path_factory.mktemp("new-app"),
        example_apps="no",
        airflow_api="mwaa",
        aws_region="us-east-1",
    )
    configure(repo)
    commit_all(repo)
    return repo


def test_a_bake_without_apps_passes_make_lint(repo):
    """Before any app: a Spark-only repository has no image repository either."""
    run(["make", "lint"], repo)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ([], "missing name"),
        (["name=orders"], "missing pattern"),
        (["name=orders", "pattern=flink"], "pattern='flink': must be one of spark, k8s, hybrid"),
        (["name=Orders", "pattern=spark"], "name='Orders': must be a Python identifier"),
        (["name=1orders", "pattern=spark"], "must be a Python identifier"),
        (["name=class", "pattern=k8s"], "not a keyword"),
        ([f"name={LONGEST}b", "pattern=k8s"], f"at most {len(LONGEST)} for the name"),
        (["name=app_", "pattern=k8s"], "words joined by single '_'"),
        (["name=a___b", "pattern=hybrid"], "words joined by single '_'"),
        (["name=`touch PWNED`", "pattern=k8s"], "name='`touch PWNED`'"),
        (["name=x", "pattern=$$(touch PWNED)"], "pattern='$(touch PWNED)'"),
    ],
)
def test_bad_input_is_rejected_and_writes_nothing(repo, arguments, message):
    result = run(["make", "--no-print-directory", "new-app", *arguments], repo, check=False)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("new-app: ")]
    assert len(errors) == 1 and message in errors[0], result.stderr
    assert run(["git", "status", "--porcelain"], repo).stdout == "", "files written or run"


def test_each_pattern_passes_the_gate(repo):
    for name, pattern in (("orders", "spark"), ("scoring", "k8s"), (LONGEST, "hybrid")):
        out = run(["make", "new-app", f"name={name}", f"pattern={pattern}"], repo).stdout
        assert f"dags/{PACKAGE}/apps/{name}/{name}_dag.py" in out
        assert f'Staged in git. Next: make test, then git commit -m "Add app {name}"' in out
        assert ("infra/aws/environment.yaml" in out) == (pattern != "spark")
    status = run(["git", "status", "--porcelain"], repo).stdout.splitlines()
    assert status and all(line[0] in "AM" and line[1] == " " for line in status), status
    stack = (repo / "infra/aws/environment.yaml").read_text()
    assert stack.count("Type: AWS::ECR::Repository") == 2
    assert "RepositoryName: !Sub ${RegistryPath}/scoring-score\n" in stack
    assert f"RepositoryName: !Sub ${{RegistryPath}}/{LONGEST}-score\n" in stack
    assert (repo / "jobs/orders/spark/daily_event_counts.py").exists()
    assert (repo / "jobs/scoring/score/Dockerfile").exists()
    assert (repo / f"jobs/{LONGEST}/spark/preprocess.py").exists()
    assert not (repo / "jobs/orders/score").exists()
    assert not (repo / "jobs/scoring/spark").exists()
    existing = run(["make", "new-app", "name=orders", "pattern=k8s"], repo, check=False)
    assert existing.returncode != 0 and "already exists" in existing.stderr
    commit_all(repo)
    run(["make", "test"], repo)
    hostile = run(["make", "test-dags", "ARGS=-k `touch PWNED` -x"], repo, check=False)
    assert hostile.returncode != 0 and not (repo / "PWNED").exists()


BREAKAGES = {
    "syntax_error": "with DAG(dag_id='x' schedule=None):\n    pass\n",
    "variable_at_parse": """
        from airflow.sdk import DAG, Variable

        TAG = Variable.get("release")
        with DAG(dag_id="data_pipelines.variable_at_parse", schedule=None):
            pass
        """,
    "no_limits": """
        import pendulum
        from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
        from airflow.sdk import DAG

        from data_pipelines.defaults import DEFAULT_ARGS, TAGS

        with DAG(dag_id="data_pipelines.no_limits", schedule=None, default_args=DEFAULT_ARGS,
                 tags=TAGS, start_date=pendulum.datetime(2026, 1, 1)):
            KubernetesPodOperator(
                task_id="job",
                image="registry.example.com/x:{{ release() }}",
            )
        """,
    "variable_read_directly": """
        import pendulum
        from airflow.sdk import DAG

        from data_pipelines.defaults import DEFAULT_ARGS, TAGS
        from data_pipelines.k8s import container_job

        with DAG(dag_id="data_pipelines.variable_read_directly", schedule=None,
                 default_args=DEFAULT_ARGS, tags=TAGS, start_date=pendulum.datetime(2026, 1, 1)):
            container_job(task_id="job", image="x-job", memory="1Gi", cpu="1",
                          arguments=["--release", "{{ var.value.data_pipelines_docker_tag }}"])
        """,
    "hard_coded_tag": """
        import pendulum
        from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
        from airflow.sdk import DAG
        from kubernetes.client import models as k8s

        from data_pipelines.defaults import DEFAULT_ARGS, TAGS

        with DAG(dag_id="data_pipelines.hard_coded_tag", schedule=None, default_args=DEFAULT_ARGS,
                 tags=TAGS, start_date=pendulum.datetime(2026, 1, 1)):
            KubernetesPodOperator(
                task_id="job",
                image="registry.example.com/x:1.0",
                container_resources=k8s.V1ResourceRequirements(
                    limits={"cpu": "1", "memory": "1Gi"}
                ),
            )
        """,
}


BREAKAGES["heavy_at_parse"] = """
    import pendulum
    from airflow.sdk import DAG

    from data_pipelines.defaults import DEFAULT_ARGS, TAGS
    from data_pipelines.k8s import container_job

    with DAG(dag_id="data_pipelines.heavy_at_parse", schedule=None, default_args=DEFAULT_ARGS,
             tags=TAGS, start_date=pendulum.datetime(2026, 1, 1)):
        container_job(task_id="job", image="x", memory="1Gi", cpu="1")
    """


def test_gate_names_what_is_broken(repo):
    """Run after test_each_pattern_passes_the_gate (module order): breaks a passing repo."""
    apps = repo / "dags" / PACKAGE / "apps"
    for name, source in BREAKAGES.items():
        (apps / name).mkdir()
        (apps / name / f"{name}_dag.py").write_text(textwrap.dedent(source))
    config = apps / "orders" / "job_configs" / "daily_event_counts.json"
    config.write_text(config.read_text().replace('"ScriptPath"', '"ScriptPaht"'))
    script_path = apps / LONGEST / "job_configs" / "preprocess.json"
    script_path.write_text(script_path.read_text().replace("/preprocess.py", "/prepare.py"))
    arguments = apps / LONGEST / "job_configs" / "postprocess.json"
    arguments.write_text(arguments.read_text().replace('"--date"', '"--day"'))
    (apps / "scoring").rename(apps / "scorer")  # renamed app folder, jobs/scoring left behind
    (repo / "jobs/orders/publish").mkdir()
    (repo / "jobs/orders/publish/Dockerfile").write_text("FROM python:3.12-slim\n")
    hybrid = apps / LONGEST / f"{LONGEST}_dag.py"
    hybrid.write_text(hybrid.read_text().replace(f'"{LONGEST}-score"', f'"{LONGEST}-scorer"'))
    cluster = apps / "orders" / "cluster_configs" / "orders.json"
    cluster.write_text(cluster.read_text().replace('"m5.xlarge"', '"m5.xlarg"', 1))
    rogue = "from airflow.sdk import DAG\n\nwith DAG(dag_id='rogue', schedule=None):\n    pass\n"
    for misplaced in (apps.parent / "rogue_dag.py", apps / "rogue_dag.py", repo / "dags/rogue.py"):
        misplaced.write_text(rogue)
    # The suites that name what is broken (the rest of the gate passed on this repo above).
    suites = "ARGS=tests/test_dag_validation.py tests/test_dag_parse_imports.py tests/test_infra.py"
    try:
        result = run(["make", "test-dags", suites], repo, check=False)
    finally:
        run(["git", "checkout", "--", "."], repo)
        run(["git", "clean", "-fdq", "dags", "jobs"], repo)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    for name in BREAKAGES:
        assert f"apps/{name}/{name}_dag.py" in output, f"{name} not named"
    assert "job_configs/daily_event_counts.json" in output
    assert f"apps/{LONGEST}/job_configs/preprocess.json: ScriptPath" in output
    assert f"must name a script of jobs/{LONGEST}/spark/" in output
    assert f"task postprocess runs jobs/{LONGEST}/spark/postprocess.py with" in output
    assert "argument parser refuses: the following arguments are required: --date" in output
    assert "apps/scorer: an app folder holds exactly one DAG file, scorer_dag.py" in output
    assert "jobs/scoring: no app dags/data_pipelines/apps/scoring/ runs these jobs" in output
    assert "'ScriptPath' is a required property" in output
    assert "set cpu and memory limits" in output
    assert "must be tagged {{ release() }}" in output
    assert "reads the Airflow Variable data_pipelines_docker_tag" in output
    assert "metadata database accessed while parsing DAG files" in output
    heavy = f"dags/{PACKAGE}/apps/heavy_at_parse/heavy_at_parse_dag.py: parsing it imports "
    assert f"{heavy}airflow.providers.cncf.kubernetes" in output
    assert f"through {PACKAGE}.k8s, again at every parse" in output
    assert "    import airflow.providers.cncf.kubernetes.operators.pod\n" in output
    assert "no AWS::ECR::Repository for jobs/orders/publish" in output
    assert f"task score: no jobs/{LONGEST}/scorer/Dockerfile builds the image" in output
    assert (
        "InstanceType: 'm5.xlarg' is not an EC2 instance type (did you mean 'm5.xlarge'?)" in output
    )
    assert f"dags/{PACKAGE}/rogue_dag.py: a DAG file Airflow skips" in output
    assert f"dags/{PACKAGE}/apps/rogue_dag.py: a DAG file directly in apps/" in output
    assert f"dags/rogue.py: a DAG file outside dags/{PACKAGE}/" in output
