{% raw %}"""Parse cost under Airflow's DAG processor: DAGs written with the team libraries against raw twins.

    make bench [N=5] [REPEATS=2]

For each pattern (spark, k8s, hybrid) it generates N apps with the scaffold of `make new-app`
and their raw twins: the same DAGs written by hand with the provider operators alone, from the
same JSON configs (the run's `release` task as a PythonOperator); the bench stops if a twin's
serialized DAG differs from its library DAG's. The real `airflow dag-processor -n 4`
(sqlite, a throwaway AIRFLOW_HOME) parses each folder 4 times, as production does every 30 s:
one child process per file and loop, forked after pre-importing the `airflow.*` modules that
file names. Two figures per DAG file and parse, in CPU seconds:

- `parse`: the forked parsers' CPU divided by the parses, what every parse loop pays per file
  (read from /proc while the finished processor waits to be reaped; Linux only);
- `all`: the CPU of the processor and its children minus that of a run over an empty folder,
  divided by the parses. It also carries the manager's one-time pre-import of the providers,
  spread over the parses (it falls from N to 2N and must never grow), and the manager's own
  work, which it does once a second of wall time whatever it parses.

Measured first without bytecode for site-packages and DAGs (as uv installs and as
PYTHONDONTWRITEBYTECODE=1 leaves them), then with everything compiled by compileall (as
production images usually ship). The goal: library/raw at most 1.05 for each pattern.

A processor run's total scatters by about 5% (the manager's work follows the machine's load),
10% of an `all` figure. A raw parser's CPU jumps by ~100 ms when the garbage collector makes a
full collection in it, sweeping the objects of the manager's pre-imports (the package freezes
them in library parsers: README, "DAG parse cost"); whether it does depends on the counters it
inherits and on how much it allocates. Four loops make four times the parses per processor
start, so one such collection weighs a quarter as much in a figure. Every folder is parsed
REPEATS times and the cheapest run counts (the least disturbed; the work itself never shrinks).
A folder and its twin are parsed at the same time, on two cores where there are two, and so are
two runs over the empty folder.
"""

from __future__ import annotations

import argparse
import ast
import itertools
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import sysconfig
import tempfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from string import Template
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

import new_app

from {% endraw %}{{ cookiecutter.package }}{% raw %}.defaults import EMR_POOL
from {% endraw %}{{ cookiecutter.package }}{% raw %}.release import VARIABLE
from {% endraw %}{{ cookiecutter.package }}{% raw %}.settings import ENVIRONMENT_VARIABLE, PACKAGE, TEAM

REPO = new_app.REPO
ENVIRONMENT = "dev"  # whose settings the DAGs are parsed with
LOOPS = 4  # parse loops per processor run
PATTERNS = ("spark", "k8s", "hybrid")

# The raw twin of a generated app: the DAG the libraries build, written by hand with the
# provider operators. Same task ids, dependencies and operator arguments (check_twins compares
# the serialized DAGs), so the bench weighs the libraries, not what their DAGs carry.
RAW_DAG = '''"""$doc"""

import json
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pendulum
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, Variable
from jinja2 import pass_context
$imports
HERE = Path(__file__).parent
SETTINGS = json.loads((HERE.parent / "settings.json").read_text())
DAG_ID = "$dag_id"


@pass_context
def release(context):
    return context["ti"].xcom_pull(task_ids="release")


def data_path(task_id):
    return "{{ config.DATA_BUCKET }}/$package/{{ dag.dag_id }}/%s/{{ ds }}" % task_id
$functions

with DAG(
    dag_id=DAG_ID,
    schedule="$schedule",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    default_args={
        "owner": "$team",
        "retries": 2,
        "retry_delay": timedelta(minutes=5),
        "execution_timeout": timedelta(hours=2),
    },
    tags=["$team", "$package", $tags],
    user_defined_macros={"config": SimpleNamespace(**SETTINGS), "release": release},
    doc_md=__doc__,
    dagrun_timeout=timedelta(hours=24),$max_active_runs
):
    pin = PythonOperator(task_id="release", python_callable=lambda: Variable.get("$variable"))
$body'''

RAW_CLUSTER_IMPORTS = """from airflow.providers.amazon.aws.operators.emr import (
    EmrAddStepsOperator,
    EmrCreateJobFlowOperator,
    EmrTerminateJobFlowOperator,
)
from airflow.providers.amazon.aws.sensors.emr import EmrJobFlowSensor, EmrStepSensor
"""

