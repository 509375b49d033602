<#
.SYNOPSIS
    SentinelManager.ps1 - manage Microsoft Sentinel workspaces from PowerShell.
.DESCRIPTION
    Tables, analytics rules, workbooks, incidents, backup/export and data collection (DCR/DCE)
    for one Log Analytics workspace with Microsoft Sentinel. Dot-source it to use the functions,
    or run it to get the interactive menu.
.NOTES
    Requires Az.Accounts (Invoke-AzRestMethod). Written for the sentinelkit tests.
#>
#Requires -Version 7.0
Set-StrictMode -Version Latest

$script:SentinelApiVersion = '2025-09-01'
$script:TablesApiVersion = '2025-07-01'
$script:DcrApiVersion = '2023-03-11'
$script:Context = @{
    SubscriptionId = $env:SENTINEL_SUBSCRIPTION_ID
    ResourceGroup  = $env:SENTINEL_RESOURCE_GROUP
    WorkspaceName  = $env:SENTINEL_WORKSPACE_NAME
}

#region Helpers

function Write-Log {
    param([string]$Message, [ValidateSet('Info', 'Warning', 'Error')][string]$Level = 'Info')
    $stamp = Get-Date -Format 'yyyy-MM-dd HH:mm:ss'
    Write-Verbose "[$stamp] [$Level] $Message"
}

function Get-WorkspacePath {
    <#
    .SYNOPSIS
        The ARM path of the configured workspace.
    #>
    [CmdletBinding()]
    param()
    "/subscriptions/$($script:Context.SubscriptionId)/resourceGroups/$($script:Context.ResourceGroup)" +
        "/providers/Microsoft.OperationalInsights/workspaces/$($script:Context.WorkspaceName)"
}

function Invoke-SentinelApi {
    <#
    .SYNOPSIS
        Calls the Azure Resource Manager REST API (internal helper).
    .PARAMETER Method
        HTTP method.
    .PARAMETER Path
        ARM path, starting with /subscriptions.
    .PARAMETER Body
        Request body (converted to JSON).
    #>
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)][ValidateSet('GET', 'PUT', 'PATCH', 'POST', 'DELETE')][string]$Method,
        [Parameter(Mandatory)][string]$Path,
        [string]$ApiVersion = $script:SentinelApiVersion,
        [object]$Body
    )
    $params = @{ Method = $Method; Path = "$Path`?api-version=$ApiVersion" }
    if ($Body) { $params.Payload = ($Body | ConvertTo-Json -Depth 20) }
    $response = Invoke-AzRestMethod @params
    if ($response.StatusCode -ge 400) {
        $message = ($response.Content | ConvertFrom-Json).error.message
        throw [System.Net.Http.HttpRequestException]::new("HTTP $($response.StatusCode): $message")
    }
    if ($response.Content) { $response.Content | ConvertFrom-Json -Depth 50 }
}

function Connect-SentinelWorkspace {
    <#
    .SYNOPSIS
        Selects the workspace the other functions work on.
    .PARAMETER SubscriptionId
        Subscription of the workspace.
    .PARAMETER ResourceGroup
        Resource group of the workspace.
    .PARAMETER WorkspaceName
        Name of the Log Analytics workspace.
    #>
    [CmdletBinding()]
    param(
        [Parameter(Mandatory = $true)][guid]$SubscriptionId,
        [Parameter(Mandatory = $true)][string]$ResourceGroup,
        [Parameter(Mandatory = $true)][ValidatePattern('^[A-Za-z0-9][A-Za-z0-9-]{2,61}[A-Za-z0-9]$')][string]$WorkspaceName
    )
    $script:Context = @{ SubscriptionId = "$SubscriptionId"; ResourceGroup = $ResourceGroup; WorkspaceName = $WorkspaceName }
    [pscustomobject]$script:Context
}

#endregion

#region Tables

function New-SentinelTable {
    <#
    .SYNOPSIS
        Creates a custom table (_CL) in the workspace.
    .DESCRIPTION
        Creates a custom log table with the given columns. TimeGenerated is added when missing.
        The plan decides the price and what can be queried: Analytics (full KQL), Basic (cheaper,
        limited KQL, 30 days) or Auxiliary.
    .PARAMETER TableName
        Name of the table; must end with _CL.
    .PARAMETER Columns
        Columns as a hashtable of name = type (string, int, long, real, bool, datetime, dynamic, guid).
    .PARAMETER Plan
        Table plan.
    .PARAMETER RetentionInDays
        Interactive retention in days.
    .PARAMETER TotalRetentionInDays
        Total retention (interactive + archive) in days.
    .EXAMPLE
        New-SentinelTable -TableName 'FirewallEvents_CL' -Columns @{ SourceIp = 'string'; Action = 'string' }
    #>
    [CmdletBinding(SupportsShouldProcess = $true)]
    param(
        [Parameter(Mandatory = $true, Position = 0)]
        [ValidatePattern('_CL$')]
        [string]$TableName,

        [Parameter(Mandatory = $true)]
        [hashtable]$Columns,

        [ValidateSet('Analytics', 'Basic', 'Auxiliary')]
        [string]$Plan = 'Analytics',

        [ValidateRange(4, 730)]
        [int]$RetentionInDays = 30,

        [ValidateRange(4, 4383)]
        [int]$TotalRetentionInDays
    )
    $columnList = @(@{ name = 'TimeGenerated'; type = 'datetime' })
    foreach ($key in $Columns.Keys) {
        if ($key -ne 'TimeGenerated') { $columnList += @{ name = $key; type = $Columns[$key] } }
    }
    $body = @{ properties = @{ schema = @{ name = $TableName; columns = $columnList }; plan = $Plan; retentionInDays = $RetentionInDays } }
    if ($PSBoundParameters.ContainsKey('TotalRetentionInDays')) { $body.properties.totalRetentionInDays = $TotalRetentionInDays }
    if ($PSCmdlet.ShouldProcess($TableName, 'Create custom table')) {
        Invoke-SentinelApi -Method PUT -Path "$(Get-WorkspacePath)/tables/$TableName" -ApiVersion $script:TablesApiVersion -Body $body
    }
}

