"""Simulated devices and apps: they send over real SMTP and keep a transcript."""
