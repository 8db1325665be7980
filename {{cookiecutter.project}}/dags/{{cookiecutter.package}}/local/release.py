"""Local twin of the release task: the release must be deployed to the local deployment bucket,
a folder under .local-data/ (make run-local deploys the Spark scripts there as release `local`).
Local runs have no images to check."""

from __future__ import annotations

import json

from {{ cookiecutter.package }}.local.paths import local_path
from {{ cookiecutter.package }}.release import PinRelease
from {{ cookiecutter.package }}.settings import Settings


class LocalPinRelease(PinRelease):
    def read_manifest(self, manifest: str, settings: Settings) -> dict | None:
        path = local_path(manifest)
        return json.loads(path.read_text()) if path.is_file() else None

    def missing(self, release: str, manifest: dict, settings: Settings) -> list[str]:
        folder = local_path(f"{settings.DEPLOYMENT_BUCKET}/{release}")
        scripts = manifest.get("scripts", [])
        return [str(folder / name) for name in scripts if not (folder / name).is_file()]