function Get-SentinelTables {
    <#
    .SYNOPSIS
        Lists the tables of the workspace with their plan and retention.
    .PARAMETER Filter
        Only tables whose name matches this wildcard pattern (e.g. 'Security*').
    .PARAMETER CustomOnly
        Only custom (_CL) tables.
    #>
    [CmdletBinding()]
    param(
        [string]$Filter = '*',
        [switch]$CustomOnly
    )
    $tables = (Invoke-SentinelApi -Method GET -Path "$(Get-WorkspacePath)/tables" -ApiVersion $script:TablesApiVersion).value
    $tables | Where-Object { $_.name -like $Filter -and (-not $CustomOnly -or $_.name -like '*_CL') } |
        ForEach-Object {
            [pscustomobject]@{
                Name                 = $_.name
                Plan                 = $_.properties.plan
                RetentionInDays      = $_.properties.retentionInDays
                TotalRetentionInDays = $_.properties.totalRetentionInDays
            }
        }
}

function Remove-SentinelTable {
    <#
    .SYNOPSIS
        Deletes a custom table and all of its data.
    .DESCRIPTION
        The data cannot be recovered. Only custom (_CL) tables can be deleted.
    .PARAMETER TableName
        Name of the custom table.
    .PARAMETER Force
        Do not ask for confirmation in the console.
    #>
    [CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'High')]
    param(
        [Parameter(Mandatory = $true)]
        [ValidatePattern('_CL$')]
        [string]$TableName,
        [switch]$Force
    )
    if ($Force -or $PSCmdlet.ShouldProcess($TableName, 'Delete table and all its data')) {
        Invoke-SentinelApi -Method DELETE -Path "$(Get-WorkspacePath)/tables/$TableName" -ApiVersion $script:TablesApiVersion
        Write-Host "Table $TableName deleted." -ForegroundColor Green
    }
}

function Update-TablePlan {
    <#
    .SYNOPSIS
        Switches a table between the Analytics and Basic plans.
    .PARAMETER TableName
        Name of the table.
    .PARAMETER Plan
        The new plan.
    #>
    [CmdletBinding(SupportsShouldProcess)]
    param(
        [Parameter(Mandatory)][string]$TableName,
        [Parameter(Mandatory)][ValidateSet('Analytics', 'Basic')][string]$Plan
    )
    if ($PSCmdlet.ShouldProcess($TableName, "Set plan to $Plan")) {
        Invoke-SentinelApi -Method PATCH -Path "$(Get-WorkspacePath)/tables/$TableName" -ApiVersion $script:TablesApiVersion `
            -Body @{ properties = @{ plan = $Plan } }
    }
}

function Update-TableRetention {
    <#
    .SYNOPSIS
        Sets the interactive and total retention of a table.
    .PARAMETER TableName
        Name of the table.
    .PARAMETER RetentionInDays
        Interactive retention, 4 to 730 days.
    .PARAMETER TotalRetentionInDays
        Total retention including archive, up to 4383 days (12 years).
    #>
    [CmdletBinding(SupportsShouldProcess = $true)]
    param(
        [Parameter(Mandatory = $true)][string]$TableName,
        [Parameter(Mandatory = $true)][ValidateRange(4, 730)][int]$RetentionInDays,
        [ValidateRange(4, 4383)][int]$TotalRetentionInDays = 730
    )
    if ($PSCmdlet.ShouldProcess($TableName, "Retention $RetentionInDays/$TotalRetentionInDays days")) {
        Invoke-SentinelApi -Method PATCH -Path "$(Get-WorkspacePath)/tables/$TableName" -ApiVersion $script:TablesApiVersion `
            -Body @{ properties = @{ retentionInDays = $RetentionInDays; totalRetentionInDays = $TotalRetentionInDays } }
    }
}

function View-TableRetention {
    <#
    .SYNOPSIS
        Shows the retention settings of one table or of all tables.
    .PARAMETER TableName
        Name of the table; all tables when omitted.
    #>
    param([string]$TableName)
    $path = if ($TableName) { "$(Get-WorkspacePath)/tables/$TableName" } else { "$(Get-WorkspacePath)/tables" }
    $result = Invoke-SentinelApi -Method GET -Path $path -ApiVersion $script:TablesApiVersion
    $items = if ($TableName) { @($result) } else { $result.value }
    $items | Select-Object name, @{ n = 'retentionInDays'; e = { $_.properties.retentionInDays } },
        @{ n = 'totalRetentionInDays'; e = { $_.properties.totalRetentionInDays } },
        @{ n = 'archiveRetentionInDays'; e = { $_.properties.archiveRetentionInDays } }
}

#endregion

#region Analytics rules

function Get-AnalyticsRules {
    <#
    .SYNOPSIS
        Lists the analytics rules with their kind, severity and state.
    .PARAMETER Kind
        Only rules of this kind.
    .PARAMETER EnabledOnly
        Only enabled rules.
    #>
    [CmdletBinding()]
    param(
        [ValidateSet('Scheduled', 'NRT', 'Fusion', 'MicrosoftSecurityIncidentCreation', 'MLBehaviorAnalytics', 'ThreatIntelligence')]
        [string]$Kind,
        [switch]$EnabledOnly
    )
    $rules = (Invoke-SentinelApi -Method GET -Path "$(Get-WorkspacePath)/providers/Microsoft.SecurityInsights/alertRules").value
    if ($Kind) { $rules = $rules | Where-Object kind -eq $Kind }
    if ($EnabledOnly) { $rules = $rules | Where-Object { $_.properties.enabled } }
    $rules | ForEach-Object {
        [pscustomobject]@{ Id = $_.name; Kind = $_.kind; DisplayName = $_.properties.displayName
            Severity = $_.properties.severity; Enabled = $_.properties.enabled }
    }
}

