"""The desk's files: the configuration (``desk.toml``), its schema, the compliance books, and
the price sources they name. Uses ``desk.store`` and ``desk.alerts``."""
