"""The makeup service's use-cases, one function per RPC: load through `queries`, let `domain` decide, add or change
rows through `uow.tx`, record the event (`uow.emit`) and the audit entry (`uow.audit`) in the same unit of work, and
answer. Nothing here commits (the entrypoint does) or imports nameko; `uow` is the worker's unit of work
(kernel.db.UnitOfWork, or tests/unit/fakes.FakeUnitOfWork in the unit tests).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError

from kernel.errors import DeadlinePassed, NotFound
from kernel.paging import after_id, encode_cursor, page_by_id, page_size
from kernel.policy import Policy
from kernel.wire import as_id
from makeup import domain, queries
from makeup.models import Appeal, Commission, Dispute, Makeup

UnitOfWork = Any  # kernel.db.UnitOfWork: `tx`, `now()`, `emit`, `audit`, `rollback`


def _load(uow: UnitOfWork, model: Any, value: Any, what: str, lock: bool = False) -> Any:
    row = queries.by_id(uow.tx, model, as_id(value, what), lock)
    if row is None:
        raise NotFound(f"no {what} {value!r}")
    return row


def _apply(row: Any, changes: dict[str, Any]) -> None:
    for field, value in changes.items():
        setattr(row, field, value)


def _today(uow: UnitOfWork, pol: Policy) -> Any:
    return pol.local(uow.now()).date()


# -- make-up (003 §5) ------------------------------------------------------------------------------------------------


def request_makeup(uow: UnitOfWork, pol: Policy, session: Any, student: Any, actor: str,
                   role: str = "student") -> tuple[dict[str, Any], DeadlinePassed | None]:
    """(the make-up, the refusal to raise once it is stored). One make-up per absence: a repeat answers the
    existing one. A late request is kept, so the approvers can extend it, but refused (003 §5.3.2): the
    entrypoint commits it, then raises."""
    domain.check_enabled(pol)
    sid = as_id(session, "session")
    domain.check_student(student)
    tx = uow.tx
    now = uow.now()
    row = queries.makeup_of_absence(tx, sid, student, lock=True)
    if row is not None:
        if row.state != "completed":
            refusal = domain.late_refusal(pol, row, now)
            if refusal is not None:
                raise refusal
        return domain.makeup_view(pol, row, now), None
    info = queries.session_info(tx, sid)
    mark = queries.mark(tx, sid, student)
    if info is None:
        raise NotFound(f"no session {session!r}")
    row = Makeup(**domain.new_makeup(pol, sid, student, info, mark.status if mark is not None else None, actor,
                                     role, now))
    tx.add(row)
    try:
        tx.flush()
    except IntegrityError:  # a concurrent request for the same absence won: answer that one
        uow.rollback()
        row = queries.makeup_of_absence(tx, sid, student)
        assert row is not None
        return domain.makeup_view(pol, row, uow.now()), None
    view = domain.makeup_view(pol, row, now)
    uow.audit(**domain.requested_audit(row, view, actor, role))
    uow.emit("makeup.requested", view, actor=actor)
    return view, domain.late_refusal(pol, row, now)


def get_makeup(uow: UnitOfWork, pol: Policy, makeup_id: Any) -> dict[str, Any]:
    return domain.makeup_view(pol, _load(uow, Makeup, makeup_id, "make-up"), uow.now())


def assign_makeup(uow: UnitOfWork, pol: Policy, makeup_id: Any, task_kind: Any, topic: Any, due: Any,
                  actor: str) -> dict[str, Any]:
    row: Makeup = _load(uow, Makeup, makeup_id, "make-up", lock=True)
    now = uow.now()
    changes = domain.assignment(pol, row, task_kind, topic, due, actor, now)
    old = domain.snapshot(domain.makeup_view(pol, row, now), *domain.ASSIGNED_FIELDS)
    _apply(row, changes)
    uow.tx.flush()
    view = domain.makeup_view(pol, row, now)
    uow.audit(**domain.audit_entry("makeup", row.id, "assigned", actor, student=row.student, old=old,
                                   new=domain.snapshot(view, *domain.ASSIGNED_FIELDS)))
    uow.emit("makeup.assigned", view, actor=actor)
    return view


def complete_makeup(uow: UnitOfWork, pol: Policy, makeup_id: Any, result: Any, comment: Any,
                    actor: str) -> dict[str, Any]:
    row: Makeup = _load(uow, Makeup, makeup_id, "make-up", lock=True)
    now = uow.now()
    _apply(row, domain.completion(pol, row, result, comment, actor, now))
    uow.tx.flush()
    view = domain.makeup_view(pol, row, now)
    uow.audit(**domain.audit_entry("makeup", row.id, "completed", actor, student=row.student,
                                   old={"state": "assigned"},
                                   new=domain.snapshot(view, "state", "result", "comment", "completed_at")))
    uow.emit("makeup.completed", domain.completed_payload(row, view, actor), actor=actor)
    return view


def extend_makeup(uow: UnitOfWork, pol: Policy, makeup_id: Any, until: Any, reason: Any, actor: str,
                  role: str) -> dict[str, Any]:
    row: Makeup = _load(uow, Makeup, makeup_id, "make-up", lock=True)
    now = uow.now()
    ext = domain.extension(pol, row, until, reason, actor, role, now)
    _apply(row, ext.changes)
    uow.tx.flush()
    view = domain.makeup_view(pol, row, now)
    uow.audit(**domain.extension_audit(row, ext, view, actor, role))
    uow.emit(domain.extension_event(ext), view, actor=actor)
    return view


def list_makeups(uow: UnitOfWork, pol: Policy, state: str | None = None, group: str | None = None,
                 discipline: str | None = None, student: str | None = None, teacher: str | None = None,
                 awaiting_extension_role: str | None = None, groups: list[str] | None = None,
                 limit: Any = None, cursor: Any = None) -> dict[str, Any]:
    now = uow.now()
    size = page_size(limit)
    domain.check_state_filter(state, domain.MAKEUP_STATES)
    rows = queries.makeups(uow.tx, now=now, state=state, group=group, discipline=discipline, student=student,
                           teacher=teacher, groups=groups, open_only=awaiting_extension_role is not None,
                           after=after_id(cursor))
    items: list[dict[str, Any]] = []
    last = None
    for row in rows:
        if awaiting_extension_role is not None and not domain.awaits_extension_by(pol, row, awaiting_extension_role,
                                                                                  now):
            continue
        if len(items) == size:
            return {"items": items, "next_cursor": encode_cursor(last)}
        items.append(domain.makeup_view(pol, row, now))
        last = row.id
    return {"items": items, "next_cursor": None}


def register(uow: UnitOfWork, pol: Policy, group: str, discipline: str) -> dict[str, Any]:
    now = uow.now()
    statuses = queries.register_marks(uow.tx, group, discipline)
    makeups = queries.register_makeups(uow.tx, group, discipline)
    keys = domain.register_keys(pol, statuses, makeups)
    sessions = queries.sessions(uow.tx, {k[0] for k in keys})
    return domain.register(pol, group, discipline, statuses, makeups, sessions, now)


# -- disputes (003 §6.2) ---------------------------------------------------------------------------------------------


def open_dispute(uow: UnitOfWork, pol: Policy, assessment: Any, student: str, reason: Any, actor: str,
                 published_at: str | None = None) -> dict[str, Any]:
    tx = uow.tx
    now = uow.now()
    aid = as_id(assessment, "assessment")
    text_reason = domain.check_text(reason, "reason") or ""
    existing = queries.open_dispute(tx, aid, student)
    if existing is not None:
        return domain.dispute_view(pol, existing)
    anchor = domain.publication(pol, published_at, queries.grade_publication(tx, aid, student))
    fields = domain.new_dispute(pol, aid, student, queries.assessment_info(tx, aid), text_reason, anchor, actor, now)
    row = Dispute(**fields)
    tx.add(row)
    tx.flush()
    view = domain.dispute_view(pol, row)
    uow.audit(**domain.opened_audit(row, view, actor))
    uow.emit("dispute.opened", view, actor=actor)
    return view


def _move_dispute(uow: UnitOfWork, pol: Policy, dispute_id: Any, action: str, actor: str,
                  **changes: Any) -> dict[str, Any]:
    row: Dispute = _load(uow, Dispute, dispute_id, "dispute", lock=True)
    now = uow.now()
    old = row.state
    _apply(row, domain.dispute_change(pol, row, action, actor, now, **changes))
    uow.tx.flush()
    view = domain.dispute_view(pol, row)
    uow.audit(**domain.dispute_audit(row, old, actor, **changes))
    uow.emit(f"dispute.{row.state}", view, actor=actor)
    return view


def resolve_dispute(uow: UnitOfWork, pol: Policy, dispute_id: Any, value: Any, note: Any,
                    actor: str) -> dict[str, Any]:
    return _move_dispute(uow, pol, dispute_id, "resolve", actor, **domain.resolution(pol, value, note))


def escalate_dispute(uow: UnitOfWork, pol: Policy, dispute_id: Any, actor: str, note: Any = None) -> dict[str, Any]:
    return _move_dispute(uow, pol, dispute_id, "escalate", actor, **domain.escalation(note))


def get_dispute(uow: UnitOfWork, pol: Policy, dispute_id: Any) -> dict[str, Any]:
    return domain.dispute_view(pol, _load(uow, Dispute, dispute_id, "dispute"))


def list_disputes(uow: UnitOfWork, pol: Policy, state: str | None = None, student: str | None = None,
                  assessment: Any = None, group: str | None = None, discipline: str | None = None,
                  limit: Any = None, cursor: Any = None) -> dict[str, Any]:
    aid = None if assessment is None else as_id(assessment, "assessment")
    return page_by_id(uow.tx, queries.disputes(state, student, aid, group, discipline), Dispute.id, limit, cursor,
                      lambda r: domain.dispute_view(pol, r))


# -- commissions and appeals (003 §6.3) ------------------------------------------------------------------------------


def create_commission(uow: UnitOfWork, pol: Policy, order: Any, members: Any, date_from: Any, date_to: Any,
                      actor: str) -> dict[str, Any]:
    now = uow.now()
    row = Commission(**domain.new_commission(order, members, date_from, date_to, actor, now))
    uow.tx.add(row)
    uow.tx.flush()
    view = domain.commission_view(pol, row, pol.local(now).date())
    uow.audit(**domain.audit_entry("commission", row.id, "created", actor, new=view, reason=f"order {row.order}"))
    uow.emit("commission.created", view, actor=actor)
    return view


def get_commission(uow: UnitOfWork, pol: Policy, commission_id: Any) -> dict[str, Any]:
    return domain.commission_view(pol, _load(uow, Commission, commission_id, "commission"), _today(uow, pol))


def list_commissions(uow: UnitOfWork, pol: Policy, limit: Any = None, cursor: Any = None) -> dict[str, Any]:
    today = _today(uow, pol)
    return page_by_id(uow.tx, queries.commissions(), Commission.id, limit, cursor,
                      lambda r: domain.commission_view(pol, r, today))


def commission_of(uow: UnitOfWork, pol: Policy, member: str, active_only: bool = True) -> list[int]:
    today = _today(uow, pol)
    return [r.id for r in queries.commissions_of(uow.tx, member)
            if not active_only or domain.commission_active(r.date_from, r.date_to, today)]


def file_appeal(uow: UnitOfWork, pol: Policy, student: str, reason: Any, actor: str, statement: Any = None,
                assessment: Any = None, published_at: str | None = None) -> dict[str, Any]:
    tx = uow.tx
    now = uow.now()
    domain.check_appeal_target(statement, assessment)
    text_reason = domain.check_text(reason, "reason") or ""
    sid = None if statement is None else as_id(statement, "statement")
    aid = None if assessment is None else as_id(assessment, "assessment")
    group = discipline = None
    if sid is not None:
        st = queries.statement_info(tx, sid)
        anchor = domain.statement_anchor(st)
        assert st is not None
        group, discipline = st.group, st.discipline
    else:
        assert aid is not None
        published = domain.publication(pol, published_at, queries.grade_publication(tx, aid, student))
        anchor = domain.appeal_anchor(published, queries.last_dispute_answer(tx, aid, student))
        info = queries.assessment_info(tx, aid)
        if info is not None:
            group, discipline = info.group, info.discipline
    existing = queries.filed_appeal(tx, student, sid, aid)
    if existing is not None:
        return domain.appeal_view(pol, existing)
    row = Appeal(**domain.new_appeal(pol, sid, aid, student, group, discipline, text_reason, anchor, actor, now))
    tx.add(row)
    tx.flush()
    view = domain.appeal_view(pol, row)
    uow.audit(**domain.filed_audit(row, view, actor))
    uow.emit("appeal.filed", view, actor=actor)
    return view


def get_appeal(uow: UnitOfWork, pol: Policy, appeal_id: Any) -> dict[str, Any]:
    return domain.appeal_view(pol, _load(uow, Appeal, appeal_id, "appeal"))


def list_appeals(uow: UnitOfWork, pol: Policy, state: str | None = None, student: str | None = None,
                 commissions: list[Any] | None = None, limit: Any = None, cursor: Any = None) -> dict[str, Any]:
    domain.check_state_filter(state, domain.APPEAL_STATES)
    mine = None if commissions is None else [as_id(c, "commission") for c in commissions]
    return page_by_id(uow.tx, queries.appeals(state, student, mine), Appeal.id, limit, cursor,
                      lambda r: domain.appeal_view(pol, r))


def decide_appeal(uow: UnitOfWork, pol: Policy, appeal_id: Any, upheld: Any, protocol: Any, value: Any,
                  actor: str) -> dict[str, Any]:
    row: Appeal = _load(uow, Appeal, appeal_id, "appeal", lock=True)
    now = uow.now()
    decided = domain.decision(pol, row, upheld, protocol, value, actor,
                              queries.commissions_of(uow.tx, actor, newest_first=True), now)
    _apply(row, decided.changes)
    uow.tx.flush()
    view = domain.appeal_view(pol, row)
    uow.audit(**decided.audit)
    uow.emit(decided.event, decided.payload, actor=actor)
    return view
