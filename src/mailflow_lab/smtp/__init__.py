"""SMTP glue: aiosmtpd protocol and handlers for each lab endpoint; no rule lives here."""
