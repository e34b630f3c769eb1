"""Tables of the attendance service (schema `attendance`). Its domain tables arrive with its own issue."""

from sqlalchemy import MetaData

from kernel.tables import add_kernel_tables

SCHEMA = "attendance"
metadata = MetaData(schema=SCHEMA)
kernel_tables = add_kernel_tables(metadata)
