"""The pytest glue (:mod:`neurospec.plugin.plugin`, registered via the ``pytest11`` entry point)."""
