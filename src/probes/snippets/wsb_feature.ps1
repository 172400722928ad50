try {
  $d = [ordered]@{ method = $null; installed = $null; install_state = $null; wbengine_service_present = $null; wbadmin_exists = $null; module_available = $null }
  if (Get-Command -Name Get-WindowsFeature -ErrorAction SilentlyContinue) {
    $f = Get-WindowsFeature -Name 'Windows-Server-Backup'
    $d.method = 'Get-WindowsFeature'; $d.installed = [bool]$f.Installed; $d.install_state = [string]$f.InstallState
  } elseif (Get-Command -Name Get-WindowsOptionalFeature -ErrorAction SilentlyContinue) {
    $f = Get-WindowsOptionalFeature -Online -FeatureName 'WindowsServerBackup'
    $d.method = 'Get-WindowsOptionalFeature'; $d.installed = ([string]$f.State -eq 'Enabled'); $d.install_state = [string]$f.State
  }
  $d.wbengine_service_present = [bool](Get-CimInstance -ClassName Win32_Service -Filter "Name='wbengine'")
  $d.wbadmin_exists = Test-Path -LiteralPath "$env:SystemRoot\System32\wbadmin.exe"
  $d.module_available = [bool](Get-Module -ListAvailable -Name WindowsServerBackup)
  Emit 'wsb.feature_installed' $d $null
} catch { Emit 'wsb.feature_installed' $null $_.Exception.Message }
