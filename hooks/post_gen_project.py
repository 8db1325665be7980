"""Finish the baked repository: drop what an option turned off, record the answers, say what next.

Optional parts are removed here rather than with conditional directory names, which
cookiecutter mishandles. The answers are recorded in `.cruft.json`, so `cruft update` can
later merge template changes into the repository and `make new-app` can reuse them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

# Parsed as data, never as code: see pre_gen_project.py.
ANSWERS = r"""{{ cookiecutter | tojson }}"""

# What each option value turns off, as paths relative to the baked repository.
REMOVALS: dict[tuple[str, str], tuple[str, ...]] = {
    # Renders the K8s example's image with a deployed tag: nothing to render without it.
    ("example_apps", "no"): ("tests/deploy/test_release_tag.py",),
}

# The example apps, made by the repository's own `make new-app` machinery from .scaffold/,
# so the examples and every app a team adds later follow the same conventions.
EXAMPLES = {"spark_example": "spark", "k8s_example": "k8s", "hybrid_example": "hybrid"}

# Paths that belong to the team, not to the template: `cruft update` leaves them alone.
# (.cruft.json is cruft's own: it rewrites the file after an update.)
CRUFT_SKIP = (
    "dags/{package}/apps",
    "jobs",
    "tests/apps",
    "dags/{package}/environments",
    ".cruft.json",
    ".git",
)


def remove_disabled(answers: dict, root: Path) -> list[Path]:
    """Delete the files and folders that the chosen option values turn off."""
    removed = []
    for (key, value), paths in REMOVALS.items():
        if answers.get(key) != value:
            continue
        for relative in paths:
            path = root / relative.format(**answers)
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
            else:
                continue
            removed.append(path)
    return removed


def add_examples(answers: dict, root: Path) -> None:
    """Create the example apps with scripts/new_app.py, as `make new-app` would."""
    if answers.get("example_apps") != "yes":
        return
    sys.path.insert(0, str(root / "scripts"))
    import new_app

    for name, pattern in EXAMPLES.items():
        new_app.create_app(name, pattern, answers)


def rendered_by_cruft(answers: dict) -> bool:
    """cruft (create, update, diff) renders into a temporary folder and records the commit."""
    return "_commit" in answers


def template_source(answers: dict) -> tuple[str, str | None]:
    """Where the template came from, as cruft needs it, and the commit it was baked at."""
    if rendered_by_cruft(answers):
        return answers["_template"], answers["_commit"]
    # Hooks run inside the new repository: a relative template path is the caller's.
    caller_dir = os.environ.get("PWD", ".")
    template = answers["_template"]
    if template.startswith("gh:"):
        template = "https://github.com/" + template[3:]
    elif Path(caller_dir, template).is_dir():
        template = str(Path(caller_dir, template).resolve())
    git = ["git", "-C", str(Path(caller_dir, answers["_repo_dir"])), "rev-parse", "HEAD"]
    try:
        commit = subprocess.run(git, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = None
    return template, commit


def cruft_record(answers: dict, template: str, commit: str | None) -> dict:
    """The `.cruft.json` content: cruft's own format, answers without cookiecutter internals."""
    context = {k: v for k, v in answers.items() if not k.startswith("_") or k == "_template"}
    context["_template"] = template
    return {
        "template": template,
        "commit": commit,
        "checkout": answers.get("_checkout"),
        "context": {"cookiecutter": context},
        "directory": None,
        "skip": [path.format(**answers) for path in CRUFT_SKIP],
    }


def init_git(root: Path) -> bool:
    """Start a git repository with every file staged (pre-commit lists files through git).

    Skipped when git is missing or the repository is baked inside another work tree.
    """
    if not shutil.which("git"):
        return False
    probe = ["git", "rev-parse", "--is-inside-work-tree"]
    if subprocess.run(probe, cwd=root, capture_output=True, text=True).stdout.strip() == "true":
        return False
    for command in (["git", "init", "-q", "-b", "main"], ["git", "add", "-A"]):
        subprocess.run(command, cwd=root, check=True)
    return True


NEXT_STEPS = """
Baked {project}/ ({project_name}).

Next steps:
  cd {project}
  git commit -m "Bake from hybrid-airflow"   # files are staged in a new git repository
  make setup        # the scheduling-side environment in .venv
  make test         # the whole gate: lint + scheduling tests + job tests
  make help         # every other target (new-app, run-local, images, ...)
"""


def main() -> int:
    answers = json.loads(ANSWERS)
    root = Path.cwd()
    remove_disabled(answers, root)
    add_examples(answers, root)
    template, commit = template_source(answers)
    record = cruft_record(answers, template, commit)
    (root / ".cruft.json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    if rendered_by_cruft(answers):
        return 0
    steps = (
        NEXT_STEPS
        if init_git(root)
        else NEXT_STEPS.replace("git commit", "git init -b main && git add -A && git commit")
    )
    print(steps.format(**answers))
    return 0


if __name__ == "__main__":
    sys.exit(main())
