try {
  $ip = RegVal 'HKLM:\SOFTWARE\Microsoft\Windows Azure Backup\Setup' 'InstallPath'
  $raw = RegVal 'HKLM:\SYSTEM\CurrentControlSet\Control\Session Manager\Environment' 'PSModulePath'
  $entries = @(([Environment]::ExpandEnvironmentVariables([string]$raw)) -split ';' | Where-Object { $_ } | ForEach-Object { $_.Trim().TrimEnd('\') })
  $modDir = if ($ip) { (Join-Path $ip 'bin\Modules\MSOnlineBackup').TrimEnd('\') } else { $null }
  $modParent = if ($ip) { (Join-Path $ip 'bin\Modules').TrimEnd('\') } else { $null }
  $files = @(); if ($modDir -and (Test-Path -LiteralPath $modDir)) {
    $files = @(Get-ChildItem -LiteralPath $modDir -File | ForEach-Object { [ordered]@{ name = $_.Name; length = $_.Length; last_write_utc = IsoUtc $_.LastWriteTime } }) }
  $d = [ordered]@{
    ps_version = $PSVersionTable.PSVersion.ToString()
    powershell_engine_version = RegVal 'HKLM:\SOFTWARE\Microsoft\PowerShell\3\PowerShellEngine' 'PowerShellVersion'
    machine_psmodulepath = $raw; expected_module_dir = $modDir
    contains_module_dir = [bool]($modDir -and ($entries -contains $modDir))
    contains_modules_parent = [bool]($modParent -and ($entries -contains $modParent))
    manifest_exists = [bool]($modDir -and (Test-Path -LiteralPath (Join-Path $modDir 'MSOnlineBackup.psd1')))
    module_files = $files
    execution_policies = @(Get-ExecutionPolicy -List | ForEach-Object { [ordered]@{ scope = [string]$_.Scope; policy = [string]$_.ExecutionPolicy } })
  }
  Emit 'sched.powershell_env' $d $null
} catch { Emit 'sched.powershell_env' $null $_.Exception.Message }
