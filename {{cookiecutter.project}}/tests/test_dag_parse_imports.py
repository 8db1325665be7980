"""DAG files parse cheaply under Airflow's DAG processor: nothing heavy is imported at each parse.

The processor parses each DAG file in a child process forked from its manager, and before the
fork the manager imports the `airflow.*` modules named in that file's own import statements
(`[dag_processor] parsing_pre_import_modules`); those stay loaded for every later parse. A heavy
module reached only behind the team library (the providers, the Kubernetes client, botocore) is
imported again in every child: seconds of CPU per file and parse. So a DAG file names the
provider modules its library calls use, and this guard checks it, file by file, as the processor
does: a fresh process imports what Airflow's own `iter_airflow_imports` finds in the file, forks,
parses the file in the child, and fails if that imported a heavy module. No timing: the same
files pass or fail on any machine. `make bench` measures the cost itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from {{ cookiecutter.package }}.settings import PACKAGE

from tests.conftest import PACKAGE_DIR, REPO

# Top-level packages (and provider modules) too heavy to import at every parse. Measured with
# `python -X importtime -c "import airflow.sdk; import airflow.providers.amazon.aws.operators.emr,
# airflow.providers.cncf.kubernetes.operators.pod"`, summing self time per package: kubernetes
# and kubernetes_asyncio are two thirds of it, then aiohttp, botocore, oauthlib, urllib3, the
# amazon and cncf providers, requests, websocket, s3transfer, boto3; pandas, pyarrow and numpy
# are what data code tends to bring in. jsonschema is listed too: airflow.sdk loads it already,
# so it only counts where a DAG file does not import airflow.sdk.
HEAVY = (
    "airflow.providers",
    "kubernetes",
    "kubernetes_asyncio",
    "aiohttp",
    "aiobotocore",
    "botocore",
    "boto3",
    "s3transfer",
    "oauthlib",
    "urllib3",
    "requests",
    "websocket",
    "jsonschema",
    "pandas",
    "pyarrow",
    "numpy",
)

# One interpreter for every file: warmed as the processor's manager is, then a fork per set of
# pre-imported modules, a fork of that per file, and a fork of that for the parse.
GUARD = """
import importlib, json, os, sys, tempfile, traceback
from airflow.dag_processing.dagbag import DagBag
from airflow.utils.file import iter_airflow_imports

HEAVY, PACKAGE, FILES = json.loads(sys.argv[1])


def heavy(name):
    return any(name == prefix or name.startswith(prefix + ".") for prefix in HEAVY)


def forked(work):
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            result = work()
        except BaseException:
            result = {"crash": traceback.format_exc()}
        with os.fdopen(write, "w") as pipe:
            pipe.write(json.dumps(result))
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        result = pipe.read()
    os.waitpid(pid, 0)
    return json.loads(result)


def parse(dag_file):
    loaded = set(sys.modules)
    DagBag(dag_folder=dag_file, safe_mode=False)  # import errors: test_dag_validation's
    new = [name for name in sys.modules if name not in loaded]
    library = [name for name in new if name.split(".")[0] == PACKAGE]
    # What the library modules themselves import from airflow.*, in their order.
    named = {
        module: name
        for name in library
        for module in iter_airflow_imports(getattr(sys.modules[name], "__file__", None) or "")
        if module in new
    }
    return {
        "heavy": [name for name in new if heavy(name)],
        "named": named,
    }


def loaded_by(module):
    importlib.import_module(module)
    return list(sys.modules)


def check(dag_file):
    result = forked(lambda: parse(dag_file))  # its airflow imports are loaded: check_alike
    # Few airflow modules to name that load the heavy ones, chosen greedily (each loads the most
    # of those still missing): the library's airflow imports first, then heavy airflow modules
    # loaded lazily, inside functions (`@task` loads the standard provider's decorators).
    result["add"] = []
    lazy = [name for name in result["heavy"] if name.startswith("airflow.")]
    for candidates in (list(result["named"]), lazy):
        while missing := [name for name in result["heavy"] if name not in sys.modules]:
            loads = {
                module: len(set(forked(lambda: loaded_by(module))) & set(missing))
                for module in candidates
                if module not in sys.modules
            }
            if not loads or max(loads.values()) == 0:
                break
            best = max(loads, key=loads.get)
            importlib.import_module(best)
            result["add"].append(best)
    result["left"] = [name for name in result["heavy"] if name not in sys.modules]
    return result


# Files that name the same airflow modules (the apps of a pattern do) share one fork that
# imported them; each is checked in a fork of that, as if alone.
def check_alike(modules, dag_files):
    for module in modules:
        importlib.import_module(module)
    return {path: forked(lambda: check(path)) for path in dag_files}


with tempfile.TemporaryDirectory() as empty:
    DagBag(dag_folder=empty, safe_mode=False)
alike = {}
for path in FILES:
    alike.setdefault(tuple(iter_airflow_imports(path)), []).append(path)
results = {}
for modules, dag_files in alike.items():
    checked = forked(lambda: check_alike(modules, dag_files))
    # A crash before each file had its own result (a pre-import failing) is every file's.
    results.update(dict.fromkeys(dag_files, checked) if "crash" in checked else checked)
print(json.dumps(results))
"""


def heavy_imports_at_parse(dag_files: list[str]) -> dict[str, dict]:
    env = os.environ | {
        "PYTHONPATH": os.pathsep.join([str(PACKAGE_DIR.parent), str(REPO)]),
        # What is imported is checked, not how long it takes: a busy machine must not time out.
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "600",
    }
    arguments = json.dumps([HEAVY, PACKAGE, dag_files])
    command = [sys.executable, "-c", GUARD, arguments]
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0, result.stderr[-5000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def problem(path: str, result: dict) -> str | None:
    """One message naming the file, the first heavy module and what to add; None if cheap."""
    dag_file = Path(path).relative_to(REPO)
    if "crash" in result:
        return f"{dag_file}: the guard failed:\n{result['crash']}"
    if not result["heavy"]:
        return None
    if result["left"]:
        return (
            f"{dag_file}: parsing it imports {result['left'][0]}, at every parse: import it "
            "inside the function that runs when the task runs, not at module level"
        )
    via = sorted({result["named"][module] for module in result["add"] if module in result["named"]})
    through = f" through {', '.join(via)}" if via else ""
    lines = "\n".join(f"    import {module}" for module in result["add"])
    return (
        f"{dag_file}: parsing it imports {result['heavy'][0]}{through}, again at every parse. "
        f"Add at the top of the file, so that Airflow's DAG processor loads it once:\n{lines}"
    )


def test_dag_files_import_nothing_heavy_at_parse():
    # The apps' DAG files and the team's own (ops/: the EMR janitor).
    dag_files = sorted(
        str(path)
        for pattern in ("apps/*/*_dag.py", "ops/*_dag.py")
        for path in PACKAGE_DIR.glob(pattern)
    )
    results = heavy_imports_at_parse(dag_files)
    problems = [problem(path, results[path]) for path in dag_files]
    problems = [message for message in problems if message]
    assert not problems, "\n".join(problems)