function Get-AnalyticsRuleDetails {
    <#
    .SYNOPSIS
        Shows one analytics rule in full, including its query.
    .PARAMETER RuleId
        The rule's id (name), as listed by Get-AnalyticsRules.
    #>
    [CmdletBinding()]
    param([Parameter(Mandatory = $true)][string]$RuleId)
    Invoke-SentinelApi -Method GET -Path "$(Get-WorkspacePath)/providers/Microsoft.SecurityInsights/alertRules/$RuleId"
}

function Enable-AnalyticsRule {
    <#
    .SYNOPSIS
        Enables an analytics rule.
    .PARAMETER RuleId
        The rule's id.
    #>
    [CmdletBinding(SupportsShouldProcess = $true)]
    param([Parameter(Mandatory = $true)][string]$RuleId)
    $path = "$(Get-WorkspacePath)/providers/Microsoft.SecurityInsights/alertRules/$RuleId"
    $rule = Invoke-SentinelApi -Method GET -Path $path
    $rule.properties.enabled = $true
    if ($PSCmdlet.ShouldProcess($rule.properties.displayName, 'Enable analytics rule')) {
        Invoke-SentinelApi -Method PUT -Path $path -Body $rule | Select-Object name, @{ n = 'enabled'; e = { $_.properties.enabled } }
    }
}

function Disable-AnalyticsRule {
    <#
    .SYNOPSIS
        Disables an analytics rule: it stops creating alerts and incidents.
    .PARAMETER RuleId
        The rule's id.
    .PARAMETER Reason
        Why the rule is disabled (kept in the rule's description).
    #>
    [CmdletBinding(SupportsShouldProcess = $true)]
    param(
        [Parameter(Mandatory = $true)][string]$RuleId,
        [string]$Reason
    )
    $path = "$(Get-WorkspacePath)/providers/Microsoft.SecurityInsights/alertRules/$RuleId"
    $rule = Invoke-SentinelApi -Method GET -Path $path
    $rule.properties.enabled = $false
    if ($Reason) { $rule.properties.description += "`n[Disabled: $Reason]" }
    if ($PSCmdlet.ShouldProcess($rule.properties.displayName, 'Disable analytics rule')) {
        Invoke-SentinelApi -Method PUT -Path $path -Body $rule | Out-Null
        Write-Host "Rule $RuleId disabled."
    }
}

function Remove-AnalyticsRule {
    <#
    .SYNOPSIS
        Deletes an analytics rule.
    .PARAMETER RuleId
        The rule's id.
    #>
    [CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'High')]
    param([Parameter(Mandatory = $true)][string]$RuleId)
    if ($PSCmdlet.ShouldProcess($RuleId, 'Delete analytics rule')) {
        Invoke-SentinelApi -Method DELETE -Path "$(Get-WorkspacePath)/providers/Microsoft.SecurityInsights/alertRules/$RuleId"
    }
}

function New-AnalyticsRule {
    <#
    .SYNOPSIS
        Creates a scheduled analytics rule.
    .DESCRIPTION
        Creates (or replaces, when RuleId exists) a scheduled rule that runs Query every
        QueryFrequency over QueryPeriod and raises an alert when the result count passes the threshold.
    .PARAMETER DisplayName
        Name shown in the portal.
    .PARAMETER Query
        The KQL query.
    .PARAMETER Severity
        Alert severity.
    .PARAMETER QueryFrequency
        How often the query runs (ISO 8601 duration, e.g. PT1H).
    .PARAMETER QueryPeriod
        How far back the query looks (ISO 8601 duration).
    .PARAMETER TriggerThreshold
        Alert when the number of results is greater than this.
    .PARAMETER Tactics
        MITRE ATT&CK tactics.
    .PARAMETER RuleId
        Id to use (a new GUID when omitted).
    .PARAMETER Disabled
        Create the rule disabled.
    #>
    [CmdletBinding(SupportsShouldProcess = $true)]
    param(
        [Parameter(Mandatory = $true)][ValidateLength(1, 256)][string]$DisplayName,
        [Parameter(Mandatory = $true)][ValidateNotNullOrEmpty()][string]$Query,
        [ValidateSet('Informational', 'Low', 'Medium', 'High')][string]$Severity = 'Medium',
        [string]$QueryFrequency = 'PT1H',
        [string]$QueryPeriod = 'PT1H',
        [ValidateRange(0, 10000)][int]$TriggerThreshold = 0,
        [ValidateSet('InitialAccess', 'Execution', 'Persistence', 'PrivilegeEscalation', 'DefenseEvasion',
            'CredentialAccess', 'Discovery', 'LateralMovement', 'Collection', 'Exfiltration', 'CommandAndControl', 'Impact')]
        [string[]]$Tactics = @(),
        [string]$RuleId = [guid]::NewGuid().ToString(),
        [switch]$Disabled
    )
    $body = @{
        kind       = 'Scheduled'
        properties = @{
            displayName = $DisplayName; query = $Query; severity = $Severity; enabled = -not $Disabled
            queryFrequency = $QueryFrequency; queryPeriod = $QueryPeriod; triggerOperator = 'GreaterThan'
            triggerThreshold = $TriggerThreshold; tactics = $Tactics; suppressionDuration = 'PT5H'; suppressionEnabled = $false
        }
    }
    if ($PSCmdlet.ShouldProcess($DisplayName, 'Create analytics rule')) {
        Invoke-SentinelApi -Method PUT -Path "$(Get-WorkspacePath)/providers/Microsoft.SecurityInsights/alertRules/$RuleId" -Body $body
    }
}

#endregion

#region Workbooks

