"""Where the desk keeps things: the SQLite store (alerts, deliveries, runs, the audit chain),
atomic files and private folders, and the redaction of secrets before anything is written.
The lowest room of ``desk``: it imports no other room."""
