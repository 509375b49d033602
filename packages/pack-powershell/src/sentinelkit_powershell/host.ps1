<#
.SYNOPSIS
    sentinelkit PowerShell host: loads a script once, then runs its functions on request.
.DESCRIPTION
    Started by the sentinelkit-powershell bridge as
        pwsh -NoLogo -NoProfile -NonInteractive -ExecutionPolicy Bypass -File host.ps1 -ScriptPath <script> -LoadMode script
    Requests arrive on stdin, one JSON object per line:
        {"id": 1, "command": "Get-SentinelIncidents", "parameters": {"Days": 3}, "whatif": false, "secure": [], "depth": 8}
    Answers leave on stdout as RFC 7464 records (0x1E, JSON, new line):
        {"type": "ready", ...} once the script is loaded, then {"type": "result", "id": 1, "ok": true, "output": [...], ...}
    Parameters are a JSON object turned into a hashtable (System.Text.Json, so values arrive exactly as
    sent) and splatted: no value is ever spliced into script text. Only functions defined by the loaded script can be called. One request at a time.

    With -Library the functions are only defined (remote runspaces over WinRM call Invoke-SkRequest).
    Works on PowerShell 7 (pwsh) and, for remote runspaces, Windows PowerShell 5.1.
#>
[CmdletBinding()]
param(
    [string[]]$ScriptPath = @(),
    [ValidateSet('script', 'functions')]
    [string]$LoadMode = 'script',
    [switch]$Library
)

$ProgressPreference = 'SilentlyContinue'     # progress bars would draw on the console
$ConfirmPreference = 'None'                  # never prompt: the MCP client confirms, not the console
$InformationPreference = 'Continue'          # Write-Information reaches the answer's "information"
$global:__skProtocol = 1
if ($PSVersionTable.PSVersion.Major -ge 7) { Add-Type -AssemblyName System.Text.Json }  # not always loaded yet
$global:__skAllowed = @{}

function ConvertTo-SkHashtable {
    # ConvertFrom-Json -AsHashtable does not exist on Windows PowerShell 5.1: convert objects recursively
    param($InputObject)
    if ($null -eq $InputObject) { return $null }
    if ($InputObject -is [System.Collections.IDictionary]) {
        $table = @{}
        foreach ($key in @($InputObject.Keys)) { $table[[string]$key] = ConvertTo-SkHashtable $InputObject[$key] }
        return $table
    }
    if ($InputObject -is [System.Management.Automation.PSCustomObject]) {
        $table = @{}
        foreach ($property in $InputObject.PSObject.Properties) { $table[$property.Name] = ConvertTo-SkHashtable $property.Value }
        return $table
    }
    if ($InputObject -is [System.Array]) {
        $list = [System.Collections.Generic.List[object]]::new()
        foreach ($item in $InputObject) { $list.Add((ConvertTo-SkHashtable $item)) }
        return , $list.ToArray()
    }
    return $InputObject
}

function ConvertFrom-SkJsonElement {
    # System.Text.Json, not ConvertFrom-Json: the latter turns date-like strings into [datetime]
    # (before PowerShell 7.5), which would change a [string] argument such as "2026-01-02T03:04:05Z"
    param([System.Text.Json.JsonElement]$Element)
    switch ($Element.ValueKind.ToString()) {
        'Object' {
            $table = @{}
            foreach ($property in $Element.EnumerateObject()) { $table[$property.Name] = ConvertFrom-SkJsonElement $property.Value }
            return $table
        }
        'Array' {
            $list = [System.Collections.Generic.List[object]]::new()
            foreach ($item in $Element.EnumerateArray()) { $list.Add((ConvertFrom-SkJsonElement $item)) }
            return , $list.ToArray()
        }
        'String' { return $Element.GetString() }
        'Number' {
            $whole = 0L
            if ($Element.TryGetInt64([ref]$whole)) { return $whole }
            return $Element.GetDouble()
        }
        'True' { return $true }
        'False' { return $false }
        default { return $null }
    }
}

function ConvertFrom-SkJson {
    # A request's JSON as nested hashtables and arrays, values exactly as sent
    param([Parameter(Mandatory)][string]$Json)
    if ($PSVersionTable.PSVersion.Major -ge 7) {
        $document = [System.Text.Json.JsonDocument]::Parse($Json)
        try { return ConvertFrom-SkJsonElement $document.RootElement } finally { $document.Dispose() }
    }
    return ConvertTo-SkHashtable (ConvertFrom-Json -InputObject $Json)  # Windows PowerShell 5.1 (remote)
}

function ConvertTo-SkJson {
    param($InputObject, [int]$Depth = 10)
    $options = @{ InputObject = $InputObject; Depth = [Math]::Min([Math]::Max($Depth, 2), 100); Compress = $true }
    if ($PSVersionTable.PSVersion.Major -ge 7) {
        $options.EscapeHandling = 'EscapeNonAscii'  # ASCII on the wire: no console code page can garble it
        $options.EnumsAsStrings = $true
    }
    ConvertTo-Json @options -WarningAction SilentlyContinue
}

