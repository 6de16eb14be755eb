"""The exam lifecycle as an explicit state machine. Anything not listed here is refused."""

from __future__ import annotations

from enum import StrEnum


class ExamStatus(StrEnum):
    RECEIVED = "received"
    QC_FAILED = "qc_failed"
    QUEUED = "queued"
    ANALYZING = "analyzing"
    ANALYSIS_FAILED = "analysis_failed"
    PRELIMINARY = "preliminary"
    IN_REVIEW = "in_review"
    FINAL = "final"
    AMENDED = "amended"
    RETRACTED = "retracted"


S = ExamStatus

TRANSITIONS: dict[ExamStatus, frozenset[ExamStatus]] = {
    S.RECEIVED: frozenset({S.QUEUED, S.QC_FAILED}),
    # The analyzer's own signal/image QC can also reject an exam once analysis has started.
    S.QUEUED: frozenset({S.ANALYZING}),
    S.ANALYZING: frozenset({S.PRELIMINARY, S.ANALYSIS_FAILED, S.QC_FAILED, S.QUEUED}),  # QUEUED: crash recovery
    S.ANALYSIS_FAILED: frozenset({S.QUEUED}),  # retry
    S.QC_FAILED: frozenset(),  # the site retakes the exam: a new exam
    S.PRELIMINARY: frozenset({S.IN_REVIEW}),
    S.IN_REVIEW: frozenset({S.FINAL}),
    S.FINAL: frozenset({S.AMENDED, S.RETRACTED}),
    S.AMENDED: frozenset({S.AMENDED, S.RETRACTED}),  # each amendment is a new signed version
    S.RETRACTED: frozenset(),
}

# Exams whose report has legal effect (a physician signed it).
SIGNED_STATUSES = frozenset({S.FINAL, S.AMENDED})


class IllegalTransition(ValueError):
    def __init__(self, current: str, target: str) -> None:
        allowed = ", ".join(sorted(TRANSITIONS.get(ExamStatus(current), ()))) or "none (terminal)"
        super().__init__(
            f"an exam in status '{current}' cannot move to '{target}' (allowed from '{current}': {allowed})"
        )
        self.current = current
        self.target = target


def check_transition(current: str, target: str) -> ExamStatus:
    """Return the target status if the move is allowed, else raise IllegalTransition."""
    try:
        src, dst = ExamStatus(current), ExamStatus(target)
    except ValueError:
        raise IllegalTransition(current, target) from None
    if dst not in TRANSITIONS[src]:
        raise IllegalTransition(current, target)
    return dst
