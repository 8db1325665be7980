"""One release per DAG run: resolved once by the run's `release` task, used by all its tasks.

The runs are real `dag.test()` runs against moto's S3 (the deployment bucket and its release
manifests). A "deploy" in the middle of a run is a task that switches the Variable, read by
Airflow through its environment-variable secrets backend as in production.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pendulum
import pytest
from airflow.sdk import DAG, BaseOperator

from {{ cookiecutter.package }} import k8s
from {{ cookiecutter.package }}.release import (
    CONF_KEY,
    MANIFEST,
    RERUN_KEY,
    TEMPLATE,
    VARIABLE,
    PinRelease,
    ReleaseError,
    release_task,
)
from {{ cookiecutter.package }}.settings import PACKAGE, load_settings
{% raw %}
SETTINGS = load_settings()
RELEASE_A, RELEASE_B, NEVER_DEPLOYED = "a" * 40, "b" * 40, "c" * 40
LIVE = f"AIRFLOW_VAR_{VARIABLE.upper()}"
LOGICAL_DATE = pendulum.datetime(2026, 1, 31, tz="UTC")


DAG_FILE = """
import os
from datetime import timedelta

from airflow.sdk import DAG, BaseOperator

from {package}.defaults import macros
from {package}.release import release_task


class UsesRelease(BaseOperator):
    \"\"\"Renders the release as a script path does; fails its first try if told to.\"\"\"

    template_fields = ("used",)

    def __init__(self, *, fail_first_try=False, **kwargs):
        super().__init__(**kwargs)
        self.used = "{{{{ config.DEPLOYMENT_BUCKET }}}}/{template}/app/job.py"
        self.fail_first_try = fail_first_try

    def execute(self, context):
        if self.fail_first_try and context["ti"].try_number == 1:
            raise RuntimeError("a passing glitch")
        return self.used


class Deploy(BaseOperator):
    \"\"\"A deploy lands while the run is in flight: the live release becomes B.\"\"\"

    def execute(self, context):
        os.environ["{live}"] = "{release_b}"


with DAG(
    "{package}.release_test",
    schedule=None,
    default_args={{"retries": 1, "retry_delay": timedelta(0)}},
    user_defined_macros=macros(),
) as dag:
    first = UsesRelease(task_id="first")
    second = UsesRelease(task_id="second", fail_first_try=True)
    release_task(dag) >> first >> Deploy(task_id="deploy") >> second
"""


@pytest.fixture(scope="module")
def dag(dags_folder):
    """release -> first -> deploy (the Variable becomes B) -> second, which fails its first
    try; written into the DAGs folder of a migrated throwaway metadata DB, as dag.test() needs."""
    from airflow.dag_processing.dagbag import DagBag

    app = dags_folder / "release_test"
    app.mkdir(parents=True, exist_ok=True)
    text = DAG_FILE.format(package=PACKAGE, template=TEMPLATE, live=LIVE, release_b=RELEASE_B)
    (app / "release_test_dag.py").write_text(text)
    bag = DagBag(dag_folder=str(app), safe_mode=False)
    assert not bag.import_errors, bag.import_errors
    return bag.get_dag(f"{PACKAGE}.release_test")


@pytest.fixture
def deployed(deploy_release):
    """Releases A and B deployed (their manifests in the deployment bucket), A live."""
    deploy_release(RELEASE_B)
    deploy_release(RELEASE_A, live=True)


def run_dag(dag, **run) -> tuple[dict[str, str], dict[str, str]]:
    """Each task's state, and what each task returned (the path it rendered)."""
    dag_run = dag.test(logical_date=LOGICAL_DATE, **run)
    tis = dag_run.get_task_instances()
    if dag_run.state == "success":
        assert {ti.task_id: ti.try_number for ti in tis}["second"] == 2, "second was retried"
    return (
        {ti.task_id: ti.state for ti in tis},
        {ti.task_id: ti.xcom_pull(task_ids=ti.task_id) for ti in tis},
    )


def script(release: str) -> str:
    return f"{SETTINGS.DEPLOYMENT_BUCKET}/{release}/app/job.py"


def test_tasks_keep_the_release_of_the_runs_start_through_a_deploy_and_a_retry(dag, deployed):
    states, used = run_dag(dag)
    assert set(states.values()) == {"success"}, states
    assert used["release"] == RELEASE_A
    assert used["first"] == used["second"] == script(RELEASE_A)


def test_a_run_can_ask_for_a_release_in_its_conf(dag, deployed):
    states, used = run_dag(dag, run_conf={CONF_KEY: RELEASE_B})
    assert set(states.values()) == {"success"}, states
    assert used["first"] == used["second"] == script(RELEASE_B)


def test_a_release_not_deployed_fails_the_run_at_its_first_task(dag, deployed, monkeypatch):
    monkeypatch.setenv(LIVE, NEVER_DEPLOYED)
    states, _ = run_dag(dag)
    assert states == {
        "release": "failed",
        "first": "upstream_failed",
        "deploy": "upstream_failed",
        "second": "upstream_failed",
    }


class Store:
    """A task state store: what the release task pinned survives its reruns in the same run."""

    def __init__(self) -> None:
        self.values: dict = {}

    def get(self, key, default=None):
        return self.values.get(key, default)

    def set(self, key, value, *, retention=None) -> None:
        self.values[key] = value

    def delete(self, key) -> None:
        self.values.pop(key, None)


