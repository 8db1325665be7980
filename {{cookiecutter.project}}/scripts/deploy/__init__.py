"""Ship a release of this repository to one environment.

A release is a commit SHA. Its business code goes first: one image per container job
(`<IMAGE_REGISTRY>/<app>-<job>:<release>`) and the Spark scripts
(`<DEPLOYMENT_BUCKET>/<release>/<app>/<script>.py`). Then the Airflow Variable
`<package>_docker_tag` is set to the release, and only then the scheduling code ships, so a DAG
never references an artifact that is not there yet. Run `python -m scripts.deploy --help`.
"""


class DeployError(Exception):
    """A deploy step cannot go on; the message is the one line the user sees."""


class BadInput(DeployError):
    """An unknown environment or incomplete settings: exit code 2, before anything changed."""
