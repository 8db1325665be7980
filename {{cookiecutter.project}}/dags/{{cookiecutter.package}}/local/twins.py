"""The runtime of `make run-local` (runtime.py): each production operator the libraries build
tasks from, and its local twin. environments/local.json names this module as its RUNTIME."""

from __future__ import annotations

from {{ cookiecutter.package }}.local.emr import EMR_TWINS
from {{ cookiecutter.package }}.local.k8s import K8S_TWINS
from {{ cookiecutter.package }}.local.release import LocalPinRelease
from {{ cookiecutter.package }}.release import PinRelease

TWINS = {**EMR_TWINS, **K8S_TWINS, PinRelease: LocalPinRelease}