RAW_CLUSTER = """

AWS = {"aws_conn_id": SETTINGS["AWS_CONN_ID"], "region_name": SETTINGS["AWS_REGION"]}
CLUSTER_ID = "{{ ti.xcom_pull(task_ids='create_cluster_$app') }}"


def sensor_args(poll, max_wait):
    return {
        **AWS,
        "deferrable": SETTINGS["DEFERRABLE"],
        "mode": "reschedule",
        "poke_interval": poll.total_seconds(),
        "max_attempts": int(max_wait / poll),
        "timeout": max_wait.total_seconds(),
        "execution_timeout": max_wait,
    }


def cluster():
    config = json.loads((HERE / "cluster_configs" / "$app.json").read_text())
    del config["$$schema"]
    identity = {
        "team": "$package",
        "environment": SETTINGS["ENV"],
        "airflow_dag_id": DAG_ID,
        "airflow_run_id": "{{ run_id }}",
        "airflow_cluster": "$app",
        "for-use-with-amazon-emr-managed-policies": "true",
    }
    tags = {tag["Key"]: tag["Value"] for tag in config.get("Tags", [])} | identity
    instances = {**config["Instances"], **SETTINGS["EMR_SECURITY_GROUPS"]}
    subnets = SETTINGS["EMR_SUBNET_IDS"]
    if "InstanceFleets" in instances and subnets:
        instances["Ec2SubnetIds"] = subnets
    elif subnets:
        instances["Ec2SubnetId"] = subnets[0]
    security = SETTINGS["EMR_SECURITY_CONFIGURATION"]
    job_flow = {
        "AutoTerminationPolicy": {"IdleTimeout": SETTINGS["EMR_IDLE_TIMEOUT_SECONDS"]},
        **config,
        "Name": f"$package/{SETTINGS['ENV']}/" + config.get("Name", f"{DAG_ID}.$app"),
        "Instances": {**instances, "KeepJobFlowAliveWhenNoSteps": True},
        "Tags": [{"Key": key, "Value": value} for key, value in tags.items()],
        "ServiceRole": SETTINGS["EMR_SERVICE_ROLE"],
        "JobFlowRole": SETTINGS["EMR_INSTANCE_PROFILE"],
        **({"SecurityConfiguration": security} if security else {}),
    }
    create = EmrCreateJobFlowOperator(
        task_id="create_cluster_$app",
        job_flow_overrides=job_flow,
        pool="$pool",
        emr_conn_id=None,
        wait_for_completion=False,
        deferrable=False,
        **AWS,
    )
    create.template_ext = ()  # a value ending in .json is data, not a template file
    ready = EmrJobFlowSensor(
        task_id="wait_for_cluster_$app",
        job_flow_id=CLUSTER_ID,
        target_states=["RUNNING", "WAITING"],
        failed_states=["TERMINATING", "TERMINATED", "TERMINATED_WITH_ERRORS"],
        **sensor_args(timedelta(seconds=30), timedelta(hours=1)) | {"deferrable": False},
    )
    terminate = EmrTerminateJobFlowOperator(
        task_id="terminate_cluster_$app", job_flow_id=CLUSTER_ID, deferrable=False, **AWS
    )
    return create, ready, terminate


def step(name, params):
    job = json.loads((HERE / "job_configs" / f"{name}.json").read_text())
    flags = {**job["JobParams"], **{f"--{key}": value for key, value in params.items()}}
    args = ["spark-submit"]
    for flag, value in job["SparkArgs"].items():
        for item in value if isinstance(value, list) else [value]:
            args += [flag, item]
    args.append(job["ScriptPath"])
    for flag, value in flags.items():
        args += [flag, value]
    add = EmrAddStepsOperator(
        task_id=name,
        job_flow_id=CLUSTER_ID,
        steps=[
            {
                "Name": name,
                "ActionOnFailure": "CONTINUE",
                "HadoopJarStep": {"Jar": "command-runner.jar", "Args": args},
            }
        ],
        wait_for_completion=False,
        deferrable=False,
        **AWS,
    )
    add.template_ext = ()
    check = EmrStepSensor(
        task_id=f"wait_for_{name}",
        job_flow_id=CLUSTER_ID,
        step_id="{{ ti.xcom_pull(task_ids='%s')[0] }}" % name,
        **sensor_args(timedelta(seconds=60), timedelta(hours=24)),
    )
    add >> check
    return add, check
"""