function ConvertTo-SkError {
    # An ErrorRecord as data: message, category, FullyQualifiedErrorId, where in the script
    param($Record)
    if ($Record -isnot [System.Management.Automation.ErrorRecord]) {
        return [ordered]@{ message = [string]$Record; category = 'NotSpecified'; error_id = $null }
    }
    $message = $Record.Exception.Message
    if ($null -ne $Record.ErrorDetails -and $Record.ErrorDetails.Message) { $message = $Record.ErrorDetails.Message }
    $inner = @()
    $exception = $Record.Exception.InnerException
    while ($null -ne $exception -and $inner.Count -lt 5) { $inner += $exception.Message; $exception = $exception.InnerException }
    $info = $Record.InvocationInfo
    $status = $null
    $response = $Record.Exception.PSObject.Properties['Response']
    if ($null -ne $response -and $null -ne $response.Value) {
        $code = $response.Value.PSObject.Properties['StatusCode']
        if ($null -ne $code) { $status = [int]$code.Value }
    }
    [ordered]@{
        message        = $message
        category       = [string]$Record.CategoryInfo.Category
        reason         = [string]$Record.CategoryInfo.Reason
        target         = [string]$Record.CategoryInfo.TargetName
        error_id       = $Record.FullyQualifiedErrorId
        exception_type = $Record.Exception.GetType().FullName
        status_code    = $status
        inner          = $inner
        position       = if ($null -ne $info) { $info.PositionMessage } else { $null }
        script_line    = if ($null -ne $info) { $info.ScriptLineNumber } else { $null }
        command        = if ($null -ne $info -and $null -ne $info.MyCommand) { $info.MyCommand.Name } else { $null }
        stack          = $Record.ScriptStackTrace
    }
}

function Get-SkDeclaredFunctions {
    # The functions a script declares at its top level (not those nested in other functions)
    param([string]$Path, [string]$Text)
    $tokens = $null
    $errors = $null
    if ($Path) {
        $ast = [System.Management.Automation.Language.Parser]::ParseFile($Path, [ref]$tokens, [ref]$errors)
    } else {
        $ast = [System.Management.Automation.Language.Parser]::ParseInput($Text, [ref]$tokens, [ref]$errors)
    }
    $ast.FindAll({ param($node) $node -is [System.Management.Automation.Language.FunctionDefinitionAst] }, $false)
}

function Import-SkFunctions {
    # LoadMode 'functions': define the script's functions only, without running its top-level code.
    # Each definition is the script's own text with a global: scope modifier on its name, so that it
    # outlives this function (parameters declared as "function Get-X([string]$a)" are kept too).
    param([string]$Path, [string]$Text)
    foreach ($definition in (Get-SkDeclaredFunctions -Path $Path -Text $Text)) {
        $pattern = '^(\s*(?:function|filter)\s+)' + [regex]::Escape($definition.Name)
        $source = [regex]::Replace($definition.Extent.Text, $pattern, '${1}global:' + $definition.Name,
            [System.Text.RegularExpressions.RegexOptions]::IgnoreCase)
        . ([scriptblock]::Create($source))
    }
}

function Register-SkFunctions {
    # Only what the script itself defines may be called: never arbitrary cmdlets
    param([string]$Path, [string]$Text)
    foreach ($definition in (Get-SkDeclaredFunctions -Path $Path -Text $Text)) {
        if (Get-Command -Name $definition.Name -CommandType Function -ErrorAction SilentlyContinue) {
            $global:__skAllowed[$definition.Name.ToLowerInvariant()] = $definition.Name
        }
    }
    @($global:__skAllowed.Values)
}

