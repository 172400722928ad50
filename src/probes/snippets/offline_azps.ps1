try {
  $mods = @(Get-Module -ListAvailable -Name 'Azure', 'AzureRM', 'AzureRM.Profile', 'Az.Accounts' -ErrorAction SilentlyContinue |
            ForEach-Object { [ordered]@{ name = $_.Name; version = $_.Version.ToString(); base = $_.ModuleBase } })
  $msi = @(Get-ItemProperty -Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\*', 'HKLM:\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall\*' -ErrorAction SilentlyContinue |
           Where-Object { $_.DisplayName -like 'Microsoft Azure PowerShell*' } | ForEach-Object { [ordered]@{ name = $_.DisplayName; version = $_.DisplayVersion } })
  Emit 'offline.azure_powershell' ([ordered]@{ modules = $mods; msi = $msi }) $null
} catch { Emit 'offline.azure_powershell' $null $_.Exception.Message }
