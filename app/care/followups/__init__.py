"""After every visit (R8, seed 002), a room of care: a counted service visit starts a callback
within 48 hours and a short questionnaire for the owner; low scores, unhappy callbacks and the
owner's own complaints become complaint cases with an assignee, a deadline, notes, a resolution,
the owner's confirmation and escalation when overdue; a monthly satisfaction report.

- ``models.py``: the questionnaire (``VisitSurvey``) and the cases (``ComplaintCase``, notes).
- ``visits.py``: what a recorded or refunded visit starts or stops (through the service domain's
  signals, answered in app/care/__init__.py), and the callback's result.
- ``surveys.py``: the owner answers the questionnaire, once.
- ``complaints.py``: opening, handling, resolving, confirming, reopening and escalating cases.
- ``reports.py``: satisfaction per dealer and service advisor, a month (Desk → Insight).
- ``views.py`` (the owner's pages), ``staff_views.py`` (the dealer's), ``forms.py``.
"""