function Invoke-SkRequest {
    # One request (JSON text) in, one answer (JSON text) out
    param([Parameter(Mandatory)][string]$Json)
    $id = $null
    $depth = 8
    $output = [System.Collections.Generic.List[object]]::new()
    $errors = [System.Collections.Generic.List[object]]::new()
    $warnings = [System.Collections.Generic.List[string]]::new()
    $information = [System.Collections.Generic.List[string]]::new()
    $verbose = [System.Collections.Generic.List[string]]::new()
    $failure = $null
    try {
        $request = ConvertFrom-SkJson -Json $Json
        if ($request.ContainsKey('id')) { $id = $request['id'] }
        if ($request.ContainsKey('depth') -and $request['depth']) { $depth = [int]$request['depth'] }
        $name = [string]$request['command']
        if (-not $global:__skAllowed.ContainsKey($name.ToLowerInvariant())) {
            throw [System.Management.Automation.CommandNotFoundException]::new("'$name' is not a function of the loaded script")
        }
        $command = Get-Command -Name $global:__skAllowed[$name.ToLowerInvariant()] -CommandType Function
        $splat = @{}
        if ($request.ContainsKey('parameters') -and $null -ne $request['parameters']) {
            foreach ($key in @($request['parameters'].Keys)) { $splat[[string]$key] = $request['parameters'][$key] }
        }
        if ($request.ContainsKey('secure')) {
            foreach ($secret in @($request['secure'])) {
                if ($splat.ContainsKey($secret)) { $splat[$secret] = ConvertTo-SecureString -String ([string]$splat[$secret]) -AsPlainText -Force }
            }
        }
        foreach ($key in @($splat.Keys)) {
            if (-not $command.Parameters.ContainsKey($key)) { continue }  # the binder reports it
            $parameter = $command.Parameters[$key]
            if ($parameter.SwitchParameter) {
                $splat[$key] = [System.Management.Automation.SwitchParameter]::new([bool]$splat[$key])
            }
        }
        if ($request.ContainsKey('whatif') -and $request['whatif']) {
            if (-not $command.Parameters.ContainsKey('WhatIf')) {
                throw [System.NotSupportedException]::new("$($command.Name) does not support -WhatIf")
            }
            $splat['WhatIf'] = [System.Management.Automation.SwitchParameter]::new($true)
        }
        $items = & $command @splat *>&1
        foreach ($item in $items) {
            if ($item -is [System.Management.Automation.ErrorRecord]) { $errors.Add((ConvertTo-SkError $item)) }
            elseif ($item -is [System.Management.Automation.WarningRecord]) { $warnings.Add($item.Message) }
            elseif ($item -is [System.Management.Automation.VerboseRecord]) { $verbose.Add($item.Message) }
            elseif ($item -is [System.Management.Automation.DebugRecord]) { $verbose.Add($item.Message) }
            elseif ($item -is [System.Management.Automation.InformationRecord]) { $information.Add([string]$item.MessageData) }
            else { $output.Add($item) }
        }
    } catch {
        $failure = ConvertTo-SkError $_
    }
    $answer = [ordered]@{
        type        = 'result'
        id          = $id
        ok          = ($null -eq $failure)
        output      = $output.ToArray()
        errors      = $errors.ToArray()
        warnings    = $warnings.ToArray()
        information = $information.ToArray()
        verbose     = $verbose.ToArray()
    }
    if ($null -ne $failure) { $answer.error = $failure }
    try {
        ConvertTo-SkJson -InputObject $answer -Depth ($depth + 2)
    } catch {
        $answer.output = @()
        $answer.ok = $false
        $answer.error = ConvertTo-SkError $_
        $answer.error.message = "the output could not be converted to JSON: " + $answer.error.message
        ConvertTo-SkJson -InputObject $answer -Depth 6
    }
}

if ($Library) { return }

# ---- serve: load the script at this (script) scope, then answer requests until stdin closes ----
[Console]::OutputEncoding = [System.Text.UTF8Encoding]::new($false)
[Console]::InputEncoding = [System.Text.UTF8Encoding]::new($false)
$__skRS = [string][char]0x1E
$__skOut = [Console]::Out

function Write-SkRecord {
    param([Parameter(Mandatory)][string]$Json)
    $__skOut.Write($__skRS + $Json + "`n")
    $__skOut.Flush()
}

$__skLoadWarnings = [System.Collections.Generic.List[string]]::new()
try {
    foreach ($__skPath in $ScriptPath) {
        $__skResolved = (Resolve-Path -LiteralPath $__skPath -ErrorAction Stop).ProviderPath
        if ($LoadMode -eq 'functions') {
            Import-SkFunctions -Path $__skResolved
        } else {
            $__skLoadOutput = . $__skResolved *>&1
            foreach ($__skItem in @($__skLoadOutput)) {
                if ($__skItem -is [System.Management.Automation.ErrorRecord]) { $__skLoadWarnings.Add($__skItem.ToString()) }
            }
        }
        $null = Register-SkFunctions -Path $__skResolved
    }
} catch {
    Write-SkRecord (ConvertTo-SkJson -InputObject ([ordered]@{ type = 'ready'; ok = $false; protocol = $global:__skProtocol; error = (ConvertTo-SkError $_) }) -Depth 6)
    exit 3
}

Write-SkRecord (ConvertTo-SkJson -Depth 4 -InputObject ([ordered]@{
    type = 'ready'; ok = $true; protocol = $global:__skProtocol; pid = $PID
    powershell = $PSVersionTable.PSVersion.ToString(); edition = $PSVersionTable.PSEdition
    functions = @($global:__skAllowed.Values); load_warnings = $__skLoadWarnings.ToArray()
}))

$__skIn = [Console]::In
while ($true) {
    $__skLine = $__skIn.ReadLine()
    if ($null -eq $__skLine) { break }
    if ($__skLine.Trim().Length -eq 0) { continue }
    Write-SkRecord (Invoke-SkRequest -Json $__skLine)
}
exit 0
