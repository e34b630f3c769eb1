"""The grading service's nameko entrypoints."""

from kernel.db import Database
from kernel.service import ServiceBase


class GradingService(ServiceBase):
    name = "grading"
    db = Database()
