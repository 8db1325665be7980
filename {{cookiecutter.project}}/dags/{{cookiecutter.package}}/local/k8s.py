"""Local twins of the container-job operators: the image's entrypoint as a local process.

The image `<app>-<job>` is built from jobs/<app>/<job>/. Its entrypoint (the Dockerfile's
exec-form ENTRYPOINT, or the task's `cmds`) runs with the task's rendered arguments in the
job's own locked environment, without dev dependencies as in the image:
`uv run --no-dev --project jobs/<app>/<job> python -m <job> ...`, from the job's folder (the
image's WORKDIR holds the same code). `s3://` locations in the arguments are folders under
.local-data/ (paths.py) and the task's env_vars are passed on; resources, namespace and
security settings belong to Kubernetes and do not apply.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.providers.cncf.kubernetes.operators.job import KubernetesJobOperator
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

from {{ cookiecutter.package }}.local.paths import JOBS, LOCAL_DATA, localize
from {{ cookiecutter.package }}.local.process import LocalProcess, LocalRunError, uv_run
{% raw %}
if TYPE_CHECKING:
    from airflow.sdk import Context

ENTRYPOINT = re.compile(r"^\s*ENTRYPOINT\s+(?P<command>.+)$", re.IGNORECASE | re.MULTILINE)


def job_folder(image: str) -> Path:
    """jobs/<app>/<job>/ of a rendered image `<registry>/<app>-<job>:<release>`."""
    name = image.rsplit("/", 1)[-1].split("@")[0].split(":")[0]
    app, _, job = name.partition("-")
    folder = JOBS / app / job
    if not job or not (folder / "Dockerfile").is_file():
        raise LocalRunError(
            f"image {image}: no {folder}/Dockerfile (the image <app>-<job> of a container job "
            "is built from jobs/<app>/<job>/)"
        )
    return folder


def entrypoint(dockerfile: Path) -> list[str]:
    """The Dockerfile's last ENTRYPOINT, the one Docker runs; it must be in exec form."""
    found = ENTRYPOINT.findall(dockerfile.read_text())
    try:
        command = json.loads(found[-1]) if found else None
    except json.JSONDecodeError:
        command = None
    if not (command and isinstance(command, list) and all(isinstance(w, str) for w in command)):
        raise LocalRunError(
            f'{dockerfile}: needs an ENTRYPOINT in exec form, e.g. ["python", "-m", "my_job"]'
        )
    return command


def local_command(
    image: str, cmds: Sequence[str], arguments: Sequence[str]
) -> tuple[list[str], Path]:
    """The local process of a container job, and the job folder it runs in."""
    folder = job_folder(image)
    command = [*(cmds or entrypoint(folder / "Dockerfile")), *arguments]
    local = [localize(word, LOCAL_DATA) for word in command]
    return [*uv_run(folder, dev=False), *local], folder


def environment(env_vars: Mapping[str, str] | Sequence[Any]) -> dict[str, str]:
    """The task's env_vars (a mapping, or k8s V1EnvVar objects) as plain variables."""
    if isinstance(env_vars, Mapping):
        return dict(env_vars)
    return {var.name: var.value for var in env_vars if var.value is not None}


class LocalContainer(LocalProcess):
    """Runs the job's entrypoint as a local process instead of a pod."""

    def execute(self, context: Context) -> None:
        command, folder = local_command(self.image, self.cmds, self.arguments)
        self.run_process(command, cwd=folder, env=environment(self.env_vars))


class LocalPod(LocalContainer, KubernetesPodOperator):
    pass


class LocalJob(LocalContainer, KubernetesJobOperator):
    pass


# Each operator a container job is built from, and its twin here (twins.py).
K8S_TWINS = {KubernetesPodOperator: LocalPod, KubernetesJobOperator: LocalJob}
{% endraw %}