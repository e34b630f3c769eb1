"""Tables of the makeup service (schema `makeup`). Its domain tables arrive with its own issue."""

from sqlalchemy import MetaData

from kernel.tables import add_kernel_tables

SCHEMA = "makeup"
metadata = MetaData(schema=SCHEMA)
kernel_tables = add_kernel_tables(metadata)