# How the twin reaches Kubernetes: as the libraries do for the environment (K8S_EKS_CLUSTER).
RAW_POD_IMPORTS = {
    "KubernetesPodOperator": "from airflow.providers.cncf.kubernetes.operators.pod import "
    "KubernetesPodOperator\nfrom kubernetes.client import models as k8s\n",
    "EksPodOperator": "from airflow.providers.amazon.aws.operators.eks import EksPodOperator\n"
    "from kubernetes.client import models as k8s\n",
}
RAW_CONNECTION = {
    "KubernetesPodOperator": """in_cluster=SETTINGS["K8S_IN_CLUSTER"],
        config_file=SETTINGS["K8S_CONFIG_FILE"],
        kubernetes_conn_id=SETTINGS["K8S_CONN_ID"],""",
    "EksPodOperator": """cluster_name=SETTINGS["K8S_EKS_CLUSTER"],
        aws_conn_id=SETTINGS["AWS_CONN_ID"],
        region=SETTINGS["AWS_REGION"],""",
}

RAW_POD = """

def score(source_path, timeout=SETTINGS["K8S_JOB_TIMEOUT_SECONDS"]):
    return $operator(
        task_id="score",
        image=SETTINGS["IMAGE_REGISTRY"] + "/$app-score:{{ release() }}",
        arguments=[
            "--source_path", source_path,
            "--result_path", data_path("score"),
            "--date", "{{ ds }}",
        ],
        container_resources=k8s.V1ResourceRequirements(
            limits={"memory": "1Gi", "cpu": "500m"}, requests={"memory": "1Gi", "cpu": "500m"}
        ),
        namespace=SETTINGS["K8S_NAMESPACE"],
        image_pull_secrets=[
            k8s.V1LocalObjectReference(name=name) for name in SETTINGS["K8S_IMAGE_PULL_SECRETS"]
        ],
        service_account_name=SETTINGS["K8S_SERVICE_ACCOUNT"],
        get_logs=True,
        do_xcom_push=False,
        on_finish_action=SETTINGS["K8S_ON_FINISH_ACTION"],
        startup_timeout_seconds=SETTINGS["K8S_STARTUP_TIMEOUT_SECONDS"],
        deferrable=SETTINGS["DEFERRABLE"],
        security_context=k8s.V1PodSecurityContext(
            run_as_non_root=True, seccomp_profile=k8s.V1SeccompProfile(type="RuntimeDefault")
        ),
        container_security_context=k8s.V1SecurityContext(
            allow_privilege_escalation=False,
            capabilities=k8s.V1Capabilities(drop=["ALL"]),
            read_only_root_filesystem=True,
            run_as_non_root=True,
        ),
        logging_interval=300,
        execution_timeout=timedelta(seconds=timeout),
        active_deadline_seconds=timeout,
        $connection
        volumes=[k8s.V1Volume(name="tmp", empty_dir=k8s.V1EmptyDirVolumeSource())],
        volume_mounts=[k8s.V1VolumeMount(name="tmp", mount_path="/tmp")],
        labels={
            "team": "$team",
            "project": "$package",
            "app": "$app",
            "dag": DAG_ID,
            "task": "score",
        },
    )
"""

RAW_BODY = {
    "spark": """    create, ready, terminate = cluster()
    add, check = step("daily_event_counts", {"output_path": data_path("daily_event_counts")})
    pin >> create >> ready >> add
    check >> terminate.as_teardown(setups=[create, ready])
""",
    "k8s": """    pin >> score("{{ config.DATA_BUCKET }}/landing/orders/{{ ds }}")
""",
    "hybrid": """    create, ready, terminate = cluster()
    pre, pre_check = step("preprocess", {"output_path": data_path("preprocess")})
    scored = score(data_path("preprocess"), timeout=900)
    post, post_check = step(
        "postprocess", {"input_path": data_path("score"), "output_path": data_path("postprocess")}
    )
    pin >> create >> ready >> pre
    pin >> scored
    pre_check >> scored >> post
    pre_check >> post
    post_check >> terminate.as_teardown(setups=[create, ready])
""",
}
RAW_SCHEDULE = {"spark": "0 1 * * *", "k8s": "0 3 * * *", "hybrid": "0 2 * * *"}
RAW_TAGS = {"spark": '"spark"', "k8s": '"k8s"', "hybrid": '"spark", "k8s"'}