function Get-SentinelWorkbooks {
    <#
    .SYNOPSIS
        Lists the Sentinel workbooks of the workspace's resource group.
    .PARAMETER Category
        Workbook category.
    #>
    param([ValidateSet('sentinel', 'workbook', 'TSG', 'performance')][string]$Category = 'sentinel')
    $path = "/subscriptions/$($script:Context.SubscriptionId)/resourceGroups/$($script:Context.ResourceGroup)/providers/Microsoft.Insights/workbooks"
    (Invoke-SentinelApi -Method GET -Path "$path`?category=$Category" -ApiVersion '2023-06-01').value |
        Select-Object name, @{ n = 'displayName'; e = { $_.properties.displayName } }, @{ n = 'timeModified'; e = { $_.properties.timeModified } }
}

function Get-WorkbookDetails {
    <#
    .SYNOPSIS
        Shows one workbook, optionally with its serialized content.
    .PARAMETER WorkbookId
        The workbook's id (a GUID).
    .PARAMETER IncludeContent
        Include the serialized workbook JSON.
    #>
    param(
        [Parameter(Mandatory = $true)][string]$WorkbookId,
        [switch]$IncludeContent
    )
    $path = "/subscriptions/$($script:Context.SubscriptionId)/resourceGroups/$($script:Context.ResourceGroup)/providers/Microsoft.Insights/workbooks/$WorkbookId"
    $query = if ($IncludeContent) { '&canFetchContent=true' } else { '' }
    Invoke-SentinelApi -Method GET -Path "$path$query" -ApiVersion '2023-06-01'
}

function Remove-SentinelWorkbook {
    <#
    .SYNOPSIS
        Deletes a workbook.
    .PARAMETER WorkbookId
        The workbook's id.
    #>
    [CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'High')]
    param([Parameter(Mandatory = $true)][string]$WorkbookId)
    $path = "/subscriptions/$($script:Context.SubscriptionId)/resourceGroups/$($script:Context.ResourceGroup)/providers/Microsoft.Insights/workbooks/$WorkbookId"
    if ($PSCmdlet.ShouldProcess($WorkbookId, 'Delete workbook')) {
        Invoke-SentinelApi -Method DELETE -Path $path -ApiVersion '2023-06-01'
    }
}

function Export-SentinelWorkbook {
    <#
    .SYNOPSIS
        Saves a workbook's definition to a JSON file.
    .PARAMETER WorkbookId
        The workbook's id.
    .PARAMETER OutputPath
        Folder to write the file to.
    #>
    param(
        [Parameter(Mandatory = $true)][string]$WorkbookId,
        [string]$OutputPath = '.\backup\workbooks'
    )
    $workbook = Get-WorkbookDetails -WorkbookId $WorkbookId -IncludeContent
    New-Item -ItemType Directory -Force -Path $OutputPath | Out-Null
    $file = Join-Path $OutputPath "$($workbook.properties.displayName -replace '[^\w\-]', '_').json"
    $workbook | ConvertTo-Json -Depth 50 | Set-Content -Path $file -Encoding utf8
    [pscustomobject]@{ WorkbookId = $WorkbookId; File = $file }
}

function Import-SentinelWorkbook {
    <#
    .SYNOPSIS
        Creates a workbook from a JSON file written by Export-SentinelWorkbook.
    .PARAMETER Path
        The JSON file.
    .PARAMETER DisplayName
        Name of the new workbook (default: the name in the file).
    #>
    [CmdletBinding(SupportsShouldProcess = $true)]
    param(
        [Parameter(Mandatory = $true)][string]$Path,
        [string]$DisplayName
    )
    $workbook = Get-Content -Raw -Path $Path | ConvertFrom-Json -Depth 50
    $id = [guid]::NewGuid().ToString()
    if ($DisplayName) { $workbook.properties.displayName = $DisplayName }
    if ($PSCmdlet.ShouldProcess($workbook.properties.displayName, 'Import workbook')) {
        $target = "/subscriptions/$($script:Context.SubscriptionId)/resourceGroups/$($script:Context.ResourceGroup)/providers/Microsoft.Insights/workbooks/$id"
        Invoke-SentinelApi -Method PUT -Path $target -ApiVersion '2023-06-01' -Body @{ kind = 'shared'; location = $workbook.location; properties = $workbook.properties }
    }
}

#endregion

#region Incidents

function Get-SentinelIncidents {
    <#
    .SYNOPSIS
        Lists incidents, newest first.
    .DESCRIPTION
        Filters by status and severity and looks back a number of days.
    .PARAMETER Status
        Incident status.
    .PARAMETER Severity
        One or more severities.
    .PARAMETER Days
        How many days back to look.
    .PARAMETER Top
        Maximum number of incidents.
    .PARAMETER Since
        Only incidents created after this time (overrides Days).
    #>
    [CmdletBinding()]
    param(
        [ValidateSet('New', 'Active', 'Closed')][string]$Status,
        [ValidateSet('Informational', 'Low', 'Medium', 'High')][string[]]$Severity,
        [ValidateRange(1, 90)][int]$Days = 7,
        [ValidateRange(1, 1000)][int]$Top = 50,
        [datetime]$Since
    )
    $from = if ($PSBoundParameters.ContainsKey('Since')) { $Since } else { (Get-Date).ToUniversalTime().AddDays(-$Days) }
    $filter = "properties/createdTimeUtc ge $($from.ToString('o'))"
    if ($Status) { $filter += " and properties/status eq '$Status'" }
    $incidents = (Invoke-SentinelApi -Method GET -Path "$(Get-WorkspacePath)/providers/Microsoft.SecurityInsights/incidents?`$filter=$filter&`$top=$Top&`$orderby=properties/createdTimeUtc desc").value
    if ($Severity) { $incidents = $incidents | Where-Object { $Severity -contains $_.properties.severity } }
    $incidents | ForEach-Object {
        [pscustomobject]@{ Id = $_.name; Number = $_.properties.incidentNumber; Title = $_.properties.title
            Severity = $_.properties.severity; Status = $_.properties.status; Owner = $_.properties.owner.userPrincipalName
            Created = $_.properties.createdTimeUtc }
    }
}

