"""The lab DNS: zones, the in-process resolver, the loopback server and live mode."""