def raw_dag(app: str, pattern: str, library_dag: Path, settings: dict) -> str:
    """The raw twin of `library_dag`, app `app` of `pattern`, for the environment `settings`."""
    clusters, pods = pattern in ("spark", "hybrid"), pattern in ("k8s", "hybrid")
    pod = "EksPodOperator" if settings["K8S_EKS_CLUSTER"] else "KubernetesPodOperator"
    names = {"app": app, "package": PACKAGE, "team": TEAM}
    functions = (RAW_CLUSTER if clusters else "") + (RAW_POD if pods else "")
    return Template(RAW_DAG).substitute(
        names,
        doc=ast.get_docstring(ast.parse(library_dag.read_text()), clean=False),
        dag_id=f"{PACKAGE}.{app}",
        variable=VARIABLE,
        schedule=RAW_SCHEDULE[pattern],
        tags=RAW_TAGS[pattern],
        max_active_runs="\n    max_active_runs=1," if clusters else "",
        imports=(RAW_CLUSTER_IMPORTS if clusters else "") + (RAW_POD_IMPORTS[pod] if pods else ""),
        functions=Template(functions).substitute(
            names, pool=EMR_POOL, operator=pod, connection=RAW_CONNECTION[pod]
        ),
        body=RAW_BODY[pattern],
    )


def generate(pattern: str, count: int, workdir: Path) -> tuple[Path, Path]:
    """Two DAGs folders of `count` apps each: `library` (the package, apps made by the scaffold)
    and `raw` (the same apps and configs, DAG files written with the provider operators)."""
    answers = new_app.recorded_answers()
    library, raw = workdir / f"library-{pattern}-{count}", workdir / f"raw-{pattern}-{count}"
    # The package without its own DAGs (apps, the ops DAGs): only the generated apps are parsed.
    ignore = shutil.ignore_patterns("apps", "ops", "__pycache__")
    shutil.copytree(REPO / "dags" / PACKAGE, library / PACKAGE, ignore=ignore)
    settings = library / PACKAGE / "environments" / f"{ENVIRONMENT}.json"
    raw.mkdir(parents=True)
    shutil.copy(settings, raw / "settings.json")
    model = f"bench_{pattern}"
    rendered = workdir / "render" / pattern / model
    if not rendered.exists():
        new_app.render(model, pattern, answers, rendered.parent)
    model_dir = rendered / "dags" / PACKAGE / "apps" / model
    environment = json.loads(settings.read_text())
    for index in range(count):
        app = f"{model}_{index}"
        copy_app(model_dir, library / PACKAGE / "apps" / app, model, app)
        copy_app(model_dir, raw / app, model, app)
        library_dag = library / PACKAGE / "apps" / app / f"{app}_dag.py"
        (raw / app / f"{app}_dag.py").write_text(raw_dag(app, pattern, library_dag, environment))
    return library, raw


def copy_app(source: Path, target: Path, model: str, app: str) -> None:
    for path in source.rglob("*"):
        if path.is_file():
            destination = target / path.relative_to(source).as_posix().replace(model, app)
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_text(path.read_text().replace(model, app))