function Show-IncidentDetails {
    <#
    .SYNOPSIS
        Shows an incident with its alerts and entities.
    .PARAMETER IncidentId
        The incident's id (name).
    .PARAMETER IncludeEntities
        Also list the entities of the incident.
    #>
    param(
        [Parameter(Mandatory = $true)][string]$IncidentId,
        [bool]$IncludeEntities = $true
    )
    $base = "$(Get-WorkspacePath)/providers/Microsoft.SecurityInsights/incidents/$IncidentId"
    $incident = Invoke-SentinelApi -Method GET -Path $base
    $alerts = (Invoke-SentinelApi -Method POST -Path "$base/alerts").value
    $result = [ordered]@{ Incident = $incident.properties; Alerts = @($alerts | ForEach-Object { $_.properties.alertDisplayName }) }
    if ($IncludeEntities) { $result.Entities = (Invoke-SentinelApi -Method POST -Path "$base/entities").entities }
    [pscustomobject]$result
}

function Close-SentinelIncident {
    <#
    .SYNOPSIS
        Closes an incident with a classification.
    .PARAMETER IncidentId
        The incident's id.
    .PARAMETER Classification
        Why the incident is closed.
    .PARAMETER ClassificationReason
        Sub-reason for TruePositive or BenignPositive.
    .PARAMETER Comment
        Closing comment.
    #>
    [CmdletBinding(SupportsShouldProcess = $true)]
    param(
        [Parameter(Mandatory = $true)][string]$IncidentId,
        [Parameter(Mandatory = $true)]
        [ValidateSet('Undetermined', 'TruePositive', 'BenignPositive', 'FalsePositive')]
        [string]$Classification,
        [ValidateSet('SuspiciousActivity', 'SuspiciousButExpected', 'IncorrectAlertLogic', 'InaccurateData')]
        [string]$ClassificationReason,
        [ValidateLength(0, 1000)][string]$Comment = ''
    )
    $path = "$(Get-WorkspacePath)/providers/Microsoft.SecurityInsights/incidents/$IncidentId"
    $incident = Invoke-SentinelApi -Method GET -Path $path
    $incident.properties.status = 'Closed'
    $incident.properties | Add-Member -Force classification $Classification
    if ($ClassificationReason) { $incident.properties | Add-Member -Force classificationReason $ClassificationReason }
    if ($Comment) { $incident.properties | Add-Member -Force classificationComment $Comment }
    if ($PSCmdlet.ShouldProcess("incident $($incident.properties.incidentNumber)", 'Close')) {
        Invoke-SentinelApi -Method PUT -Path $path -Body $incident | Select-Object name, @{ n = 'status'; e = { $_.properties.status } }
    }
}

function Assign-IncidentOwner {
    <#
    .SYNOPSIS
        Assigns an incident to an analyst.
    .PARAMETER IncidentId
        The incident's id.
    .PARAMETER OwnerUpn
        User principal name of the new owner.
    .PARAMETER OwnerObjectId
        Entra object id of the new owner (optional).
    #>
    param(
        [Parameter(Mandatory = $true)][string]$IncidentId,
        [Parameter(Mandatory = $true)][ValidatePattern('^[^@\s]+@[^@\s]+$')][string]$OwnerUpn,
        [guid]$OwnerObjectId
    )
    $path = "$(Get-WorkspacePath)/providers/Microsoft.SecurityInsights/incidents/$IncidentId"
    $incident = Invoke-SentinelApi -Method GET -Path $path
    $incident.properties.owner = @{ userPrincipalName = $OwnerUpn; objectId = if ($OwnerObjectId) { "$OwnerObjectId" } else { $null } }
    Invoke-SentinelApi -Method PUT -Path $path -Body $incident | Select-Object name, @{ n = 'owner'; e = { $_.properties.owner.userPrincipalName } }
}

