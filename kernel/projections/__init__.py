"""One projection kit: a read model declared once (its table, key, the events it consumes and how each applies),
applied the same way by the live consumers, a batch and a rebuild.

    READ_MODEL = Projection("gateway.org", OrgUnit, ("code",), on={("identity", "org.changed"): org_rows})

An apply function turns an event into changes (`Put`, `Remove`, `Replace`); the kit writes them. A keyed row
keeps the newest event's value: the columns named by `at` and `event_id` store the event's occurred_at and id,
and a stored row is updated only by a newer (occurred_at, event_id), so the table comes out the same in any order
of delivery. A read model that is more than rows (counters moving with the rows they count) applies itself
(`Direct`). Each projection claims each event once (`UnitOfWork.claim`, in the transaction of its effect), so a
redelivery, a batch and a rebuild running beside the live consumers apply it once.

`python -m kernel.projections rebuild <service> [<projection>] [--compare]` replays the outboxes (kernel.tables:
each service's event log) into the read models (rebuild.py).
"""

from kernel.projections.kit import (
    BatchResult,
    Change,
    Direct,
    Projection,
    Put,
    Remove,
    Replace,
    apply,
    apply_batch,
    claim_name,
    occurred,
    write,
)

__all__ = ["BatchResult", "Change", "Direct", "Projection", "Put", "Remove", "Replace", "apply", "apply_batch",
           "claim_name", "occurred", "write"]
