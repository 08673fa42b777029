"""mailflow-lab: learn how devices send mail through Microsoft 365, against a faithful local lab."""

from .auth.spf import SpfVerdict, check_spf
from .datafile import LabDataError
from .device import Device, Outcome, SendResult
from .lab import Lab
from .labdns.resolver import LabDNS

__all__ = ["Device", "Lab", "LabDNS", "LabDataError", "Outcome", "SendResult", "SpfVerdict", "check_spf"]
__version__ = "0.1.0"
