<#
    Functions whose behaviour the fake host (tests/support/fake_host.py) simulates, so that the
    bridge's process handling can be tested without pwsh. Their bodies are what a real script
    could contain.
#>

function Get-Slow {
    <#
    .SYNOPSIS
        Sleeps, then answers.
    .PARAMETER Seconds
        How long to sleep.
    #>
    param([double]$Seconds = 60)
    Start-Sleep -Seconds $Seconds
    'finally'
}

function Get-Crash {
    <#
    .SYNOPSIS
        Kills its own host process.
    #>
    param()
    [Environment]::Exit(9)
}

function Remove-Crash {
    <#
    .SYNOPSIS
        A destructive function that kills its host.
    .PARAMETER Name
        Anything.
    #>
    param([string]$Name)
    [Environment]::Exit(9)
}

function Get-Flaky {
    <#
    .SYNOPSIS
        Fails with HTTP 503 a few times, then succeeds.
    .PARAMETER Key
        Counter name.
    .PARAMETER FailTimes
        How many calls fail first.
    #>
    param([string]$Key = 'default', [int]$FailTimes = 1)
    Invoke-RestMethod -Uri "https://example.invalid/flaky/$Key"
}

function Get-Forbidden {
    <#
    .SYNOPSIS
        Fails with HTTP 403.
    #>
    param()
    Invoke-RestMethod -Uri 'https://example.invalid/forbidden'
}

function Set-Flaky {
    <#
    .SYNOPSIS
        A write that fails with HTTP 503: never retried.
    .PARAMETER Key
        Counter name.
    .PARAMETER FailTimes
        How many calls fail first.
    #>
    param([string]$Key = 'default', [int]$FailTimes = 1)
    Invoke-RestMethod -Method Put -Uri "https://example.invalid/flaky/$Key"
}

function Get-Huge {
    <#
    .SYNOPSIS
        Returns many large objects.
    .PARAMETER Count
        Number of objects.
    .PARAMETER Size
        Characters per object.
    #>
    param([int]$Count = 1, [int]$Size = 1000)
    1..$Count | ForEach-Object { [pscustomobject]@{ i = $_; data = 'x' * $Size } }
}

function Get-Echo {
    <#
    .SYNOPSIS
        Returns its parameters as received.
    .PARAMETER Text
        Any text.
    .PARAMETER Number
        A number.
    .PARAMETER Items
        A list of strings.
    .PARAMETER Options
        A hashtable.
    .PARAMETER When
        A date.
    .PARAMETER Flag
        A switch.
    #>
    param([string]$Text, [int]$Number, [string[]]$Items, [hashtable]$Options, [datetime]$When, [switch]$Flag)
    [pscustomobject]$PSBoundParameters
}

function Get-Noisy {
    <#
    .SYNOPSIS
        Writes to the console directly as well as to the pipeline.
    #>
    param()
    [Console]::WriteLine('stray console line before the answer')
    Write-Warning 'a warning'
    Write-Host 'Write-Host says hello'
    'ok'
}

function Get-WriteError {
    <#
    .SYNOPSIS
        Reports a non-terminating error and returns nothing.
    #>
    param()
    Write-Error "Table 'Nope_CL' was not found."
}

function Get-Pid {
    <#
    .SYNOPSIS
        The host's process id.
    #>
    param()
    $PID
}

function Remove-Widget {
    <#
    .SYNOPSIS
        Deletes a widget (honours -WhatIf).
    .PARAMETER Name
        The widget.
    #>
    [CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'High')]
    param([Parameter(Mandatory = $true)][string]$Name)
    if ($PSCmdlet.ShouldProcess($Name, 'Delete widget')) { "deleted $Name" }
}

function Set-Widget {
    <#
    .SYNOPSIS
        Changes a widget, but declares SupportsShouldProcess without asking ShouldProcess.
    .PARAMETER Name
        The widget.
    #>
    [CmdletBinding(SupportsShouldProcess = $true)]
    param([Parameter(Mandatory = $true)][string]$Name)
    "changed $Name"
}
