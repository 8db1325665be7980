"""A pytest plugin loaded before any conftest (pyproject.toml's addopts), so before Airflow reads
its configuration: under pytest-xdist each worker gets an Airflow home of its own inside the one
given (tox's), so its own metadata DB and DAGs folder, and runs are never seen by another worker."""

import os

if (worker := os.environ.get("PYTEST_XDIST_WORKER")) and (home := os.environ.get("AIRFLOW_HOME")):
    os.environ["AIRFLOW_HOME"] = os.path.join(home, worker)
