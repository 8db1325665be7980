"""The baked repository's own gate passes, and two baked repositories share one DAGs folder."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest
import yaml
from conftest import bake, commit_all, run
from test_hooks import load_hook, pre_gen

scheduling_modules = load_hook("scheduling_modules", folder="scripts")

pytestmark = pytest.mark.gate


@pytest.fixture(scope="module")
def gated(tmp_path_factory) -> tuple[Path, str]:
    """A default bake, committed, whose `make test` has passed (its tox envs are then
    reusable), and what that printed."""
    repo = bake(tmp_path_factory.mktemp("gate"))
    commit_all(repo)
    return repo, run(["make", "test"], repo).stdout


@pytest.fixture(scope="module")
def gated_repo(gated) -> Path:
    return gated[0]


def test_make_test_passes_on_a_fresh_bake(gated):
    repo, out = gated
    assert (repo / ".tox" / "dags").is_dir()
    assert run(["git", "status", "--porcelain"], repo).stdout == "", "the gate changed files"
    assert "jobs: 4 projects passed (4 ran, 0 reused)" in out


def test_job_projects_are_reused_until_they_change(gated_repo):
    """The two Spark projects are declared alike: they ran in one process, on one Spark."""
    out = run(["make", "test-jobs"], gated_repo).stdout
    assert "jobs: 4 projects passed (0 ran, 4 reused)" in out
    script = gated_repo / "jobs" / "spark_example" / "spark" / "daily_event_counts.py"
    script.write_text(script.read_text() + "# changed\n")
    try:
        out = run(["make", "test-jobs"], gated_repo).stdout
    finally:
        run(["git", "checkout", "--", "jobs"], gated_repo)
    assert "==> jobs/spark_example/spark: runs (changed: spark/daily_event_counts.py)" in out
    assert "jobs: 4 projects passed (1 ran, 3 reused)" in out


LEAVES_SPARK_USED = """\
import os


def test_leaves_a_setting_a_view_and_a_cache(spark):
    spark.conf.set("spark.sql.caseSensitive", "true")
    spark.range(3).createOrReplaceTempView("left_behind")
    spark.range(5).cache().count()
    os.environ["SPARK_OF_THE_PROJECT_BEFORE"] = spark.sparkContext.applicationId
"""

GETS_SPARK_WITHOUT_WHAT_WAS_LEFT = """\
import os


def test_gets_the_same_spark_without_what_was_left(spark):
    assert spark.sparkContext.applicationId == os.environ["SPARK_OF_THE_PROJECT_BEFORE"]
    assert spark.conf.get("spark.sql.caseSensitive") == "false"
    assert not spark.catalog.tableExists("left_behind")
    spark.range(5).createOrReplaceTempView("same_plan")
    assert not spark.catalog.isCached("same_plan")