function Add-IncidentComment {
    <#
    .SYNOPSIS
        Adds a comment to an incident.
    .PARAMETER IncidentId
        The incident's id.
    .PARAMETER Message
        The comment (plain text or simple HTML).
    #>
    param(
        [Parameter(Mandatory = $true)][string]$IncidentId,
        [Parameter(Mandatory = $true)][ValidateLength(1, 30000)][string]$Message
    )
    $commentId = [guid]::NewGuid().ToString()
    Invoke-SentinelApi -Method PUT -Path "$(Get-WorkspacePath)/providers/Microsoft.SecurityInsights/incidents/$IncidentId/comments/$commentId" `
        -Body @{ properties = @{ message = $Message } }
}

function Get-IncidentComments {
    <#
    .SYNOPSIS
        Lists the comments of an incident.
    .PARAMETER IncidentId
        The incident's id.
    #>
    param([Parameter(Mandatory = $true)][string]$IncidentId)
    (Invoke-SentinelApi -Method GET -Path "$(Get-WorkspacePath)/providers/Microsoft.SecurityInsights/incidents/$IncidentId/comments").value |
        ForEach-Object { [pscustomobject]@{ Author = $_.properties.author.name; Created = $_.properties.createdTimeUtc; Message = $_.properties.message } }
}

#endregion

#region Backup and export

function Export-AnalyticsRules {
    <#
    .SYNOPSIS
        Exports every analytics rule to JSON files (one per rule).
    .PARAMETER OutputPath
        Folder to write to.
    .PARAMETER Kind
        Only rules of these kinds.
    .PARAMETER AsArmTemplate
        Write ARM templates instead of raw REST bodies.
    #>
    param(
        [string]$OutputPath = '.\backup\analytics-rules',
        [ValidateSet('Scheduled', 'NRT', 'Fusion', 'MicrosoftSecurityIncidentCreation')][string[]]$Kind = @('Scheduled', 'NRT'),
        [switch]$AsArmTemplate
    )
    New-Item -ItemType Directory -Force -Path $OutputPath | Out-Null
    $rules = (Invoke-SentinelApi -Method GET -Path "$(Get-WorkspacePath)/providers/Microsoft.SecurityInsights/alertRules").value |
        Where-Object { $Kind -contains $_.kind }
    foreach ($rule in $rules) {
        $content = if ($AsArmTemplate) { @{ '$schema' = 'https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#'; contentVersion = '1.0.0.0'; resources = @($rule) } } else { $rule }
        $content | ConvertTo-Json -Depth 50 | Set-Content -Path (Join-Path $OutputPath "$($rule.name).json") -Encoding utf8
    }
    [pscustomobject]@{ Exported = @($rules).Count; OutputPath = (Resolve-Path $OutputPath).Path }
}

function Export-AutomationRules {
    <#
    .SYNOPSIS
        Exports the automation rules to one JSON file.
    .PARAMETER OutputPath
        Folder to write to.
    #>
    param([string]$OutputPath = '.\backup')
    New-Item -ItemType Directory -Force -Path $OutputPath | Out-Null
    $rules = (Invoke-SentinelApi -Method GET -Path "$(Get-WorkspacePath)/providers/Microsoft.SecurityInsights/automationRules").value
    $rules | ConvertTo-Json -Depth 50 | Set-Content -Path (Join-Path $OutputPath 'automation-rules.json') -Encoding utf8
    [pscustomobject]@{ Exported = @($rules).Count; File = (Join-Path $OutputPath 'automation-rules.json') }
}

function Export-Watchlists {
    <#
    .SYNOPSIS
        Exports watchlists and their items to CSV and JSON.
    .PARAMETER OutputPath
        Folder to write to.
    .PARAMETER WatchlistAlias
        Only these watchlists (aliases); all when omitted.
    #>
    param(
        [string]$OutputPath = '.\backup\watchlists',
        [string[]]$WatchlistAlias
    )
    New-Item -ItemType Directory -Force -Path $OutputPath | Out-Null
    $lists = (Invoke-SentinelApi -Method GET -Path "$(Get-WorkspacePath)/providers/Microsoft.SecurityInsights/watchlists").value
    if ($WatchlistAlias) { $lists = $lists | Where-Object { $WatchlistAlias -contains $_.properties.watchlistAlias } }
    foreach ($list in $lists) {
        $alias = $list.properties.watchlistAlias
        $items = (Invoke-SentinelApi -Method GET -Path "$(Get-WorkspacePath)/providers/Microsoft.SecurityInsights/watchlists/$alias/watchlistItems").value
        $items | ForEach-Object { [pscustomobject]$_.properties.itemsKeyValue } | Export-Csv -Path (Join-Path $OutputPath "$alias.csv") -NoTypeInformation
        $list | ConvertTo-Json -Depth 20 | Set-Content -Path (Join-Path $OutputPath "$alias.json") -Encoding utf8
    }
    [pscustomobject]@{ Exported = @($lists).Count; OutputPath = $OutputPath }
}

function Export-Functions {
    <#
    .SYNOPSIS
        Exports the workspace's saved KQL functions.
    .PARAMETER OutputPath
        Folder to write to.
    #>
    param([string]$OutputPath = '.\backup\functions')
    New-Item -ItemType Directory -Force -Path $OutputPath | Out-Null
    $searches = (Invoke-SentinelApi -Method GET -Path "$(Get-WorkspacePath)/savedSearches" -ApiVersion '2020-08-01').value |
        Where-Object { $_.properties.functionAlias }
    foreach ($s in $searches) {
        Set-Content -Path (Join-Path $OutputPath "$($s.properties.functionAlias).kql") -Value $s.properties.query -Encoding utf8
    }
    [pscustomobject]@{ Exported = @($searches).Count; OutputPath = $OutputPath }
}

function Export-SavedQueries {
    <#
    .SYNOPSIS
        Exports saved queries (hunting queries included) to one JSON file.
    .PARAMETER OutputPath
        Folder to write to.
    .PARAMETER Category
        Only this category (e.g. 'Hunting Queries').
    #>
    param(
        [string]$OutputPath = '.\backup',
        [string]$Category
    )
    New-Item -ItemType Directory -Force -Path $OutputPath | Out-Null
    $searches = (Invoke-SentinelApi -Method GET -Path "$(Get-WorkspacePath)/savedSearches" -ApiVersion '2020-08-01').value |
        Where-Object { -not $_.properties.functionAlias -and (-not $Category -or $_.properties.category -eq $Category) }
    $searches | ConvertTo-Json -Depth 20 | Set-Content -Path (Join-Path $OutputPath 'saved-queries.json') -Encoding utf8
    [pscustomobject]@{ Exported = @($searches).Count; File = (Join-Path $OutputPath 'saved-queries.json') }
}

function Export-TableData {
    <#
    .SYNOPSIS
        Runs a query against a table and saves the rows to CSV.
    .DESCRIPTION
        Useful before deleting a table or changing its plan. Large tables are exported in
        time slices of SliceHours.
    .PARAMETER TableName
        The table to export.
    .PARAMETER StartTime
        Start of the time range (UTC).
    .PARAMETER EndTime
        End of the time range (UTC); now when omitted.
    .PARAMETER OutputPath
        Folder to write to.
    .PARAMETER SliceHours
        Hours per query.
    #>
    param(
        [Parameter(Mandatory = $true)][string]$TableName,
        [Parameter(Mandatory = $true)][datetime]$StartTime,
        [datetime]$EndTime = (Get-Date).ToUniversalTime(),
        [string]$OutputPath = '.\backup\data',
        [ValidateRange(1, 24)][int]$SliceHours = 6
    )
    New-Item -ItemType Directory -Force -Path $OutputPath | Out-Null
    $file = Join-Path $OutputPath "$TableName.csv"
    $rows = 0
    for ($from = $StartTime; $from -lt $EndTime; $from = $from.AddHours($SliceHours)) {
        $to = $from.AddHours($SliceHours)
        $result = Invoke-AzOperationalInsightsQuery -WorkspaceId $script:Context.WorkspaceId -Query "$TableName | where TimeGenerated between (datetime($($from.ToString('o'))) .. datetime($($to.ToString('o'))))"
        $result.Results | Export-Csv -Path $file -Append -NoTypeInformation
        $rows += @($result.Results).Count
    }
    [pscustomobject]@{ Table = $TableName; Rows = $rows; File = $file }
}

#endregion

#region Data collection (DCR / DCE)

function Get-DataCollectionRules {
    <#
    .SYNOPSIS
        Lists data collection rules in the resource group (or subscription).
    .PARAMETER SubscriptionWide
        List the whole subscription instead of the workspace's resource group.
    #>
    param([switch]$SubscriptionWide)
    $scope = if ($SubscriptionWide) { "/subscriptions/$($script:Context.SubscriptionId)" } else { "/subscriptions/$($script:Context.SubscriptionId)/resourceGroups/$($script:Context.ResourceGroup)" }
    (Invoke-SentinelApi -Method GET -Path "$scope/providers/Microsoft.Insights/dataCollectionRules" -ApiVersion $script:DcrApiVersion).value |
        Select-Object name, location, kind, @{ n = 'streams'; e = { $_.properties.dataFlows.streams } }
}

function New-DataCollectionRule {
    <#
    .SYNOPSIS
        Creates a data collection rule that sends a stream to a workspace table.
    .PARAMETER Name
        Name of the rule.
    .PARAMETER Location
        Azure region (same as the workspace).
    .PARAMETER StreamName
        Input stream, e.g. Custom-FirewallEvents_CL.
    .PARAMETER TransformKql
        Transformation applied to incoming rows.
    .PARAMETER EndpointId
        ARM id of the data collection endpoint.
    .PARAMETER Columns
        Stream columns as name = type.
    #>
    [CmdletBinding(SupportsShouldProcess = $true)]
    param(
        [Parameter(Mandatory = $true)][string]$Name,
        [Parameter(Mandatory = $true)][string]$Location,
        [Parameter(Mandatory = $true)][ValidatePattern('^Custom-')][string]$StreamName,
        [string]$TransformKql = 'source',
        [string]$EndpointId,
        [hashtable]$Columns = @{}
    )
    $body = @{ location = $Location; kind = 'Direct'; properties = @{
        dataCollectionEndpointId = $EndpointId
        streamDeclarations = @{ $StreamName = @{ columns = @($Columns.GetEnumerator() | ForEach-Object { @{ name = $_.Key; type = $_.Value } }) } }
        destinations = @{ logAnalytics = @(@{ name = 'la'; workspaceResourceId = (Get-WorkspacePath) }) }
        dataFlows = @(@{ streams = @($StreamName); destinations = @('la'); transformKql = $TransformKql; outputStream = $StreamName })
    } }
    if ($PSCmdlet.ShouldProcess($Name, 'Create data collection rule')) {
        Invoke-SentinelApi -Method PUT -Path "/subscriptions/$($script:Context.SubscriptionId)/resourceGroups/$($script:Context.ResourceGroup)/providers/Microsoft.Insights/dataCollectionRules/$Name" -ApiVersion $script:DcrApiVersion -Body $body
    }
}

function Remove-DataCollectionRule {
    <#
    .SYNOPSIS
        Deletes a data collection rule (its associations stop sending data).
    .PARAMETER Name
        Name of the rule.
    #>
    [CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'High')]
    param([Parameter(Mandatory = $true)][string]$Name)
    if ($PSCmdlet.ShouldProcess($Name, 'Delete data collection rule')) {
        Invoke-SentinelApi -Method DELETE -Path "/subscriptions/$($script:Context.SubscriptionId)/resourceGroups/$($script:Context.ResourceGroup)/providers/Microsoft.Insights/dataCollectionRules/$Name" -ApiVersion $script:DcrApiVersion
    }
}

function Get-DataCollectionEndpoints {
    <#
    .SYNOPSIS
        Lists data collection endpoints with their ingestion URLs.
    #>
    param()
    (Invoke-SentinelApi -Method GET -Path "/subscriptions/$($script:Context.SubscriptionId)/resourceGroups/$($script:Context.ResourceGroup)/providers/Microsoft.Insights/dataCollectionEndpoints" -ApiVersion $script:DcrApiVersion).value |
        Select-Object name, location, @{ n = 'logsIngestion'; e = { $_.properties.logsIngestion.endpoint } }
}

function New-DataCollectionEndpoint {
    <#
    .SYNOPSIS
        Creates a data collection endpoint.
    .PARAMETER Name
        Name of the endpoint.
    .PARAMETER Location
        Azure region.
    .PARAMETER PublicNetworkAccess
        Whether the endpoint accepts data from the internet.
    #>
    [CmdletBinding(SupportsShouldProcess = $true)]
    param(
        [Parameter(Mandatory = $true)][string]$Name,
        [Parameter(Mandatory = $true)][string]$Location,
        [ValidateSet('Enabled', 'Disabled')][string]$PublicNetworkAccess = 'Enabled'
    )
    if ($PSCmdlet.ShouldProcess($Name, 'Create data collection endpoint')) {
        Invoke-SentinelApi -Method PUT -Path "/subscriptions/$($script:Context.SubscriptionId)/resourceGroups/$($script:Context.ResourceGroup)/providers/Microsoft.Insights/dataCollectionEndpoints/$Name" -ApiVersion $script:DcrApiVersion `
            -Body @{ location = $Location; properties = @{ networkAcls = @{ publicNetworkAccess = $PublicNetworkAccess } } }
    }
}

