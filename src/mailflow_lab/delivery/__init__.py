"""Moving accepted mail: filing into mailboxes, relaying out, tracing; no rule of Microsoft 365 lives here."""