class Processor:
    """Runs `airflow dag-processor -n LOOPS` over one folder at a time, on a fresh database."""

    def __init__(self, workdir: Path, pycache: Path) -> None:
        self.workdir = workdir
        self.database = workdir / "migrated.db"
        self.env = os.environ | {
            ENVIRONMENT_VARIABLE: ENVIRONMENT,
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            # CPU is measured, not wall time: a loaded machine must not time a parse out.
            "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "600",
            # Every file in every loop, as production does every 30 s.
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "0",
            "PYTHONDONTWRITEBYTECODE": "1",
            # Bytecode is read from here only: what is compiled there is all there is.
            "PYTHONPYCACHEPREFIX": str(pycache),
        }
        self.runs = itertools.count(1)  # thread-safe, for parse_together
        self.cores = ThreadPoolExecutor(min(2, os.cpu_count() or 1))
        self.airflow(["db", "migrate"], workdir / "migrate")
        shutil.copy(workdir / "migrate" / "airflow.db", self.database)

    def airflow(self, arguments: list[str], home: Path, dags: Path | None = None) -> Cpu:
        """Run an airflow command; return the CPU seconds of its process tree."""
        home.mkdir(parents=True, exist_ok=True)
        env = self.env | {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags or home / "dags"),
        }
        log = home / "airflow.log"
        with log.open("w") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "airflow", *arguments],
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
            children = None
            if hasattr(os, "waitid"):  # not on macOS
                # Exited but not reaped, the process still shows its children's CPU in /proc.
                os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT)
                children = children_cpu(process.pid)
            # wait4: the usage of this process and of every child it waited for (the parsers).
            _, status, usage = os.wait4(process.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"bench: airflow {' '.join(arguments)} failed, see {log}:\n{tail(log)}")
        return Cpu(usage.ru_utime + usage.ru_stime, children)

    def parse(self, folder: Path, files: int) -> Run:
        """One parse of every DAG file in `folder` (all must load): its CPU seconds, and the
        DAGs as the processor serialized them."""
        home = self.workdir / f"home-{next(self.runs)}"
        home.mkdir()
        shutil.copy(self.database, home / "airflow.db")
        cpu = self.airflow(["dag-processor", "-n", str(LOOPS)], home, folder)
        with sqlite3.connect(home / "airflow.db") as db:
            errors = db.execute("SELECT filename, stacktrace FROM import_error").fetchall()
            rows = db.execute("SELECT dag_id, data, data_compressed FROM serialized_dag")
            dags = {dag: json.loads(data or zlib.decompress(packed)) for dag, data, packed in rows}
        if errors:
            sys.exit(f"bench: {folder}: import errors:\n{errors[0][0]}\n{errors[0][1]}")
        if len(dags) != files:
            sys.exit(f"bench: {folder}: {len(dags)} DAGs parsed, expected {files}; see {home}")
        shutil.rmtree(home)
        return Run(cpu, dags)

    def parse_together(self, folders: list[Path], files: int) -> list[Run]:
        """`parse` of each folder, side by side on up to two cores: a folder and its twin share
        whatever load the machine has, and the bench takes half the time."""
        return list(self.cores.map(self.parse, folders, [files] * len(folders)))


class Cpu(NamedTuple):
    total: float  # the processor and its children
    children: float | None  # its children (the parsers) alone; None where /proc is not


class Run(NamedTuple):
    cpu: Cpu
    dags: dict[str, dict]  # serialized, by DAG id


# What a twin does its own way: the libraries build tasks from subclasses of the provider
# operators (their class, module and added template fields), and the `release` task.
LIBRARY_OWN = {
    "_task_module",
    "task_type",
    "template_fields",
    "template_fields_renderers",
    "ui_color",
    "identity",
}


def check_twins(library: dict[str, dict], raw: dict[str, dict]) -> None:
    """Stop unless every twin builds the DAG of its library file: the same DAG arguments, tasks,
    dependencies and operator arguments, as the processor serialized them."""
    for dag_id, serialized in library.items():
        found = difference(shape(serialized), shape(raw.get(dag_id, {"dag": {}})), dag_id)
        if found:
            sys.exit(
                f"bench: the raw twin of {dag_id} builds another DAG: {found} "
                "(write the twin as the libraries build the DAG: RAW_* in scripts/bench_parse.py)"
            )


def shape(serialized: dict) -> dict:
    """A serialized DAG without what a twin does its own way (LIBRARY_OWN) or where it lives."""
    dag = dict(serialized["dag"])
    tasks = {}
    for task in dag.pop("tasks", []):
        fields = {key: value for key, value in task["__var"].items() if key not in LIBRARY_OWN}
        if fields["task_id"] == "release":  # the libraries' own operator, a PythonOperator here
            fields = {key: fields.get(key) for key in ("task_id", "downstream_task_ids")}
        tasks[fields["task_id"]] = fields
    for key in ("fileloc", "relative_fileloc", "_processor_dags_folder"):
        dag.pop(key, None)
    return dag | {"tasks": tasks}


def difference(library: object, raw: object, where: str) -> str | None:
    """Where two JSON values first differ, and how; None if they do not."""
    if isinstance(library, dict) and isinstance(raw, dict):
        for key in sorted(library.keys() | raw.keys()):
            found = difference(library.get(key, "<none>"), raw.get(key, "<none>"), f"{where}.{key}")
            if found:
                return found
        return None
    if isinstance(library, list) and isinstance(raw, list) and len(library) == len(raw):
        for index, (left, right) in enumerate(zip(library, raw, strict=True)):
            found = difference(left, right, f"{where}[{index}]")
            if found:
                return found
        return None
    return None if library == raw else f"{where} is {library!r}, the twin's {raw!r}"


