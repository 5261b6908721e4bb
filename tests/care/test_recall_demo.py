"""`make run`'s demo data: recall tasks of lost owners on the demo care agent's list, two of
them called, and the recall report showing them (issue 20), made once."""

from sqlalchemy import func, select

from app.care.models import CallOutcome, CareTask
from app.extensions import db
from tests.conftest import login


def test_the_demo_has_recall_tasks_and_a_recall_report(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    with app.app_context():
        tasks = db.session.scalar(
            select(func.count()).select_from(CareTask).where(CareTask.kind == "recall")
        )
        outcomes = db.session.scalars(select(CallOutcome.outcome).order_by(CallOutcome.id)).all()
    assert tasks >= 3
    assert outcomes == ["not_coming", "booked"]

    agent = app.test_client()
    login(agent, "13800000003", "carclub-demo")
    page = agent.get("/admin/care/tasks", query_string={"kind": "recall"}).get_data(as_text=True)
    assert "Lost owner recall" in page
    manager = app.test_client()
    login(manager, "13800000002", "carclub-demo")
    page = manager.get("/admin/insight/recall").get_data(as_text=True)
    assert "Went to another workshop" in page and "车享快修 Quick Fix" in page
