try {
  $want = [ordered]@{ RpcSs = 'Auto'; EventSystem = 'Auto'; SENS = 'Auto'; VSS = 'Manual'; swprv = 'Manual'; wbengine = 'Manual' }
  $out = foreach ($n in $want.Keys) {
    $s = Get-CimInstance -ClassName Win32_Service -Filter "Name='$n'"
    $k = "HKLM:\SYSTEM\CurrentControlSet\Services\$n"
    if ($s) { [ordered]@{ name = $n; present = $true; expected_start_mode = $want[$n]; start_mode = $s.StartMode
                          start_value = RegVal $k 'Start'; delayed_auto_start = RegVal $k 'DelayedAutostart'
                          state = $s.State; status = $s.Status; start_name = $s.StartName; exit_code = [int]$s.ExitCode } }
    else { [ordered]@{ name = $n; present = $false; expected_start_mode = $want[$n] } }
  }
  Emit 'svc.rpcss_startup' ([ordered]@{ services = @($out) }) $null
} catch { Emit 'svc.rpcss_startup' $null $_.Exception.Message }