def context(store: Store | None = None, conf: dict | None = None) -> dict:
    """A task's context: its run's conf, its state store, and an XCom that keeps what it gets."""
    pushed = {}
    ti = SimpleNamespace(xcom_push=lambda key, value: pushed.__setitem__(key, value), pushed=pushed)
    return {"dag_run": SimpleNamespace(conf=conf or {}), "task_state_store": store, "ti": ti}


def test_clearing_the_release_task_keeps_the_runs_release(deployed, monkeypatch):
    task = PinRelease(task_id="release")
    store = Store()
    first = context(store)
    assert task.execute(first) == RELEASE_A
    assert first["ti"].pushed["reason"] == f"the Variable {VARIABLE}"
    monkeypatch.setenv(LIVE, RELEASE_B)
    cleared = context(store)
    assert task.execute(cleared) == RELEASE_A
    assert cleared["ti"].pushed["reason"] == "pinned when this run first started: kept"
    assert task.execute(context(Store())) == RELEASE_B, "a new run takes the live release"


def test_a_rerun_moves_the_run_to_the_release_it_asks_for_once(deployed):
    """`make rerun` leaves its request in the store and clears the task: it pins the release
    asked for, says why, and forgets the request; a plain clear later keeps the new release."""
    task = PinRelease(task_id="release")
    store = Store()
    assert task.execute(context(store)) == RELEASE_A
    store.set(RERUN_KEY, {"release": RELEASE_B, "asked": "2026-02-01T08:00:00+00:00"})
    rerun = context(store)
    assert task.execute(rerun) == RELEASE_B
    assert rerun["ti"].pushed["reason"] == (
        f"rerun asked at 2026-02-01T08:00:00+00:00 on this release, the run had {RELEASE_A}"
    )
    assert RERUN_KEY not in store.values
    assert task.execute(context(store)) == RELEASE_B


def test_a_rerun_on_a_release_not_deployed_keeps_the_runs_release(deployed):
    store = Store()
    PinRelease(task_id="release").execute(context(store))
    store.set(RERUN_KEY, {"release": NEVER_DEPLOYED, "asked": "now"})
    with pytest.raises(ReleaseError, match=f"release {NEVER_DEPLOYED} \\(rerun asked at now"):
        PinRelease(task_id="release").execute(context(store))
    assert store.values["release"] == RELEASE_A


@pytest.mark.parametrize(
    ("live", "conf", "message"),
    [
        (
            NEVER_DEPLOYED,
            {},
            f"release {NEVER_DEPLOYED} (the Variable {VARIABLE}) is not deployed to "
            f"{SETTINGS.ENV}: no {SETTINGS.DEPLOYMENT_BUCKET}/{NEVER_DEPLOYED}/{MANIFEST}",
        ),
        (
            RELEASE_A,
            {CONF_KEY: NEVER_DEPLOYED},
            f"release {NEVER_DEPLOYED} (the run's conf 'release') is not deployed",
        ),
        (None, {}, f"no release: the Airflow Variable {VARIABLE} is not set"),
        (RELEASE_A, {CONF_KEY: "../other"}, "'../other' is not a release name"),
    ],
    ids=["not deployed", "conf not deployed", "no Variable", "not a name"],
)
def test_a_run_without_a_usable_release_fails_with_one_message(
    deployed, monkeypatch, live, conf, message
):
    if live:
        monkeypatch.setenv(LIVE, live)
    else:
        monkeypatch.delenv(LIVE)
    with pytest.raises(ReleaseError) as error:
        PinRelease(task_id="release").execute(context(Store(), conf))
    assert message in str(error.value)


def test_container_jobs_run_after_one_release_task():
    dag = DAG(f"{PACKAGE}.two_jobs", schedule=None)
    first = k8s.container_job(task_id="first", image="app-one", memory="1Gi", cpu="1", dag=dag)
    second = k8s.container_job(task_id="second", image="app-two", memory="1Gi", cpu="1", dag=dag)
    assert first.upstream_task_ids == second.upstream_task_ids == {"release"}
    assert [task.task_id for task in dag.tasks].count("release") == 1


def test_the_release_task_id_is_reserved():
    dag = DAG(f"{PACKAGE}.reserved", schedule=None)
    BaseOperator(task_id="release", dag=dag)
    with pytest.raises(ValueError, match="reserved for the run's release"):
        release_task(dag)


def test_a_task_rendering_the_release_outside_a_run_says_what_is_missing():
    dag = DAG(f"{PACKAGE}.no_release", schedule=None)
    release_task(dag)
    task = BaseOperator(task_id="alone", dag=dag)
    ti = SimpleNamespace(task_id="alone", xcom_pull=lambda task_ids: None)
    with pytest.raises(ReleaseError, match="must run after the 'release' task"):
        task.render_template(TEMPLATE, {"ti": ti})


def test_only_release_py_names_the_variable():
    package = Path(__file__).resolve().parents[1] / "dags" / PACKAGE
    spelled = sorted(
        path.relative_to(package).as_posix()
        for path in package.rglob("*")
        if path.is_file() and path.suffix in (".py", ".json") and VARIABLE in path.read_text()
    )
    assert spelled == ["release.py"]
{% endraw %}