"""Tables of the grading service (schema `grading`). Its domain tables arrive with its own issue."""

from sqlalchemy import MetaData

from kernel.tables import add_kernel_tables

SCHEMA = "grading"
metadata = MetaData(schema=SCHEMA)
kernel_tables = add_kernel_tables(metadata)
