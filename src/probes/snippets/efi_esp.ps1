try {
  $d = [ordered]@{ firmware_type = $env:firmware_type; secure_boot = $null; esp = @(); lock_events = @(); third_party = @(); event_errors = @() }
  try { $d.secure_boot = [string](Confirm-SecureBootUEFI -ErrorAction Stop) } catch { $d.secure_boot = 'n/a: ' + $_.Exception.Message }
  if (Get-Command -Name Get-Partition -ErrorAction SilentlyContinue) {
    $d.esp = @(Get-Partition -ErrorAction SilentlyContinue | Where-Object { $_.GptType -eq '{c12a7328-f81f-11d2-ba4b-00a0c93ec93b}' } |
               ForEach-Object { [ordered]@{ disk = $_.DiskNumber; partition = $_.PartitionNumber; size = [string]$_.Size; is_system = [bool]$_.IsSystem } }) }
  $since = (Get-Date).AddDays(-30)
  $w = @()
  try { $w += @(Get-EventsSafe @{ LogName = 'Microsoft-Windows-Backup'; Id = 5; StartTime = $since } 50) } catch { $d.event_errors += $_.Exception.Message }
  try { $w += @(Get-EventsSafe @{ LogName = 'Application'; ProviderName = 'Microsoft-Windows-Backup'; Id = 517; StartTime = $since } 50) } catch { $d.event_errors += $_.Exception.Message }
  $d.lock_events = @($w | Where-Object { $_ } | ForEach-Object { $o = EvOut $_; $t = $o.props -join ' '
                      if ($t -match '(?i)0x8078011e|2155348254') { $o } })
  $pat = 'Sophos|McAfee|Trellix|Symantec|SentinelOne|CrowdStrike|CSFalcon|Cylance|ESET|Kaspersky|Trend ?Micro|Bitdefender|Carbon ?Black|Cortex|Veeam|Acronis|Commvault|Backup ?Exec|Arcserve|NetBackup|Datto|Cohesity|Rubrik|Unitrends|StorageCraft|ShadowProtect|Macrium|NAKIVO'
  $d.third_party = @(Get-CimInstance -ClassName Win32_Service -Filter "State='Running'" | Where-Object { ($_.Name + ' ' + $_.DisplayName) -match $pat } |
                     ForEach-Object { [ordered]@{ name = $_.Name; display_name = $_.DisplayName } })
  Emit 'efi.esp_lock' $d $null
} catch { Emit 'efi.esp_lock' $null $_.Exception.Message }
