"""Every status a state machine (R13, issue 16): each status enum in app/ has a machine whose
table covers every member; every move the table allows moves, every other one is refused and
changes nothing; and no code outside the machines assigns a status."""

import importlib
import inspect
import pkgutil
import re
from enum import StrEnum
from pathlib import Path
from types import SimpleNamespace

import pytest

import app as app_package
from app.core.states import REGISTRY, StateMachine, TransitionRefused, machines_for

APP_DIR = Path(app_package.__file__).parent


def _status_enums() -> list[type[StrEnum]]:
    """Every StrEnum named ``...Status`` defined in app/ (importing every module)."""
    found: dict[str, type[StrEnum]] = {}
    for info in pkgutil.walk_packages([str(APP_DIR)], prefix="app."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, StrEnum)
                and name.endswith("Status")
                and value.__module__ == module.__name__
            ):
                found[f"{value.__module__}.{name}"] = value
    return [found[k] for k in sorted(found)]


STATUS_ENUMS = _status_enums()


def test_the_walk_finds_the_status_enums():
    names = {e.__name__ for e in STATUS_ENUMS}
    assert {"RegistrationStatus", "VoucherStatus", "PaymentStatus", "OutboxStatus"} <= names
    assert len(STATUS_ENUMS) >= 12


@pytest.mark.parametrize("enum_cls", STATUS_ENUMS, ids=lambda e: e.__name__)
def test_every_status_enum_has_a_machine_covering_every_member(enum_cls):
    machines = machines_for(enum_cls)
    assert machines, f"{enum_cls.__name__} has no StateMachine beside its model"
    for machine in machines:
        assert set(machine.transitions) == set(enum_cls)
        for targets in machine.transitions.values():
            assert targets <= set(enum_cls)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_allowed_moves_move_and_refused_ones_change_nothing(ctx, name):
    machine = REGISTRY[name]
    for before in machine.enum_cls:
        for after in machine.enum_cls:
            # A plain object: a column stored as a plain string reads through the enum too.
            thing = SimpleNamespace(id=None, **{machine.attr: before.value})
            if after in machine.allowed(before):
                assert machine.can(thing, after), (before, after)
                assert machine.move(thing, after) == before
                assert getattr(thing, machine.attr) == after
            else:
                snapshot = dict(vars(thing))
                assert not machine.can(thing, after), (before, after)
                with pytest.raises(TransitionRefused) as refused:
                    machine.move(thing, after)
                assert str(refused.value.message)
                assert vars(thing) == snapshot, (before, after)


def test_a_guard_refuses_with_its_reason_and_changes_nothing(ctx):
    class Colour(StrEnum):
        RED = "red"
        GREEN = "green"

    machine = StateMachine(
        Colour,
        {Colour.RED: {Colour.GREEN}, Colour.GREEN: set()},
        name="test_colour_guard",
        guards={Colour.GREEN: lambda thing: "not while locked" if thing.locked else None},
    )
    try:
        thing = SimpleNamespace(status=Colour.RED, locked=True)
        with pytest.raises(TransitionRefused, match="not while locked"):
            machine.move(thing, Colour.GREEN, message="replaced only for a table refusal")
        assert thing.status == Colour.RED
        thing.locked = False
        machine.move(thing, Colour.GREEN)
        assert thing.status == Colour.GREEN
        with pytest.raises(TransitionRefused, match=r"^No way back$"):
            machine.move(thing, Colour.RED, message="No way back")
        with pytest.raises(ValueError, match="no transitions given"):
            StateMachine(Colour, {Colour.RED: set()}, name="test_colour_partial")
    finally:
        del REGISTRY["test_colour_guard"]


def test_the_outbox_and_care_set_based_updates_follow_their_tables():
    """The sender's and the account deletion's UPDATEs keep their WHERE; their moves are in the
    tables (claim, interrupted lease, results, account closed)."""
    from app.care.tasks import TASK, TaskStatus
    from app.members.outbox import OUTBOX, OutboxStatus

    o = OutboxStatus
    assert OUTBOX.sources(o.SENDING) == (o.PENDING,)  # claim_next
    assert o.SENDING in OUTBOX.sources(o.FAILED)  # fail_interrupted
    assert o.PENDING in OUTBOX.sources(o.SKIPPED)  # erase_member's messages
    for result in (o.SENT, o.PENDING, o.FAILED, o.SKIPPED):  # send_one, also after a lease
        assert {o.SENDING, o.FAILED} <= set(OUTBOX.sources(result))
    assert OUTBOX.final(o.SENT) and OUTBOX.final(o.SKIPPED)
    assert TaskStatus.OPEN in TASK.sources(TaskStatus.CLOSED)


_ASSIGNMENT = re.compile(r"\.(\w*_)?status\s*=[^=]|\.status\s*,[^=\n]*=[^=]|setattr\([^)]*status")


def test_nothing_outside_the_machines_assigns_a_status():
    offenders = []
    for path in sorted(APP_DIR.rglob("*.py")):
        relative = path.relative_to(APP_DIR.parent).as_posix()
        if relative == "app/core/states.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if _ASSIGNMENT.search(line):
                offenders.append(f"{relative}:{number}: {line.strip()}")
    assert offenders == []
