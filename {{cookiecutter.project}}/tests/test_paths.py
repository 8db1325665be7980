from types import SimpleNamespace

from jinja2 import Template

from {{ cookiecutter.package }}.paths import data_path, output_path
from {{ cookiecutter.package }}.settings import PACKAGE, load_settings


def render(template: str, dag_id: str = f"{PACKAGE}.my_app") -> str:
    context = {
        "config": load_settings("prod"),
        "dag": SimpleNamespace(dag_id=dag_id),
        "ds": "2026-01-31",
    }
    return Template(template).render(context)


def test_data_path_follows_the_convention():
    bucket = load_settings("prod").DATA_BUCKET
    expected = f"{bucket}/{PACKAGE}/{PACKAGE}.my_app/preprocess/2026-01-31"
    assert render(data_path("preprocess")) == expected


def test_data_path_accepts_a_task():
    task = SimpleNamespace(task_id="train")
    assert render(data_path(task)).endswith(f"/{PACKAGE}.my_app/train/2026-01-31")


def test_each_task_and_dag_gets_its_own_location():
    assert render(data_path("a")) != render(data_path("b"))
    assert render(data_path("a"), "x.one") != render(data_path("a"), "x.two")


def test_final_outputs_are_outside_the_teams_intermediate_data():
    bucket = load_settings("prod").DATA_BUCKET
    expected = f"{bucket}/outputs/{PACKAGE}/customer_scores/2026-01-31"
    assert render(output_path("customer_scores")) == expected
    assert not render(output_path("a")).startswith(f"{bucket}/{PACKAGE}/")