def children_cpu(pid: int) -> float | None:
    """The CPU seconds of the children `pid` waited for (cutime + cstime in /proc/<pid>/stat)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # after the command name, field 3 (state) is [0]
    return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")


def tail(log: Path) -> str:
    return "\n".join(log.read_text().splitlines()[-30:])


def compile_bytecode(pycache: Path, *trees: str | Path) -> None:
    env = os.environ | {"PYTHONPYCACHEPREFIX": str(pycache)}
    # Test suites and GUI modules of the standard library are never imported while parsing.
    skip = r"[/\\](test|tests|idlelib|tkinter|turtledemo|lib2to3)[/\\]"
    command = [sys.executable, "-m", "compileall", "-q", "-j0", "-x", skip, *map(str, trees)]
    subprocess.run(command, env=env, stdout=subprocess.DEVNULL, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=5, help="apps per pattern (5)")
    parser.add_argument("repeats", nargs="?", type=int, default=2, help="runs per folder (2)")
    arguments = parser.parse_args()
    count, repeats = arguments.n, arguments.repeats
    if count < 1 or repeats < 1:
        sys.exit("bench: N and REPEATS must be at least 1")
    sizes = (count, 2 * count)
    with tempfile.TemporaryDirectory(prefix="bench-parse-") as tmp:
        workdir = Path(tmp)
        folders = {
            (pattern, size): generate(pattern, size, workdir)
            for pattern in PATTERNS
            for size in sizes
        }
        empty_folder = workdir / "empty"
        empty_folder.mkdir()
        pycache = workdir / "pycache"
        paths = sysconfig.get_paths()
        # The interpreter's own standard library ships compiled, in both cases.
        compile_bytecode(pycache, paths["stdlib"])
        processor = Processor(workdir, pycache)
        print(
            f"CPU seconds per DAG file and parse under `airflow dag-processor -n {LOOPS}`, the "
            f"cheapest of {repeats} runs of each folder: `parse` the forked parsers alone, `all` "
            "the whole processor minus its run over an empty folder"
        )
        print(f"{'':<23}{'parse':-^24}  {'all':-^24}")
        heading = f"{'library':>8}{'raw':>8}{'ratio':>8}"
        print(f"{'bytecode':<9}{'pattern':<8}{'files':>6}{heading}  {heading}")
        for bytecode in ("no", "yes"):
            if bytecode == "yes":
                dags = [folder for pair in folders.values() for folder in pair]
                compile_bytecode(pycache, *{paths["purelib"], paths["platlib"]}, *dags)
            empties = [processor.parse_together([empty_folder] * 2, 0) for _ in range(repeats)]
            empty = min(run.cpu.total for pair in empties for run in pair)
            print(f"{bytecode:<9}(empty folder: {empty:.2f} s per run)")
            for (pattern, size), (library, raw) in folders.items():
                runs = [processor.parse_together([library, raw], size) for _ in range(repeats)]
                check_twins(runs[0][0].dags, runs[0][1].dags)
                sides = list(zip(*runs, strict=True))  # library's runs, raw's runs
                parse = per_file(sides, "children", size, baseline=0.0)
                whole = per_file(sides, "total", size, baseline=empty)
                row = f"{bytecode:<9}{pattern:<8}{size:>6}{columns(parse)}  {columns(whole)}"
                print(row, flush=True)


def per_file(
    sides: list[tuple[Run, ...]], field: str, files: int, baseline: float
) -> list[float] | None:
    """Each side's cheapest run of `field`, minus `baseline`, per file and loop; None if not
    measured."""
    values = [[getattr(run.cpu, field) for run in runs] for runs in sides]
    if any(None in side for side in values):
        return None
    return [(min(side) - baseline) / (files * LOOPS) for side in values]


def columns(figures: list[float] | None) -> str:
    """library, raw and their ratio; dashes where the figure cannot be had."""
    if figures is None:
        return f"{'-':>8}{'-':>8}{'-':>8}"
    library, raw = figures
    return f"{library:>8.3f}{raw:>8.3f}{library / raw:>8.2f}"


if __name__ == "__main__":
    main(){% endraw %}
