"""State machines (R13): one table of allowed transitions per status enum, one function that
moves and refuses, and the guards beside the transitions.

Every status enum in ``app/`` declares its machine next to its model::

    REGISTRATION = StateMachine(RegistrationStatus, {...}, name="registration")

and every change of status goes through ``REGISTRATION.move(obj, to)``. A refused move raises
``TransitionRefused`` (a ``Conflict``) and changes nothing. A guard is a check for entering a
state (``guards={CANCELLED: not_checked_in}``): it returns the reason to refuse, or None.
Set-based UPDATEs (the outbox) keep their SQL and take their WHERE from ``sources(to)``.
"""

from collections.abc import Callable, Iterable, Mapping
from enum import StrEnum
from typing import Generic, TypeVar

from flask_babel import lazy_gettext as _l

from app.core.errors import Conflict


class TransitionRefused(Conflict):
    """A status cannot move that way, or a guard of the transition says no."""


Guard = Callable[[object], object | None]
E = TypeVar("E", bound=StrEnum)

# Every machine by its name: a test proves each status enum in app/ has one.
REGISTRY: dict[str, "StateMachine"] = {}


class StateMachine(Generic[E]):
    """The allowed moves of one status enum, stored in ``attr`` of the objects it moves."""

    def __init__(
        self,
        enum_cls: type[E],
        transitions: Mapping[E, Iterable[E]],
        *,
        name: str,
        attr: str = "status",
        guards: Mapping[E, Guard] | None = None,
        labels: Mapping[E, object] | None = None,
    ) -> None:
        missing = set(enum_cls) - set(transitions)
        if missing:
            raise ValueError(f"{name}: no transitions given from {sorted(missing)}")
        self.enum_cls = enum_cls
        self.name = name
        self.attr = attr
        self.transitions: dict[E, frozenset[E]] = {
            enum_cls(k): frozenset(enum_cls(t) for t in v) for k, v in transitions.items()
        }
        self.guards: dict[E, Guard] = dict(guards or {})
        self.labels = labels
        if name in REGISTRY:
            raise ValueError(f"two state machines are named {name}")
        REGISTRY[name] = self

    def __repr__(self) -> str:
        return f"<StateMachine {self.name} of {self.enum_cls.__name__}.{self.attr}>"

    def state(self, obj) -> E:
        """The current state of ``obj`` (a plain string column reads as the enum)."""
        return self.enum_cls(getattr(obj, self.attr))

    def allowed(self, state: E) -> frozenset[E]:
        """Where the table lets ``state`` go."""
        return self.transitions[self.enum_cls(state)]

    def sources(self, to: E) -> tuple[E, ...]:
        """The states from which ``to`` may be entered: the WHERE of a set-based UPDATE."""
        return tuple(s for s, targets in self.transitions.items() if to in targets)

    def final(self, state: E) -> bool:
        """Whether nothing can follow ``state``."""
        return not self.allowed(state)

    def refusal(self, obj, to: E):
        """Why ``obj`` cannot move to ``to`` (a message), or None when it can."""
        to = self.enum_cls(to)
        current = self.state(obj)
        if to not in self.transitions[current]:
            return _l(
                "This cannot change from %(state)s to %(target)s.",
                state=self._label(current),
                target=self._label(to),
            )
        guard = self.guards.get(to)
        return guard(obj) if guard is not None else None

    def can(self, obj, to: E) -> bool:
        """Whether ``obj`` may move to ``to`` now (the table and the guard agree)."""
        return self.refusal(obj, to) is None

    def move(self, obj, to: E, *, message=None) -> E:
        """Move ``obj`` to ``to``, or raise ``TransitionRefused`` and change nothing.

        ``message`` replaces the table's generic refusal (a guard keeps its own reason).
        Returns the state it came from."""
        to = self.enum_cls(to)
        before = self.state(obj)
        reason = self.refusal(obj, to)
        if reason is not None:
            table_says_no = to not in self.transitions[before]
            raise TransitionRefused(message if (message is not None and table_says_no) else reason)
        setattr(obj, self.attr, to)
        return before

    def _label(self, state: E):
        """The state's label in the user's language (``labels``), else its value."""
        if self.labels is not None and state in self.labels:
            return self.labels[state]
        return state.value.replace("_", " ")


def machines_for(enum_cls: type[StrEnum]) -> list[StateMachine]:
    """The machines moving a column of ``enum_cls`` (a transfer has three: overall and sides)."""
    return [m for m in REGISTRY.values() if m.enum_cls is enum_cls]
