"""The ``cegbench`` command line: ``main`` holds the click group, one module per command
group holds its commands, ``common`` what they share (options, plugin loading, registry
opening), ``terminal`` what they print at length. Commands stay thin: parse, call the
library, print, turn domain errors into messages."""
