"""Alerts at the desk: the ``[alerts]`` settings, the check of the rules on prices (stored once,
from the store's watermark) and the notifiers that deliver them. Uses ``desk.store``."""
