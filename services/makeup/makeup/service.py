"""The makeup service's nameko entrypoints."""

from kernel.db import Database
from kernel.service import ServiceBase


class MakeupService(ServiceBase):
    name = "makeup"
    db = Database()
