<#
.SYNOPSIS
    Export an Exchange Online tenant's mail-flow settings for mailflow-lab (read-only).

.DESCRIPTION
    Runs only Get-* cmdlets and Resolve-DnsName: nothing in the tenant is changed. No password, token,
    certificate key or message content is read or written. Each cmdlet's objects go, with the properties
    mailflow-lab models, to <OutDir>\<Cmdlet>.json; the accepted domains' MX, SPF, DMARC and DKIM CNAME
    records to <OutDir>\dns.json. Then, on any machine with mailflow-lab:
        mailflow-lab import <OutDir> --out mytenant.toml [--anonymise]

    How to run it (PowerShell 7 or Windows PowerShell 5.1, an Exchange admin or View-Only Organization
    Management role):
        Install-Module ExchangeOnlineManagement -Scope CurrentUser   # once
        Connect-ExchangeOnline -UserPrincipalName admin@contoso.com
        .\Export-MailflowLabTenant.ps1 -OutDir .\contoso-export
        Disconnect-ExchangeOnline

.PARAMETER OutDir
    The folder to write (created if missing).
#>
[CmdletBinding()]
param([Parameter(Mandatory)][string]$OutDir)

$ErrorActionPreference = 'Stop'
New-Item -ItemType Directory -Force -Path $OutDir | Out-Null

function Save-Json($Objects, [string]$Name) {
    # UTF-8 on both PowerShell editions; an enum is written as Exchange prints it (the calculated
    # properties below turn enums into their names, multi-valued ones into lists of strings).
    $path = Join-Path $OutDir $Name
    ConvertTo-Json -InputObject @($Objects) -Depth 5 | Set-Content -Path $path -Encoding UTF8
    Write-Host "wrote $path ($(@($Objects).Count) objects)"
}
function Text($Name) { @{ Name = $Name; Expression = [scriptblock]::Create("if (`$null -ne `$_.$Name) { `"`$(`$_.$Name)`" }") } }
function Texts($Name) { @{ Name = $Name; Expression = [scriptblock]::Create("@(`$_.$Name | ForEach-Object { `"`$_`" })") } }

$domains = Get-AcceptedDomain
Save-Json ($domains | Select-Object Name, DomainName, (Text DomainType), Default, InitialDomain) 'Get-AcceptedDomain.json'

Save-Json (Get-TransportConfig | Select-Object SmtpClientAuthenticationDisabled, AllowLegacyTLSClients) 'Get-TransportConfig.json'
Save-Json (Get-OrganizationConfig | Select-Object Name, DisplayName, RejectDirectSend) 'Get-OrganizationConfig.json'

Save-Json (Get-Mailbox -ResultSize Unlimited | Select-Object Identity, Name, Alias, DisplayName, UserPrincipalName,
    (Text PrimarySmtpAddress), (Text RecipientTypeDetails), (Texts EmailAddresses), (Text SharingPolicy)) 'Get-Mailbox.json'
Save-Json (Get-CASMailbox -ResultSize Unlimited | Select-Object Identity, Name, (Text PrimarySmtpAddress),
    SmtpClientAuthenticationDisabled) 'Get-CASMailbox.json'
Save-Json (Get-RecipientPermission -ResultSize Unlimited | Select-Object Identity, Trustee, (Text AccessControlType),
    (Texts AccessRights), IsInherited) 'Get-RecipientPermission.json'

Save-Json (Get-InboundConnector | Select-Object Name, Enabled, (Text ConnectorType), (Texts SenderIPAddresses),
    (Texts SenderDomains), (Text TlsSenderCertificateName), RequireTls, RestrictDomainsToIPAddresses,
    RestrictDomainsToCertificate, EFSkipLastIP, (Texts EFSkipIPs), (Texts EFUsers), TreatMessagesAsInternal) 'Get-InboundConnector.json'
Save-Json (Get-OutboundConnector | Select-Object Name, Enabled, (Text ConnectorType), (Texts RecipientDomains),
    (Texts SmartHosts), UseMXRecord, (Text TlsSettings), (Text TlsDomain), IsTransportRuleScoped,
    RouteAllMessagesViaOnPremises) 'Get-OutboundConnector.json'
Save-Json (Get-DkimSigningConfig | Select-Object Domain, Enabled, Selector1CNAME, Selector2CNAME) 'Get-DkimSigningConfig.json'
Save-Json (Get-SharingPolicy | Select-Object Name, (Texts Domains), Enabled, Default) 'Get-SharingPolicy.json'
Save-Json (Get-OrganizationRelationship | Select-Object Name, (Texts DomainNames), Enabled, FreeBusyAccessEnabled,
    (Text FreeBusyAccessLevel), MailTipsAccessEnabled, (Text MailTipsAccessLevel)) 'Get-OrganizationRelationship.json'

# Public DNS of each accepted domain (Resolve-DnsName is Windows-only; answers only, Type as its name).
$records = foreach ($d in $domains) {
    $name = "$($d.DomainName)"
    foreach ($query in @(@($name, 'MX'), @($name, 'TXT'), @("_dmarc.$name", 'TXT'),
                         @("selector1._domainkey.$name", 'CNAME'), @("selector2._domainkey.$name", 'CNAME'))) {
        Resolve-DnsName -Name $query[0] -Type $query[1] -DnsOnly -ErrorAction SilentlyContinue |
            Where-Object { "$($_.Section)" -eq 'Answer' } |
            Select-Object Name, (Text Type), (Text Section), TTL, NameExchange, Preference, (Texts Strings), NameHost
    }
}
Save-Json $records 'dns.json'
