"""The application layer: every administrative change (clients, secrets, signing
keys, revocations) is made here and only here, whoever asks for it (the command
line, the revocation endpoint, the admin API). Each change is validated by the
domain's rules, written with its audit event in one transaction, put on the log
stream and announced to the other nodes (service/changes.py)."""
