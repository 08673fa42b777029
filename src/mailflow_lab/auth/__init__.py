"""Email authentication verdicts over the lab DNS: SPF, DKIM, DMARC."""
