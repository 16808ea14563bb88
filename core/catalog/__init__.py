"""The plugin stage: ``plugin_manager.load_catalog()`` loads the plugins into a
``Catalog`` (innovations and components), ``contracts`` checks each component kind's
contract at load, ``listing`` writes ``cegbench list`` and docs/catalogue.md."""