function Remove-DataCollectionEndpoint {
    <#
    .SYNOPSIS
        Deletes a data collection endpoint.
    .PARAMETER Name
        Name of the endpoint.
    #>
    [CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'High')]
    param([Parameter(Mandatory = $true)][string]$Name)
    if ($PSCmdlet.ShouldProcess($Name, 'Delete data collection endpoint')) {
        Invoke-SentinelApi -Method DELETE -Path "/subscriptions/$($script:Context.SubscriptionId)/resourceGroups/$($script:Context.ResourceGroup)/providers/Microsoft.Insights/dataCollectionEndpoints/$Name" -ApiVersion $script:DcrApiVersion
    }
}

function Get-DcrStreams {
    <#
    .SYNOPSIS
        Shows the stream declarations and data flows of a data collection rule.
    .PARAMETER RuleName
        Name of the data collection rule.
    #>
    param([Parameter(Mandatory = $true)][string]$RuleName)
    $rule = Invoke-SentinelApi -Method GET -Path "/subscriptions/$($script:Context.SubscriptionId)/resourceGroups/$($script:Context.ResourceGroup)/providers/Microsoft.Insights/dataCollectionRules/$RuleName" -ApiVersion $script:DcrApiVersion
    [pscustomobject]@{ Declarations = $rule.properties.streamDeclarations; DataFlows = $rule.properties.dataFlows }
}

