"""The attendance service's nameko entrypoints."""

from kernel.db import Database
from kernel.service import ServiceBase


class AttendanceService(ServiceBase):
    name = "attendance"
    db = Database()
