try {
  $n = 'obengine'
  $s = Get-CimInstance -ClassName Win32_Service -Filter "Name='$n'"
  $k = "HKLM:\SYSTEM\CurrentControlSet\Services\$n"
  $d = if ($s) { [ordered]@{ present = $true; name = $s.Name; display_name = $s.DisplayName; state = $s.State
                  start_mode = $s.StartMode; start_value = RegVal $k 'Start'; delayed_auto_start = RegVal $k 'DelayedAutostart'
                  status = $s.Status; start_name = $s.StartName; path_name = $s.PathName
                  process_id = [int]$s.ProcessId; exit_code = [int]$s.ExitCode } }
       else { [ordered]@{ present = $false } }
  Emit 'mars.service_running' $d $null
} catch { Emit 'mars.service_running' $null $_.Exception.Message }
