"""The SQLite registry: its schema (``migrations``) and every read and write of it."""

DEFAULT_REGISTRY = "cegbench.db"  # the registry file when none is named (``--registry``)
