try {
  $ip = RegVal 'HKLM:\SOFTWARE\Microsoft\Windows Azure Backup\Setup' 'InstallPath'
  $scratch = RegVal 'HKLM:\SOFTWARE\Microsoft\Windows Azure Backup\Config' 'ScratchLocation'
  $mp = $null
  if (Get-Command -Name Get-MpPreference -ErrorAction SilentlyContinue) {
    try { $p = Get-MpPreference
          $mp = [ordered]@{ exclusion_path = @($p.ExclusionPath); exclusion_process = @($p.ExclusionProcess)
                            realtime_monitoring_disabled = [bool]$p.DisableRealtimeMonitoring } }
    catch { $mp = [ordered]@{ error = $_.Exception.Message } }
  }
  $mpStatus = $null
  if (Get-Command -Name Get-MpComputerStatus -ErrorAction SilentlyContinue) {
    try { $s = Get-MpComputerStatus; $mpStatus = [ordered]@{ am_service_enabled = [bool]$s.AMServiceEnabled; realtime_enabled = [bool]$s.RealTimeProtectionEnabled; am_running_mode = [string]$s.AMRunningMode } } catch {}
  }
  $av = 'Sophos|McAfee|Trellix|Symantec|SentinelOne|CrowdStrike|CSFalcon|Cylance|ESET|ekrn|Kaspersky|Trend ?Micro|Bitdefender|Carbon ?Black|CbDefense|Webroot|Malwarebytes|Cortex|Cybereason|F-Secure|WithSecure|Panda|Avast|AVG'
  $bak = 'Veeam|Acronis|Commvault|GxCVD|Backup ?Exec|Arcserve|NetBackup|Datto|Cohesity|Rubrik|Unitrends|StorageCraft|ShadowProtect|Altaro|Carbonite|Macrium|NAKIVO|Druva|Barracuda|Zerto|Nutanix|Spectrum ?Protect|TSM'
  $svc = @(Get-CimInstance -ClassName Win32_Service | Where-Object { ($_.Name + ' ' + $_.DisplayName) -match "$av|$bak" } |
           ForEach-Object { [ordered]@{ name = $_.Name; display_name = $_.DisplayName; state = $_.State; start_mode = $_.StartMode
                                        category = if (($_.Name + ' ' + $_.DisplayName) -match $bak) { 'backup' } else { 'security' } } })
  $exp = @()
  if ($ip) { $exp += (Join-Path $ip 'Scratch'); $exp += (Join-Path $ip 'Bin') }
  if ($scratch) { $exp += [string]$scratch }
  $exp += 'cbengine.exe'
  $d = [ordered]@{ install_path = $ip; scratch = $scratch; defender_preferences = $mp; defender_status = $mpStatus
                   expected_exclusions = $exp; third_party_services = $svc }
  Emit 'av.exclusions_and_conflicts' $d $null
} catch { Emit 'av.exclusions_and_conflicts' $null $_.Exception.Message }
