"""Keep the files of the chosen pattern: the scaffold holds those of all three."""

import shutil
import sys
from pathlib import Path

APP = "[[ cookiecutter.app ]]"
PATTERN = "[[ cookiecutter.pattern ]]"
APP_DIR = Path("dags", "[[ cookiecutter.package ]]", "apps", APP)
JOBS_DIR = Path("jobs", APP)

# Every path that belongs to some patterns only, with those patterns.
ONLY = {
    APP_DIR / "dag_spark.py": {"spark"},
    APP_DIR / "dag_k8s.py": {"k8s"},
    APP_DIR / "dag_hybrid.py": {"hybrid"},
    APP_DIR / "cluster_configs": {"spark", "hybrid"},
    APP_DIR / "job_configs": {"spark", "hybrid"},
    APP_DIR / "job_configs" / "daily_event_counts.json": {"spark"},
    APP_DIR / "job_configs" / "preprocess.json": {"hybrid"},
    APP_DIR / "job_configs" / "postprocess.json": {"hybrid"},
    JOBS_DIR / "spark": {"spark", "hybrid"},
    JOBS_DIR / "spark" / "daily_event_counts.py": {"spark"},
    JOBS_DIR / "spark" / "tests" / "test_daily_event_counts.py": {"spark"},
    JOBS_DIR / "spark" / "preprocess.py": {"hybrid"},
    JOBS_DIR / "spark" / "tests" / "test_preprocess.py": {"hybrid"},
    JOBS_DIR / "spark" / "postprocess.py": {"hybrid"},
    JOBS_DIR / "spark" / "tests" / "test_postprocess.py": {"hybrid"},
    JOBS_DIR / "score": {"k8s", "hybrid"},
    Path("tests", "apps", f"test_{APP}_pod.py"): {"k8s", "hybrid"},
    # Sample landing data for `make run-local`: what each pattern's first task reads.
    JOBS_DIR / "sample" / "events": {"spark"},
    JOBS_DIR / "sample" / "orders": {"k8s"},
    JOBS_DIR / "sample" / "orders_raw": {"hybrid"},
}


def main() -> int:
    for path, patterns in ONLY.items():
        if PATTERN in patterns or not path.exists():
            continue
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    (APP_DIR / f"dag_{PATTERN}.py").rename(APP_DIR / f"{APP}_dag.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
