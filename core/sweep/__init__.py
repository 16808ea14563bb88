"""The sweep behind ``cegbench run``, ``analyze`` and ``import --external``: it wires the
stages together (plan → execute → registry → analysis) and prints nothing."""
