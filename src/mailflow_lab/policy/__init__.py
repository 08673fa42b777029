"""The policy layer: pure functions from facts to decisions; every rule of the lab lives here."""
