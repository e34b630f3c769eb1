"""Create the institution and the IT administrator `admin`; safe to run again.

    python -m identity.bootstrap --preset oshtu

The password comes from EJOURNAL_ADMIN_PASSWORD, else one is generated, printed once and kept in
$EJOURNAL_STATE_DIR/admin-password (mode 600). Runs before the services start: the events it
stores wait in the outbox for the relay.
"""

from __future__ import annotations

import argparse
import os
import sys

from sqlalchemy.orm import sessionmaker

from identity import domain
from identity.handlers import person_state
from identity.models import Account, Institution, Person, RoleGrant
from identity.passwords import HASHER
from kernel.config import settings
from kernel.db import UnitOfWork, make_engine
from kernel.policy import load_preset


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m identity.bootstrap")
    parser.add_argument("--preset", default=settings().preset)
    args = parser.parse_args(argv)
    policy = load_preset(args.preset)  # a broken preset stops here, naming the field
    engine = make_engine(settings().service_url("identity"), pool_size=1)
    uow = UnitOfWork(sessionmaker(bind=engine, expire_on_commit=False), "identity")
    tx = uow.tx
    institution = tx.get(Institution, args.preset)
    names = policy.as_dict().get("labels", {}).get("name", {})
    name = names.get("ru") or names.get("en") or args.preset
    if institution is None:
        tx.add(Institution(code=args.preset, name=name, preset=args.preset))
        print(f"  institution {args.preset}: created ({name})")
    elif institution.preset != args.preset:
        print(f"  institution {institution.code} runs preset {institution.preset}; not changed", file=sys.stderr)
    state_dir = settings().state_dir
    password_file = os.path.join(state_dir, "admin-password")
    if tx.get(Account, "admin") is None:
        password = os.environ.get("EJOURNAL_ADMIN_PASSWORD") or domain.initial_password()
        tx.add(Person(code="admin", kind="staff", full_name="IT administrator", revision=1))
        tx.flush()
        tx.add(Account(person="admin", login="admin", password_hash=HASHER.hash(password)))
        tx.add(RoleGrant(person="admin", role="it_admin", scope=None))
        tx.flush()
        uow.emit("person.changed", person_state(uow, "admin"), actor="system")
        uow.audit(entity="account", entity_id="admin", action="created", actor="system")
        os.makedirs(state_dir, exist_ok=True)
        fd = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(password + "\n")
        shown = "from EJOURNAL_ADMIN_PASSWORD" if os.environ.get("EJOURNAL_ADMIN_PASSWORD") else password
        print(f"  IT admin: login admin, password {shown} (kept in {password_file})")
    else:
        print("  IT admin: exists")
    uow.commit()
    uow.close()
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
