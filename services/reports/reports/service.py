"""The reports service's nameko entrypoints."""

from kernel.db import Database
from kernel.service import ServiceBase


class ReportsService(ServiceBase):
    name = "reports"
    db = Database()
