"""Built-in innovations. Each module is a plugin written exactly as a third-party
package would write it; ``cegbench.catalog.plugin_manager.DEFAULT_PLUGINS`` lists them."""