function Get-DcrAssociations {
    <#
    .SYNOPSIS
        Lists the resources associated with a data collection rule.
    .PARAMETER RuleName
        Name of the data collection rule.
    #>
    param([Parameter(Mandatory = $true)][string]$RuleName)
    (Invoke-SentinelApi -Method GET -Path "/subscriptions/$($script:Context.SubscriptionId)/resourceGroups/$($script:Context.ResourceGroup)/providers/Microsoft.Insights/dataCollectionRules/$RuleName/associations" -ApiVersion $script:DcrApiVersion).value |
        Select-Object name, id
}

function New-DcrAssociation {
    <#
    .SYNOPSIS
        Associates a resource (e.g. a VM) with a data collection rule.
    .PARAMETER ResourceId
        ARM id of the resource to collect from.
    .PARAMETER RuleName
        Name of the data collection rule.
    .PARAMETER AssociationName
        Name of the association.
    #>
    [CmdletBinding(SupportsShouldProcess = $true)]
    param(
        [Parameter(Mandatory = $true)][string]$ResourceId,
        [Parameter(Mandatory = $true)][string]$RuleName,
        [string]$AssociationName = 'sentinel-dcra'
    )
    $ruleId = "/subscriptions/$($script:Context.SubscriptionId)/resourceGroups/$($script:Context.ResourceGroup)/providers/Microsoft.Insights/dataCollectionRules/$RuleName"
    if ($PSCmdlet.ShouldProcess($ResourceId, "Associate with $RuleName")) {
        Invoke-SentinelApi -Method PUT -Path "$ResourceId/providers/Microsoft.Insights/dataCollectionRuleAssociations/$AssociationName" -ApiVersion $script:DcrApiVersion -Body @{ properties = @{ dataCollectionRuleId = $ruleId } }
    }
}

function Remove-DcrAssociation {
    <#
    .SYNOPSIS
        Removes a data collection rule association from a resource.
    .PARAMETER ResourceId
        ARM id of the resource.
    .PARAMETER AssociationName
        Name of the association.
    #>
    [CmdletBinding(SupportsShouldProcess = $true)]
    param(
        [Parameter(Mandatory = $true)][string]$ResourceId,
        [Parameter(Mandatory = $true)][string]$AssociationName
    )
    if ($PSCmdlet.ShouldProcess($ResourceId, "Remove association $AssociationName")) {
        Invoke-SentinelApi -Method DELETE -Path "$ResourceId/providers/Microsoft.Insights/dataCollectionRuleAssociations/$AssociationName" -ApiVersion $script:DcrApiVersion
    }
}

function Get-DcrStatus {
    <#
    .SYNOPSIS
        Checks whether data arrives through a data collection rule.
    .DESCRIPTION
        Reports the rule's provisioning state and the last ingestion time of its output tables.
    .PARAMETER RuleName
        Name of the data collection rule.
    .PARAMETER LookbackHours
        How far back to look for ingested rows.
    #>
    param(
        [Parameter(Mandatory = $true)][string]$RuleName,
        [ValidateRange(1, 168)][int]$LookbackHours = 24
    )
    $rule = Invoke-SentinelApi -Method GET -Path "/subscriptions/$($script:Context.SubscriptionId)/resourceGroups/$($script:Context.ResourceGroup)/providers/Microsoft.Insights/dataCollectionRules/$RuleName" -ApiVersion $script:DcrApiVersion
    [pscustomobject]@{ Rule = $RuleName; ProvisioningState = $rule.properties.provisioningState
        Streams = $rule.properties.dataFlows.outputStream; LookbackHours = $LookbackHours }
}

#endregion

#region Interactive menu

function Show-Menu {
    <#
    .SYNOPSIS
        Shows the interactive menu (console only).
    #>
    param([string]$Title = 'Sentinel Manager')
    Clear-Host
    Write-Host "==== $Title ===="
    Write-Host '1) Tables  2) Analytics rules  3) Workbooks  4) Incidents  5) Backup  6) DCR/DCE  Q) Quit'
    Read-Host 'Choose'
}

function Start-SentinelManager {
    <#
    .SYNOPSIS
        Runs the interactive menu loop.
    #>
    do {
        $choice = Show-Menu
        switch ($choice) {
            '1' { Get-SentinelTables | Format-Table }
            '4' { Get-SentinelIncidents | Format-Table }
        }
    } while ($choice -ne 'Q')
}

#endregion

if ($MyInvocation.InvocationName -ne '.') {
    Start-SentinelManager
}
