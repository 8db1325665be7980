"""Local twin of the release task: the release must be deployed to the local deployment bucket,
a folder under .local-data/ (make run-local deploys the Spark scripts there as release `local`)."""

from __future__ import annotations

from {{ cookiecutter.package }}.local.paths import local_path
from {{ cookiecutter.package }}.release import PinRelease
from {{ cookiecutter.package }}.settings import Settings


class LocalPinRelease(PinRelease):
    def is_deployed(self, manifest: str, settings: Settings) -> bool:
        return local_path(manifest).is_file()
