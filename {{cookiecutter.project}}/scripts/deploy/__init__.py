"""Ship a release of this repository to one environment.

A release is a commit SHA. Its business code goes first: one image per container job
(`<IMAGE_REGISTRY>/<app>-<job>:<release>`), the Spark scripts
(`<DEPLOYMENT_BUCKET>/<release>/<app>/<script>.py`) and, last, the release's manifest
`release.json`. Then the scheduling code ships, and only then the release Variable
(release.py) is set: a new run never starts on DAG code older than its release. Each run keeps
the release it started with. Run `python -m scripts.deploy --help`.
"""

import sys
from pathlib import Path

# Environment files are read with the loader Airflow uses, dags/<package>/configs.py (it needs
# jsonschema, not Airflow): one schema, and the same one-line errors naming the file and key.
DAGS = str(Path(__file__).resolve().parents[2] / "dags")
if DAGS not in sys.path:
    sys.path.append(DAGS)


class DeployError(Exception):
    """A deploy step cannot go on; the message is the one line the user sees."""


class BadInput(DeployError):
    """An unknown environment or incomplete settings: exit code 2, before anything changed."""
