"""``carbon nightly``: the night's markets and entities (``night``), the run (``run``), its
alerts (``alerts``) and what it writes (``output``). Uses every room but ``desk.cli``."""
