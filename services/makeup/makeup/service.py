"""Make-up, disputes and appeals: the only writer of make-ups, disputes, commissions and appeals. Thin entrypoints:
load what the request touches, let `domain` decide, write state + outbox event + audit in one commit, answer.

The gateway has already checked who may call (roles and object access); this service enforces what it owns: the
deadlines, the extension order, the state machines and the commission's membership. Consequences elsewhere travel
as events: `makeup.completed` (attendance sets the mark to made_up, grading counts the result) and
`appeal.decided` (grading applies the value with role commission).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from nameko.rpc import rpc
from sqlalchemy import or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError

from kernel.consumer import handles
from kernel.db import Database
from kernel.errors import Conflict, DeadlinePassed, NotFound
from kernel.events import Envelope
from kernel.metrics import DomainGauge
from kernel.paging import after_id, encode_cursor, page_by_id, page_size
from kernel.policy import Policy
from kernel.readmodels import upsert_newest
from kernel.service import ServiceBase
from kernel.wire import as_id as _id
from kernel.wire import iso as _iso
from kernel.wire import policy
from makeup import domain
from makeup.models import (
    Appeal,
    AssessmentInfo,
    Commission,
    Dispute,
    GradePub,
    Makeup,
    Mark,
    SessionInfo,
    StatementInfo,
)


def _local(pol: Policy, value: datetime | None) -> datetime | None:
    return pol.local(value) if value is not None else None


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _step(pol: Policy, action: str, actor: str, at: datetime, **extra: Any) -> dict[str, Any]:
    return {"action": action, "actor": actor, "at": _iso(pol, at), **extra}


def _ext_steps(row: Makeup) -> list[domain.ExtensionStep]:
    return [domain.ExtensionStep(role=s["role"], actor=s["actor"], at=_instant(s["at"]), until=_instant(s["until"]),
                                 reason=s.get("reason") or "") for s in row.extension or []]


def _makeup_view(pol: Policy, row: Makeup, now: datetime) -> dict[str, Any]:
    steps = row.extension or []
    extension = None
    if steps:
        extension = {"until": steps[-1]["until"], "reason": steps[-1].get("reason"),
                     "complete": domain.extension_complete(pol, _ext_steps(row)),
                     "awaiting": domain.next_extension_role(pol, _ext_steps(row)),
                     "steps": [{"role": s["role"], "actor": s["actor"], "at": s["at"], "until": s["until"],
                                "reason": s.get("reason")} for s in steps]}
    return {"id": row.id, "session": row.session, "student": row.student, "discipline": row.discipline,
            "group": row.group, "teacher": row.teacher, "kind": row.kind, "absence_status": row.absence_status,
            "state": domain.shown_state(row.state, row.deadline, now), "task_kind": row.task_kind,
            "task_kinds": list(domain.task_kinds(row.kind)), "topic": row.topic, "due": _iso(pol, row.due),
            "result": row.result, "comment": row.comment, "requested_at": _iso(pol, row.requested_at),
            "requested_by": row.requested_by, "assigned_at": _iso(pol, row.assigned_at),
            "completed_at": _iso(pol, row.completed_at), "deadline": _iso(pol, row.deadline),
            "base_deadline": _iso(pol, row.base_deadline), "extension": extension, "steps": list(row.steps or [])}


def _dispute_view(pol: Policy, row: Dispute) -> dict[str, Any]:
    return {"id": row.id, "assessment": row.assessment, "student": row.student, "group": row.group,
            "discipline": row.discipline, "reason": row.reason, "state": row.state,
            "published_at": _iso(pol, row.published_at), "deadline": _iso(pol, row.deadline),
            "opened_at": _iso(pol, row.opened_at), "opened_by": row.opened_by, "value": row.value, "note": row.note,
            "steps": list(row.steps or [])}


def _commission_view(pol: Policy, row: Commission, today: date) -> dict[str, Any]:
    return {"id": row.id, "order": row.order, "members": list(row.members), "from": row.date_from.isoformat(),
            "to": row.date_to.isoformat(), "created_by": row.created_by, "created_at": _iso(pol, row.created_at),
            "active": domain.commission_active(row.date_from, row.date_to, today)}


def _appeal_view(pol: Policy, row: Appeal) -> dict[str, Any]:
    return {"id": row.id, "statement": row.statement, "assessment": row.assessment, "student": row.student,
            "group": row.group, "discipline": row.discipline, "reason": row.reason, "state": row.state,
            "published_at": _iso(pol, row.published_at), "deadline": _iso(pol, row.deadline),
            "filed_at": _iso(pol, row.filed_at), "filed_by": row.filed_by, "commission": row.commission,
            "upheld": row.upheld, "protocol": row.protocol, "value": row.value, "decided_by": row.decided_by,
            "decided_at": _iso(pol, row.decided_at), "steps": list(row.steps or [])}


def _snapshot(view: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: view.get(k) for k in keys}


class MakeupService(ServiceBase):
    name = "makeup"
    db = Database()
    domain_gauges = (  # kernel/metrics.py
        DomainGauge("ejournal_makeups", "Make-ups by state", "SELECT state, count(*) FROM makeup.makeup GROUP BY state",
                    ("state",)),
        DomainGauge("ejournal_appeals", "Appeals by state", "SELECT state, count(*) FROM makeup.appeal GROUP BY state",
                    ("state",)),
    )

    # -- loading ---------------------------------------------------------------------------------------------
    def _get(self, model: Any, value: Any, what: str, lock: bool = False) -> Any:
        q = select(model).where(model.id == _id(value, what))
        if lock:
            q = q.with_for_update()
        row = self.db.session.scalars(q).first()
        if row is None:
            raise NotFound(f"no {what} {value!r}")
        return row

    # -- make-up (003 §5) ------------------------------------------------------------------------------------
    @rpc
    def request_makeup(self, session: Any, student: str, actor: str, role: str = "student") -> dict[str, Any]:
        pol = policy()
        domain.check_enabled(pol)
        sid = _id(session, "session")
        if not isinstance(student, str) or not student:
            raise domain.invalid("student", "a student code")
        uow = self.db
        s = uow.session
        now = uow.now()
        row = s.scalars(select(Makeup).where(Makeup.session == sid, Makeup.student == student)
                        .with_for_update()).first()
        if row is not None:  # one make-up per absence: a repeat answers the existing one
            if row.state != "completed":
                self._refuse_if_late(pol, row, now)
            return _makeup_view(pol, row, now)
        info = s.get(SessionInfo, sid)
        mark = s.get(Mark, (sid, student))
        if info is None:
            raise NotFound(f"no session {session!r}")
        domain.check_absence(pol, mark.status if mark is not None else None)
        deadline = domain.base_deadline(pol, info.starts_at)
        row = Makeup(session=sid, student=student, discipline=info.discipline, group=info.group,
                     teacher=info.teacher, kind=info.kind, absence_status=mark.status if mark else "absent",
                     state="requested", requested_at=now, requested_by=actor, base_deadline=deadline,
                     deadline=deadline, extension=[],
                     steps=[_step(pol, "requested", actor, now, role=role)])
        s.add(row)
        try:
            s.flush()
        except IntegrityError:  # a concurrent request for the same absence won: answer that one
            uow.rollback()
            row = s.scalars(select(Makeup).where(Makeup.session == sid, Makeup.student == student)).one()
            return _makeup_view(pol, row, uow.now())
        view = _makeup_view(pol, row, now)
        uow.audit(entity="makeup", entity_id=str(row.id), action="requested", actor=actor, student=student,
                  new=_snapshot(view, "session", "discipline", "group", "kind", "absence_status", "deadline"),
                  reason=f"role {role}", chain=f"makeup:{row.id}")
        uow.emit("makeup.requested", view, actor=actor)
        uow.commit()
        # a late request is kept (the approvers can extend it) but refused: 409 deadline_passed (003 §5.3.2)
        self._refuse_if_late(pol, row, now)
        return view

    def _refuse_if_late(self, pol: Policy, row: Makeup, now: datetime) -> None:
        if domain.is_past(row.deadline, now):
            raise DeadlinePassed(
                f"the make-up deadline passed at {_iso(pol, row.deadline)}; later only by the decision of "
                f"{', '.join(pol.makeup.extension_by)} (003 §5.3.2)",
                deadline=_iso(pol, row.deadline), makeup=row.id,
                awaiting=domain.next_extension_role(pol, _ext_steps(row)))

    @rpc
    def get_makeup(self, makeup_id: Any) -> dict[str, Any]:
        return _makeup_view(policy(), self._get(Makeup, makeup_id, "make-up"), self.db.now())

    @rpc
    def assign_makeup(self, makeup_id: Any, task_kind: Any, topic: Any, due: Any, actor: str) -> dict[str, Any]:
        pol = policy()
        uow = self.db
        row: Makeup = self._get(Makeup, makeup_id, "make-up", lock=True)
        now = uow.now()
        domain.check_move(row.state, "assign")
        domain.check_task_kind(row.kind, task_kind)
        text_topic = domain.check_text(topic, "topic", 500)
        due_at = domain.parse_instant(pol, due, "due")
        domain.check_due(due_at, _local(pol, row.deadline), now)
        old = _snapshot(_makeup_view(pol, row, now), "state", "task_kind", "topic", "due")
        row.state, row.task_kind, row.topic, row.due = "assigned", task_kind, text_topic, due_at
        row.assigned_at, row.assigned_by = now, actor
        row.steps = [*(row.steps or []), _step(pol, "assigned", actor, now, task_kind=task_kind, topic=text_topic,
                                               due=_iso(pol, due_at))]
        uow.session.flush()
        view = _makeup_view(pol, row, now)
        uow.audit(entity="makeup", entity_id=str(row.id), action="assigned", actor=actor, student=row.student,
                  old=old, new=_snapshot(view, "state", "task_kind", "topic", "due"), chain=f"makeup:{row.id}")
        uow.emit("makeup.assigned", view, actor=actor)
        uow.commit()
        return view

    @rpc
    def complete_makeup(self, makeup_id: Any, result: Any, comment: Any, actor: str) -> dict[str, Any]:
        pol = policy()
        uow = self.db
        row: Makeup = self._get(Makeup, makeup_id, "make-up", lock=True)
        now = uow.now()
        domain.check_move(row.state, "complete")
        domain.check_deadline(_local(pol, row.deadline), now)
        value = domain.check_result(pol, result)
        text_comment = domain.check_text(comment, "comment", 2000, required=False)
        row.state, row.result, row.comment = "completed", value, text_comment
        row.completed_at, row.completed_by = now, actor
        row.steps = [*(row.steps or []), _step(pol, "completed", actor, now, result=value, comment=text_comment)]
        uow.session.flush()
        view = _makeup_view(pol, row, now)
        uow.audit(entity="makeup", entity_id=str(row.id), action="completed", actor=actor, student=row.student,
                  old={"state": "assigned"}, new=_snapshot(view, "state", "result", "comment", "completed_at"),
                  chain=f"makeup:{row.id}")
        # attendance turns the mark into made_up, grading counts the result (003 §5.4.2, §5.5)
        uow.emit("makeup.completed", {
            "id": row.id, "session": row.session, "student": row.student, "discipline": row.discipline,
            "group": row.group, "kind": row.kind, "teacher": row.teacher, "task_kind": row.task_kind,
            "topic": row.topic, "result": value, "comment": text_comment, "completed_at": view["completed_at"],
            "actor": actor}, actor=actor)
        uow.commit()
        return view

    @rpc
    def extend_makeup(self, makeup_id: Any, until: Any, reason: Any, actor: str, role: str) -> dict[str, Any]:
        pol = policy()
        uow = self.db
        row: Makeup = self._get(Makeup, makeup_id, "make-up", lock=True)
        now = uow.now()
        if row.state == "completed":
            raise Conflict("the make-up is already completed", state=row.state)
        until_at = domain.parse_instant(pol, until, "until")
        if until_at <= now:
            raise domain.invalid("until", "must be in the future")
        text_reason = domain.check_text(reason, "reason", 2000) or ""
        step = domain.ExtensionStep(role=role, actor=actor, at=now, until=until_at, reason=text_reason)
        steps = domain.add_extension_step(pol, _ext_steps(row), step, row.base_deadline)
        old = {"deadline": _iso(pol, row.deadline), "steps": len(steps) - 1}
        row.extension = [*(row.extension or []), {"role": role, "actor": actor, "at": _iso(pol, now),
                                                  "until": _iso(pol, until_at), "reason": text_reason}]
        row.deadline = domain.effective_deadline(pol, row.base_deadline, steps)
        complete = domain.extension_complete(pol, steps)
        row.steps = [*(row.steps or []), _step(pol, "extension", actor, now, role=role, until=_iso(pol, until_at),
                                               reason=text_reason, complete=complete)]
        uow.session.flush()
        view = _makeup_view(pol, row, now)
        uow.audit(entity="makeup", entity_id=str(row.id), action=f"extension_{role}", actor=actor,
                  student=row.student, old=old, new={"deadline": view["deadline"], "until": _iso(pol, until_at),
                                                     "complete": complete},
                  reason=text_reason, approval="; ".join(f"{s.role} {s.actor}" for s in steps),
                  chain=f"makeup:{row.id}")
        uow.emit("makeup.extended" if complete else "makeup.extension_step", view, actor=actor)
        uow.commit()
        return view

    @rpc
    def list_makeups(self, state: str | None = None, group: str | None = None, discipline: str | None = None,
                     student: str | None = None, teacher: str | None = None,
                     awaiting_extension_role: str | None = None, groups: list[str] | None = None,
                     limit: Any = None, cursor: Any = None) -> dict[str, Any]:
        """A page of make-ups in id order; `groups` narrows them to the caller's units (an approver's queue holds
        the make-ups of the groups it oversees, nobody else's)."""
        pol = policy()
        uow = self.db
        now = uow.now()
        size = page_size(limit)
        q = select(Makeup).order_by(Makeup.id)
        for column, value in ((Makeup.group, group), (Makeup.discipline, discipline), (Makeup.student, student),
                              (Makeup.teacher, teacher)):
            if value is not None:
                q = q.where(column == value)
        if groups is not None:
            q = q.where(Makeup.group.in_(list(groups)))
        if state is not None:
            if state not in domain.MAKEUP_STATES:
                raise domain.invalid("state", f"one of {', '.join(domain.MAKEUP_STATES)}")
            if state == "completed":
                q = q.where(Makeup.state == "completed")
            elif state == "expired":
                q = q.where(Makeup.state != "completed", Makeup.deadline < now)
            else:
                q = q.where(Makeup.state == state, or_(Makeup.deadline.is_(None), Makeup.deadline >= now))
        if awaiting_extension_role is not None:
            q = q.where(Makeup.state != "completed")
        after = after_id(cursor)
        if after is not None:
            q = q.where(Makeup.id > after)
        items: list[dict[str, Any]] = []
        last = None
        for row in uow.session.scalars(q):
            if awaiting_extension_role is not None:
                steps = _ext_steps(row)
                if domain.next_extension_role(pol, steps) != awaiting_extension_role:
                    continue
                if not steps and not domain.is_past(row.deadline, now):
                    continue  # the first approver's queue holds the make-ups past their deadline
            if len(items) == size:
                return {"items": items, "next_cursor": encode_cursor(last)}
            items.append(_makeup_view(pol, row, now))
            last = row.id
        return {"items": items, "next_cursor": None}

    @rpc
    def register(self, group: str, discipline: str) -> dict[str, Any]:
        """The make-up register (003 §5.6): every absence of the group in the discipline with its make-up, and
        the check that it agrees with the journal marks."""
        pol = policy()
        uow = self.db
        s = uow.session
        now = uow.now()
        marks = list(s.scalars(select(Mark).where(Mark.group == group, Mark.discipline == discipline,
                                                  Mark.status.is_not(None))))
        makeups = {(m.session, m.student): m for m in s.scalars(
            select(Makeup).where(Makeup.group == group, Makeup.discipline == discipline))}
        statuses = {(m.session, m.student): m.status for m in marks if m.status is not None}
        absence = set(pol.makeup.applies_to) | {domain.MADE_UP}
        keys = {k for k, status in statuses.items() if status in absence} | set(makeups)
        sessions = {r.id: r for r in s.scalars(select(SessionInfo).where(
            SessionInfo.id.in_({k[0] for k in keys})))} if keys else {}
        items: list[dict[str, Any]] = []
        for key in keys:
            info = sessions.get(key[0])
            mk = makeups.get(key)
            items.append({
                "session": key[0], "student": key[1], "status": statuses.get(key),
                "starts_at": _iso(pol, info.starts_at) if info else None, "kind": info.kind if info else None,
                "teacher": info.teacher if info else None,
                "makeup": None if mk is None else {
                    "id": mk.id, "state": domain.shown_state(mk.state, mk.deadline, now), "task_kind": mk.task_kind,
                    "topic": mk.topic, "assigned_at": _iso(pol, mk.assigned_at), "due": _iso(pol, mk.due),
                    "completed_at": _iso(pol, mk.completed_at), "result": mk.result, "comment": mk.comment,
                    "deadline": _iso(pol, mk.deadline)}})
        items.sort(key=lambda i: (i["starts_at"] or "", i["session"], i["student"]))
        mismatches, pending = domain.register_mismatches(
            statuses, [domain.RegisterMakeup(m.id, m.session, m.student, m.state, m.completed_at)
                       for m in makeups.values()], now)
        return {"group": group, "discipline": discipline, "items": items, "consistent": not mismatches,
                "mismatches": mismatches, "pending": pending, "checked_at": _iso(pol, now)}

    # -- disputes (003 §6.2) ---------------------------------------------------------------------------------
    @rpc
    def open_dispute(self, assessment: Any, student: str, reason: Any, actor: str,
                     published_at: str | None = None) -> dict[str, Any]:
        pol = policy()
        uow = self.db
        s = uow.session
        now = uow.now()
        aid = _id(assessment, "assessment")
        text_reason = domain.check_text(reason, "reason") or ""
        existing = s.scalars(select(Dispute).where(Dispute.assessment == aid, Dispute.student == student,
                                                   Dispute.state == "open")).first()
        if existing is not None:
            return _dispute_view(pol, existing)
        pub = s.get(GradePub, (aid, student))
        if published_at is not None:
            anchor = domain.parse_instant(pol, published_at, "published_at", end_of_day=False)
        elif pub is not None:
            anchor = pub.published_at
        else:
            raise Conflict("no grade of this student for this assessment has been published")
        deadline = domain.check_dispute_window(pol, anchor, now)
        info = s.get(AssessmentInfo, aid)
        row = Dispute(assessment=aid, student=student, group=info.group if info else None,
                      discipline=info.discipline if info else None, reason=text_reason, state="open",
                      published_at=anchor, deadline=deadline, opened_at=now, opened_by=actor, updated_at=now,
                      steps=[_step(pol, "opened", actor, now, reason=text_reason)])
        s.add(row)
        s.flush()
        view = _dispute_view(pol, row)
        uow.audit(entity="dispute", entity_id=str(row.id), action="opened", actor=actor, student=student,
                  new=_snapshot(view, "assessment", "state", "deadline"), reason=text_reason,
                  chain=f"dispute:{row.id}")
        uow.emit("dispute.opened", view, actor=actor)
        uow.commit()
        return view

    def _move_dispute(self, dispute_id: Any, action: str, actor: str, **changes: Any) -> dict[str, Any]:
        pol = policy()
        uow = self.db
        row: Dispute = self._get(Dispute, dispute_id, "dispute", lock=True)
        now = uow.now()
        old = row.state
        row.state = domain.dispute_move(row.state, action)
        for k, v in changes.items():
            setattr(row, k, v)
        row.updated_at = now
        row.steps = [*(row.steps or []), _step(pol, row.state, actor, now, **changes)]
        uow.session.flush()
        view = _dispute_view(pol, row)
        uow.audit(entity="dispute", entity_id=str(row.id), action=row.state, actor=actor, student=row.student,
                  old={"state": old}, new={"state": row.state, **changes}, reason=changes.get("note"),
                  chain=f"dispute:{row.id}")
        uow.emit(f"dispute.{row.state}", view, actor=actor)
        uow.commit()
        return view

    @rpc
    def resolve_dispute(self, dispute_id: Any, value: Any, note: Any, actor: str) -> dict[str, Any]:
        pol = policy()
        checked = None if value is None else domain.check_result(pol, value)
        return self._move_dispute(dispute_id, "resolve", actor, value=checked,
                                  note=domain.check_text(note, "note", 2000))

    @rpc
    def escalate_dispute(self, dispute_id: Any, actor: str, note: Any = None) -> dict[str, Any]:
        return self._move_dispute(dispute_id, "escalate", actor,
                                  note=domain.check_text(note, "note", 2000, required=False))

    @rpc
    def get_dispute(self, dispute_id: Any) -> dict[str, Any]:
        return _dispute_view(policy(), self._get(Dispute, dispute_id, "dispute"))

    @rpc
    def list_disputes(self, state: str | None = None, student: str | None = None, assessment: Any = None,
                      group: str | None = None, discipline: str | None = None, limit: Any = None,
                      cursor: Any = None) -> dict[str, Any]:
        pol = policy()
        q = select(Dispute)
        for column, value in ((Dispute.state, state), (Dispute.student, student), (Dispute.group, group),
                              (Dispute.discipline, discipline)):
            if value is not None:
                q = q.where(column == value)
        if assessment is not None:
            q = q.where(Dispute.assessment == _id(assessment, "assessment"))
        return page_by_id(self.db.session, q, Dispute.id, limit, cursor, lambda r: _dispute_view(pol, r))

    # -- commissions and appeals (003 §6.3) -----------------------------------------------------------------
    @rpc
    def create_commission(self, order: Any, members: Any, date_from: Any, date_to: Any,
                          actor: str) -> dict[str, Any]:
        pol = policy()
        uow = self.db
        now = uow.now()
        text_order = domain.check_text(order, "order", 100) or ""
        days = []
        for field, value in (("from", date_from), ("to", date_to)):
            try:
                days.append(date.fromisoformat(value))
            except (TypeError, ValueError):
                raise domain.invalid(field, "an ISO date") from None
        codes = domain.check_commission(members, days[0], days[1])
        row = Commission(order=text_order, members=codes, date_from=days[0], date_to=days[1], created_by=actor,
                         created_at=now)
        uow.session.add(row)
        uow.session.flush()
        view = _commission_view(pol, row, pol.local(now).date())
        uow.audit(entity="commission", entity_id=str(row.id), action="created", actor=actor, new=view,
                  reason=f"order {text_order}", chain=f"commission:{row.id}")
        uow.emit("commission.created", view, actor=actor)
        uow.commit()
        return view

    @rpc
    def get_commission(self, commission_id: Any) -> dict[str, Any]:
        pol = policy()
        return _commission_view(pol, self._get(Commission, commission_id, "commission"),
                                 pol.local(self.db.now()).date())

    @rpc
    def list_commissions(self, limit: Any = None, cursor: Any = None) -> dict[str, Any]:
        pol = policy()
        today = pol.local(self.db.now()).date()
        return page_by_id(self.db.session, select(Commission), Commission.id, limit, cursor,
                          lambda r: _commission_view(pol, r, today))

    @rpc
    def commission_of(self, member: str, active_only: bool = True) -> list[int]:
        """The commissions `member` sits on (active today, unless asked for all): the scope of role commission."""
        pol = policy()
        today = pol.local(self.db.now()).date()
        rows = self.db.session.scalars(select(Commission).where(Commission.members.contains([member]))
                                       .order_by(Commission.id))
        return [r.id for r in rows
                if not active_only or domain.commission_active(r.date_from, r.date_to, today)]

    @rpc
    def file_appeal(self, student: str, reason: Any, actor: str, statement: Any = None, assessment: Any = None,
                    published_at: str | None = None) -> dict[str, Any]:
        pol = policy()
        uow = self.db
        s = uow.session
        now = uow.now()
        if statement is None and assessment is None:
            raise domain.invalid("statement", "a statement or an assessment is required")
        text_reason = domain.check_text(reason, "reason") or ""
        sid = None if statement is None else _id(statement, "statement")
        aid = None if assessment is None else _id(assessment, "assessment")
        group = discipline = None
        if sid is not None:
            st = s.get(StatementInfo, sid)
            domain.check_statement_appealable(st.state if st else None)
            assert st is not None
            if st.posted_at is None:
                raise Conflict("the statement's posting has not reached this service yet; try again shortly")
            anchor = st.posted_at  # 003 §6.3: from the statement's posting
            group, discipline = st.group, st.discipline
        else:
            assert aid is not None
            pub = s.get(GradePub, (aid, student))
            if published_at is not None:
                anchor = domain.parse_instant(pol, published_at, "published_at", end_of_day=False)
            elif pub is not None:
                anchor = pub.published_at
            else:
                raise Conflict("no grade of this student for this assessment has been published")
            # after a dispute the appeal runs from the dispute's last answer (003 §6.2 -> §6.3)
            last = s.scalars(select(Dispute.updated_at).where(
                Dispute.assessment == aid, Dispute.student == student, Dispute.state != "open")
                .order_by(Dispute.updated_at.desc())).first()
            if last is not None and last > anchor:
                anchor = last
            info = s.get(AssessmentInfo, aid)
            if info is not None:
                group, discipline = info.group, info.discipline
        existing = s.scalars(select(Appeal).where(
            Appeal.student == student, Appeal.state == "filed",
            Appeal.statement.is_(None) if sid is None else Appeal.statement == sid,
            Appeal.assessment.is_(None) if aid is None else Appeal.assessment == aid)).first()
        if existing is not None:
            return _appeal_view(pol, existing)
        deadline = domain.check_appeal_window(pol, anchor, now)
        row = Appeal(statement=sid, assessment=aid, student=student, group=group, discipline=discipline,
                     reason=text_reason, state="filed", published_at=anchor, deadline=deadline, filed_at=now,
                     filed_by=actor, steps=[_step(pol, "filed", actor, now, reason=text_reason)])
        s.add(row)
        s.flush()
        view = _appeal_view(pol, row)
        uow.audit(entity="appeal", entity_id=str(row.id), action="filed", actor=actor, student=student,
                  new=_snapshot(view, "statement", "assessment", "state", "deadline"), reason=text_reason,
                  chain=f"appeal:{row.id}")
        uow.emit("appeal.filed", view, actor=actor)
        uow.commit()
        return view

    @rpc
    def get_appeal(self, appeal_id: Any) -> dict[str, Any]:
        return _appeal_view(policy(), self._get(Appeal, appeal_id, "appeal"))

    @rpc
    def list_appeals(self, state: str | None = None, student: str | None = None, commissions: list[Any] | None = None,
                     limit: Any = None, cursor: Any = None) -> dict[str, Any]:
        """The student's own; the queue of the caller's commissions: every appeal awaiting a decision and those
        they decided."""
        pol = policy()
        q = select(Appeal)
        if state is not None:
            if state not in domain.APPEAL_STATES:
                raise domain.invalid("state", f"one of {', '.join(domain.APPEAL_STATES)}")
            q = q.where(Appeal.state == state)
        if student is not None:
            q = q.where(Appeal.student == student)
        if commissions is not None:
            mine = [_id(c, "commission") for c in commissions]
            q = q.where(or_(Appeal.state == "filed", Appeal.commission.in_(mine)))
        return page_by_id(self.db.session, q, Appeal.id, limit, cursor, lambda r: _appeal_view(pol, r))

    @rpc
    def decide_appeal(self, appeal_id: Any, upheld: Any, protocol: Any, value: Any, actor: str) -> dict[str, Any]:
        pol = policy()
        uow = self.db
        s = uow.session
        row: Appeal = self._get(Appeal, appeal_id, "appeal", lock=True)
        now = uow.now()
        domain.check_decision(row.state, upheld, protocol)
        candidates = list(s.scalars(select(Commission).where(Commission.members.contains([actor]))
                                    .order_by(Commission.id.desc())))
        cid = domain.check_decider(actor, [(c.id, c.members, c.date_from, c.date_to) for c in candidates],
                                   pol.local(now).date())
        commission = next(c for c in candidates if c.id == cid)
        new_value = None
        if upheld and value is not None:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise domain.invalid("value", "a number on the preset's scale")
            new_value = domain.check_result(pol, value)
        text_protocol = str(protocol).strip()
        row.state, row.commission, row.upheld, row.protocol, row.value = "decided", cid, upheld, text_protocol, \
            new_value
        row.decided_by, row.decided_at = actor, now
        row.steps = [*(row.steps or []), _step(pol, "decided", actor, now, commission=cid, order=commission.order,
                                               protocol=text_protocol, upheld=upheld, value=new_value)]
        s.flush()
        view = _appeal_view(pol, row)
        approval = (f"appeal commission {cid} (order {commission.order}; members {', '.join(commission.members)}),"
                    f" protocol {text_protocol}, decided by {actor}")
        uow.audit(entity="appeal", entity_id=str(row.id), action="decided", actor=actor, student=row.student,
                  old={"state": "filed"}, new={"state": "decided", "upheld": upheld, "value": new_value,
                                               "commission": cid, "protocol": text_protocol,
                                               "members": list(commission.members)},
                  reason=row.reason, approval=approval, chain=f"appeal:{row.id}")
        payload = {"id": row.id, "student": row.student, "statement": row.statement, "assessment": row.assessment,
                   "upheld": upheld, "protocol": text_protocol, "value": new_value, "actor": actor,
                   "commission": cid, "order": commission.order, "members": list(commission.members),
                   "approval": approval}
        # only an upheld appeal with a value changes a grade (grading applies it with role commission, 003 §6.3)
        uow.emit("appeal.decided" if upheld and new_value is not None else "appeal.closed", payload, actor=actor)
        uow.commit()
        return view

    # -- read models, from attendance's and grading's events ------------------------------------------------
    def _upsert_session(self, p: dict[str, Any], session_id: Any) -> None:
        if not p.get("discipline") or not p.get("group") or not p.get("starts_at"):
            return
        values = {"term": p.get("term"), "discipline": p["discipline"], "group": p["group"],
                  "subgroup": p.get("subgroup"), "kind": p.get("kind") or "lecture", "teacher": p.get("teacher"),
                  "starts_at": _instant(p["starts_at"])}
        stmt = pg_insert(SessionInfo).values(id=int(session_id), **values)
        self.db.session.execute(stmt.on_conflict_do_update(index_elements=[SessionInfo.id], set_=values))

    @handles("attendance", "session.scheduled")
    def on_session_scheduled(self, event: Envelope) -> None:
        self._upsert_session(event.payload, event.payload["id"])

    @handles("attendance", "marks.recorded")
    def on_marks_recorded(self, event: Envelope) -> None:
        """The current status per (session, student); an event older than the stored status changes nothing."""
        p = event.payload
        self._upsert_session(p, p["session"])
        at = _instant(event.occurred_at)
        last = {c["student"]: c.get("new") for c in p.get("changes") or []}  # one statement for the whole event
        if not last:
            return
        values = {"group": p["group"], "discipline": p["discipline"], "at": at}
        upsert_newest(self.db.session, Mark, ("session", "student"),
                      [{"session": int(p["session"]), "student": student, "status": status, **values}
                       for student, status in last.items()])

    def _upsert_statement(self, event: Envelope) -> None:
        p = event.payload
        s = self.db.session
        at = _instant(event.occurred_at)
        row = s.get(StatementInfo, int(p["id"]), with_for_update=True)
        if row is None:
            row = StatementInfo(id=int(p["id"]), group=p["group"], discipline=p["discipline"], kind=p["kind"],
                                state=p["state"])
            s.add(row)
        if p["state"] == "posted":
            row.posted_at = at
            if row.state != "closed":  # a late posted event never reopens a closed statement
                row.state = "posted"
        elif p["state"] == "closed":
            row.state, row.closed_at = "closed", at

    @handles("grading", "statement.posted")
    def on_statement_posted(self, event: Envelope) -> None:
        self._upsert_statement(event)

    @handles("grading", "statement.closed")
    def on_statement_closed(self, event: Envelope) -> None:
        self._upsert_statement(event)

    def _upsert_assessment(self, p: dict[str, Any], assessment_id: Any) -> None:
        values = {"group": p["group"], "discipline": p["discipline"], "kind": p.get("kind"), "title": p.get("title")}
        if values["title"] is None:
            values.pop("title")
        stmt = pg_insert(AssessmentInfo).values(id=int(assessment_id), **values)
        self.db.session.execute(stmt.on_conflict_do_update(index_elements=[AssessmentInfo.id], set_=values))

    @handles("grading", "assessment.created")
    def on_assessment_created(self, event: Envelope) -> None:
        self._upsert_assessment(event.payload, event.payload["id"])

    @handles("grading", "grade.recorded")
    def on_grade_recorded(self, event: Envelope) -> None:
        """When each student's grade became visible: the dispute and appeal windows run from it (003 §6.2)."""
        p = event.payload
        self._upsert_assessment(p, p["assessment"])
        at = _instant(event.occurred_at)
        for change in p.get("changes") or []:
            values = {"value": change.get("new"), "published_at": at}
            stmt = pg_insert(GradePub).values(assessment=int(p["assessment"]), student=change["student"], **values)
            self.db.session.execute(stmt.on_conflict_do_update(
                index_elements=[GradePub.assessment, GradePub.student], set_=values,
                where=GradePub.published_at <= at))
