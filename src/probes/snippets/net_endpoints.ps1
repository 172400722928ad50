try {
  $Hosts = @('login.microsoftonline.com', 'login.windows.net', 'www.msftconnecttest.com', 'www.msftncsi.com', 'go.microsoft.com')
  $TimeoutMs = 3000
  function Test-Tcp([string]$h, [int]$port, [int]$ms) {
    $c = New-Object System.Net.Sockets.TcpClient
    try { $ar = $c.BeginConnect($h, $port, $null, $null)
          if ($ar.AsyncWaitHandle.WaitOne($ms)) { $c.EndConnect($ar); $true } else { $false } }
    catch { $false } finally { $c.Close() }
  }
  $res = foreach ($h in $Hosts) {
    $ips = @(); $dnsErr = $null
    try { $ips = @([System.Net.Dns]::GetHostAddresses($h) | ForEach-Object { $_.IPAddressToString }) } catch { $dnsErr = $_.Exception.Message }
    [ordered]@{ host = $h; dns_ok = ($ips.Count -gt 0); addresses = $ips; dns_error = $dnsErr
                tcp443 = if ($ips.Count) { Test-Tcp $h 443 $TimeoutMs } else { $false } }
  }
  $sysIe = 'Registry::HKEY_USERS\S-1-5-18\Software\Microsoft\Windows\CurrentVersion\Internet Settings'
  $wh = RunExe "$env:SystemRoot\System32\netsh.exe" 'winhttp show proxy' 10000
  $d = [ordered]@{ targets = @($res)
                   system_proxy_enable = RegVal $sysIe 'ProxyEnable'; system_proxy_server = RegVal $sysIe 'ProxyServer'
                   system_autoconfig_url = RegVal $sysIe 'AutoConfigURL'
                   winhttp_proxy_text = if ($wh.stdout) { ([string]$wh.stdout).Trim() } else { $null } }
  Emit 'net.mars_endpoints' $d $null
} catch { Emit 'net.mars_endpoints' $null $_.Exception.Message }
