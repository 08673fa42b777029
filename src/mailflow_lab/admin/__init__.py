"""Exchange Online PowerShell against the lab tenant: syntax, binding, cmdlets, formatting."""