"""


def test_spark_projects_declared_alike_share_one_spark_without_what_the_last_left(gated_repo):
    """The scaffold's conftest leaves its Spark running for the next project in the process,
    without the settings, views and cache of the tests before."""
    example = gated_repo / "jobs" / "spark_example" / "spark"
    for app, test in (("iso_a", LEAVES_SPARK_USED), ("iso_b", GETS_SPARK_WITHOUT_WHAT_WAS_LEFT)):
        project = gated_repo / "jobs" / app / "spark"
        shutil.copytree(example, project, ignore=shutil.ignore_patterns("test_*.py", ".venv"))
        (project / "tests" / f"test_{app}.py").write_text(test)
    try:
        out = run(["make", "test-jobs"], gated_repo).stdout
    finally:
        for app in ("iso_a", "iso_b"):
            shutil.rmtree(gated_repo / "jobs" / app)
    assert "==> jobs/iso_a/spark: runs" in out and "==> jobs/iso_b/spark: runs" in out
    assert "jobs: 6 projects passed" in out, out


def test_the_bake_refuses_the_modules_of_the_locked_scheduling_environment(gated_repo):
    """The pre-gen hook's SCHEDULING_MODULES are exactly what the baked gate's environment can
    import: derived from uv.lock, not kept by hand."""
    modules = set(
        scheduling_modules.importable_modules(gated_repo / ".tox" / "dags" / "bin" / "python")
    )
    assert {"airflow", "celery", "redis", "kombu"} <= modules
    assert modules == pre_gen.SCHEDULING_MODULES, (
        "hooks/pre_gen_project.py is behind uv.lock: run .tox/tests/bin/python "
        f"scripts/scheduling_modules.py (new: {sorted(modules - pre_gen.SCHEDULING_MODULES)}, "
        f"gone: {sorted(pre_gen.SCHEDULING_MODULES - modules)})"
    )


def test_make_help_lists_the_targets(gated_repo):
    out = run(["make", "help"], gated_repo).stdout
    for target in ("setup", "test", "lint"):
        assert f"make {target} " in out


def test_k8s_manifests_render_for_kubectl_apply(gated_repo):
    out = run(["make", "k8s-manifests", "ENVIRONMENT=prod"], gated_repo).stdout
    kinds = [document["kind"] for document in yaml.safe_load_all(out)]
    assert kinds == [
        "Namespace",
        "ServiceAccount",
        "ResourceQuota",
        "LimitRange",
        "Role",
        "RoleBinding",
        "NetworkPolicy",
    ]
    bad = run(["make", "k8s-manifests", "ENVIRONMENT=nowhere"], gated_repo, check=False)
    assert (bad.returncode, bad.stdout) == (2, "")
    assert bad.stderr.startswith("error: unknown environment 'nowhere' (known: dev, local, prod")


def test_a_job_asking_more_than_the_limit_range_allows_fails_naming_the_task(gated_repo):
    dag = gated_repo / "dags/data_pipelines/apps/k8s_example/k8s_example_dag.py"
    original = dag.read_text()
    dag.write_text(original.replace('memory="1Gi"', 'memory="64Gi"'))
    try:
        result = run(["make", "test-dags", "ARGS=-k every_container_task"], gated_repo, check=False)
    finally:
        dag.write_text(original)
    assert result.returncode != 0
    assert (
        "data_pipelines.k8s_example: task 'score' in prod: memory 64Gi exceeds the LimitRange max"
        in result.stdout
    )


def test_make_format_fixes_what_make_lint_would_report(gated_repo):
    script = gated_repo / "scripts" / "new_app.py"
    original = script.read_text()
    signature = "def main(argv: list[str] | None = None) -> int:"
    assert signature in original
    unformatted = "def main( argv: list[str] | None=None )->int :"
    script.write_text("import os\n" + original.replace(signature, unformatted))
    try:
        run(["make", "format"], gated_repo)
        fixed = script.read_text()
    finally:
        script.write_text(original)
    assert fixed == original


def test_two_repositories_share_one_dags_folder(gated_repo, tmp_path):
    other = bake(tmp_path / "other", project_name="Marketing Lake", owner="marketing")
    dags_folder = tmp_path / "airflow-dags"
    for repo, package in ((gated_repo, "data_pipelines"), (other, "marketing_lake")):
        shutil.copytree(repo / "dags" / package, dags_folder / package)
    script = textwrap.dedent(
        f"""
        import json
        import os
        import sys
        os.environ.update(DATA_PIPELINES_ENV="prod", MARKETING_LAKE_ENV="prod")
        from airflow.dag_processing.dagbag import DagBag
        sys.path.insert(0, {str(dags_folder)!r})
        bag = DagBag(dag_folder={str(dags_folder)!r})
        assert not bag.import_errors, bag.import_errors
        print(json.dumps({{"files": bag.size(), "dag_ids": bag.dag_ids}}))
        """
    )
    python = str(gated_repo / ".tox" / "dags" / "bin" / "python")
    loaded = json.loads(run([python, "-c", script], tmp_path).stdout.splitlines()[-1])
    prefixes = sorted({dag_id.split(".")[0] for dag_id in loaded["dag_ids"]})
    assert prefixes == ["data_pipelines", "marketing_lake"]
    # Three examples and the two janitors from each repository.
    assert len(loaded["dag_ids"]) == 10, loaded
    assert {"data_pipelines.ops.emr_janitor", "marketing_lake.ops.emr_janitor"} <= set(
        loaded["dag_ids"]
    )


def test_make_bench_prints_the_parse_cost_table(gated_repo):
    """The parse benchmark runs on a baked repository (output only: its figures are the
    machine's); N=1 parses 1 and 2 apps of each pattern, library and raw, both bytecode modes."""
    out = run(["make", "bench", "N=1", "REPEATS=1"], gated_repo).stdout
    # bytecode, pattern, files; then library, raw, ratio of `parse` and of `all`
    rows = {
        tuple(fields[:3]): fields[3:]
        for fields in (line.split() for line in out.splitlines())
        if fields[:1] in (["no"], ["yes"]) and len(fields) == 9
    }
    for bytecode in ("no", "yes"):
        for pattern in ("spark", "k8s", "hybrid"):
            for files in ("1", "2"):
                figures = [float(value) for value in rows[(bytecode, pattern, files)]]
                assert figures[0] > 0 and figures[1] > 0, f"the parsers measured no CPU:\n{out}"
