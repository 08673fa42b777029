"""Anonymising an imported tenant: every domain, address, name and IP replaced, the same one each time."""

from __future__ import annotations

import ipaddress
import re

from .model import DEFAULT_SHARING_POLICY, IPNetwork
from .tenant_import import DnsRecord, ImportedTenant

# Microsoft's own names stay (the lab serves them); only the tenant's part of them is replaced.
_MICROSOFT = ("outlook.com", "onmicrosoft.com", "office365.com", "office.com", "microsoft.com", "microsoft")
_EMAIL = re.compile(r"[A-Za-z0-9!#$%&'*+\-=?^_`{|}~.]+@[A-Za-z0-9.\-]+[A-Za-z0-9]")
_SPF_TERM = re.compile(r"^([+\-~?]?)(ip4:|ip6:|include:|a:|mx:|exists:|ptr:|redirect=|exp=)(.+)$", re.I)


class Anonymiser:
    """Consistent replacements: tenant domains -> tenantN.example, others -> partnerN.example, and so on."""

    def __init__(self, domains: list[str]) -> None:
        self.domains: dict[str, str] = {}
        self.addresses: dict[str, str] = {}
        self.networks: dict[IPNetwork, IPNetwork] = {}
        self._next = {4: 0, 6: 0}
        custom = [d for d in domains if not d.endswith(".onmicrosoft.com")]
        for index, domain in enumerate(custom, start=1):
            self.domains[domain] = f"tenant{index}.example"
        hosted = [
            d for d in domains if d.endswith(".onmicrosoft.com") and not d.endswith(".mail.onmicrosoft.com")
        ]
        for index, domain in enumerate(hosted, start=1):
            self.domains[domain] = f"tenant{index}.onmicrosoft.com"
            routing = domain.replace(".onmicrosoft.com", ".mail.onmicrosoft.com")
            self.domains[routing] = f"tenant{index}.mail.onmicrosoft.com"
        for domain in domains:  # a *.mail.onmicrosoft.com without its initial domain
            self.domains.setdefault(domain, f"tenant{len(self.domains) + 1}.mail.onmicrosoft.com")
        self._tenant = dict(self.domains)
        self._partners = 0
        self._hosts = 0

    def domain(self, name: str) -> str:
        name = name.lower().rstrip(".")
        if name in ("*", ""):
            return name
        if name.startswith("*."):
            return "*." + self.domain(name[2:])
        if name in self.domains:
            return self.domains[name]
        if name.endswith(_MICROSOFT) and any(name == m or name.endswith("." + m) for m in _MICROSOFT):
            mapped = self._tokens(name)
        elif "._domainkey." in name:
            head, _, rest = name.partition("._domainkey.")
            mapped = f"{self._tokens(head)}._domainkey.{self.domain(rest)}"
        elif name.startswith("_dmarc."):
            mapped = "_dmarc." + self.domain(name.removeprefix("_dmarc."))
        else:
            parent = next(
                (d for d in sorted(self._tenant, key=len, reverse=True) if name.endswith("." + d)), None
            )
            if parent is not None:
                self._hosts += 1
                mapped = f"host{self._hosts}.{self._tenant[parent]}"
            else:
                self._partners += 1
                mapped = f"partner{self._partners}.example"
        self.domains[name] = mapped
        return mapped

    def _tokens(self, text: str) -> str:
        """A Microsoft-hosted or DKIM name: the tenant's dashed domains and initial label replaced."""
        for domain in sorted(self._tenant, key=len, reverse=True):
            text = text.replace(domain.replace(".", "-"), self._tenant[domain].replace(".", "-"))
        for domain in self._tenant:
            if domain.endswith(".onmicrosoft.com"):
                label, new = domain.split(".")[0], self._tenant[domain].split(".")[0]
                text = re.sub(rf"(^|[.-]){re.escape(label)}([.-]|$)", rf"\g<1>{new}\g<2>", text)
        return text

    def address(self, address: str) -> str:
        key = address.lower()
        if key not in self.addresses:
            domain = address.rpartition("@")[2]
            self.addresses[key] = f"user{len(self.addresses) + 1}@{self.domain(domain)}"
        return self.addresses[key]

    def network(self, network: IPNetwork) -> IPNetwork:
        """Each range -> one of the same size in 198.18.0.0/15 or 2001:db8::/32 (RFC 2544, RFC 3849)."""
        if network in self.networks:
            return self.networks[network]
        for old, new in self.networks.items():
            if old.version == network.version and network.subnet_of(old):  # type: ignore[arg-type]
                offset = int(network.network_address) - int(old.network_address)
                return ipaddress.ip_network(f"{new.network_address + offset}/{network.prefixlen}")
        base = ipaddress.ip_network("198.18.0.0/15" if network.version == 4 else "2001:db8::/32")
        size = network.num_addresses
        start = -(-self._next[network.version] // size) * size  # aligned to the range's size
        self._next[network.version] = start + size
        new = ipaddress.ip_network(f"{base.network_address + start}/{network.prefixlen}")
        self.networks[network] = new
        return new

    def host(self, text: str) -> str:
        """A smart host or address: an IP -> its replacement, a name -> its domain's."""
        try:
            return str(self.network(ipaddress.ip_network(text)).network_address)
        except ValueError:
            return self.domain(text)

    def text(self, text: str) -> str:
        """A TXT string: SPF terms and DMARC addresses replaced; anything else (tokens) made neutral."""
        if text.lower().startswith("v=spf1"):
            return " ".join(self._spf_term(t) for t in text.split())
        if text.lower().startswith("v=dmarc1"):
            return _EMAIL.sub(lambda m: self.address(m.group()), text)
        return "anonymised"

    def _spf_term(self, term: str) -> str:
        match = _SPF_TERM.match(term)
        if match is None:
            return term
        qualifier, kind, value = match.groups()
        if kind.lower() in ("ip4:", "ip6:"):
            return qualifier + kind + str(self.network(ipaddress.ip_network(value, strict=False)))
        return qualifier + kind + self.domain(value)


def anonymise(imported: ImportedTenant) -> Anonymiser:
    """Replace every domain, address, display name, object name and IP of the import, in place."""
    tenant = imported.tenant
    anon = Anonymiser([d.name for d in tenant.accepted_domains])
    for accepted in tenant.accepted_domains:
        accepted.name = anon.domain(accepted.name)
    tenant.name = "Tenant 1"
    tenant.initial_domain = anon.domain(tenant.initial_domain)
    policies = {p.name: (p.name if p.name == DEFAULT_SHARING_POLICY else f"Sharing policy {i}")
                for i, p in enumerate(tenant.sharing_policies, start=1)}  # fmt: skip
    for index, mailbox in enumerate(tenant.mailboxes, start=1):
        mailbox.address = anon.address(mailbox.address)
        mailbox.display_name = (
            f"User {index}" if mailbox.mailbox_type == "User" else f"Shared mailbox {index}"
        )
        mailbox.send_as_trustees = [anon.address(a) for a in mailbox.send_as_trustees]
        if mailbox.sharing_policy is not None:
            mailbox.sharing_policy = policies.get(mailbox.sharing_policy, mailbox.sharing_policy)
    for index, c in enumerate(tenant.inbound_connectors, start=1):
        c.name = f"Inbound connector {index}"
        c.sender_ip_addresses = [anon.network(n) for n in c.sender_ip_addresses]
        c.sender_domains = [anon.domain(d) for d in c.sender_domains]
        if c.tls_sender_certificate_name:
            c.tls_sender_certificate_name = anon.domain(c.tls_sender_certificate_name)
        c.ef_skip_ips = [anon.network(n) for n in c.ef_skip_ips]
        c.ef_users = [anon.address(a) for a in c.ef_users]
    for index, o in enumerate(tenant.outbound_connectors, start=1):
        o.name = f"Outbound connector {index}"
        o.recipient_domains = [anon.domain(d) for d in o.recipient_domains]
        o.smart_hosts = [anon.host(h) for h in o.smart_hosts]
        o.tls_domain = anon.domain(o.tls_domain) if o.tls_domain else o.tls_domain
    selectors = {}
    for config in tenant.dkim:
        selectors[anon.domain(config.domain)] = imported.dkim_selectors.get(config.domain, ["selector1"])
        config.domain = anon.domain(config.domain)
        config.key_domain = anon.domain(config.key_domain) if config.key_domain else ""
    imported.dkim_selectors = selectors
    for policy in tenant.sharing_policies:
        policy.name = policies[policy.name]
        policy.domains = {
            (d if d in ("*", "Anonymous") else anon.domain(d)): a for d, a in policy.domains.items()
        }
    for index, relationship in enumerate(tenant.organization_relationships, start=1):
        relationship.name = f"Organization relationship {index}"
        relationship.domain_names = [anon.domain(d) for d in relationship.domain_names]
    imported.records = [_record(anon, r) for r in imported.records]
    return anon


def _record(anon: Anonymiser, record: DnsRecord) -> DnsRecord:
    if record.rtype == "MX":
        data: tuple[str, ...] = (record.data[0], anon.domain(record.data[1]))
    elif record.rtype == "TXT":
        data = tuple(anon.text(s) for s in record.data)
    else:
        data = (anon.domain(record.data[0]),)
    return DnsRecord(anon.domain(record.name), record.rtype, data)
