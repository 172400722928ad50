try {
  $tz = [System.TimeZoneInfo]::Local
  $w = Get-CimInstance -ClassName Win32_Service -Filter "Name='W32Time'"
  $w32 = "$env:SystemRoot\System32\w32tm.exe"
  $src = $null; $st = $null
  try { $r = RunExe $w32 '/query /source' 15000; if ($r.stdout) { $src = ([string]$r.stdout).Trim() } } catch {}
  try { $r = RunExe $w32 '/query /status' 15000; if ($r.stdout) { $st = ([string]$r.stdout).Trim() } } catch {}
  $d = [ordered]@{ utc_now = [datetime]::UtcNow.ToString('o'); tz_id = $tz.Id; tz_display = $tz.DisplayName
                   base_utc_offset_min = [int]$tz.BaseUtcOffset.TotalMinutes; current_utc_offset_min = [int]$tz.GetUtcOffset([datetime]::Now).TotalMinutes
                   supports_dst = [bool]$tz.SupportsDaylightSavingTime; is_dst_now = [bool]$tz.IsDaylightSavingTime([datetime]::Now)
                   registry_tz_key = RegVal 'HKLM:\SYSTEM\CurrentControlSet\Control\TimeZoneInformation' 'TimeZoneKeyName'
                   w32time_state = $w.State; w32time_start_mode = $w.StartMode; w32tm_source = $src; w32tm_status = $st }
  Emit 'time.clock_timezone' $d $null
} catch { Emit 'time.clock_timezone' $null $_.Exception.Message }
