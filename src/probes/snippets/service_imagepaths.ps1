try {
  $root = 'HKLM:\SYSTEM\CurrentControlSet\Services'
  $bad = New-Object System.Collections.ArrayList; $n = 0
  foreach ($k in (Get-ChildItem -LiteralPath $root -ErrorAction SilentlyContinue)) {
    $raw = $k.GetValue('ImagePath', $null, 'DoNotExpandEnvironmentNames'); if (-not $raw) { continue }
    $n++; $type = $k.GetValue('Type', $null); $raw = [string]$raw
    $s = $raw.Trim()
    if ($s.StartsWith('"')) { $end = $s.IndexOf('"', 1); $exe = if ($end -gt 0) { $s.Substring(1, $end - 1) } else { $s.Trim('"') } }
    else { $m = [regex]::Match($s, '^(.+?\.(exe|sys|dll))(\s|$)', 'IgnoreCase'); $exe = if ($m.Success) { $m.Groups[1].Value } else { ($s -split '\s+')[0] } }
    $p = $exe
    if ($p -match '^\\SystemRoot\\') { $p = $env:SystemRoot + $p.Substring(11) }
    elseif ($p -match '^\\\?\?\\') { $p = $p.Substring(4) }
    elseif ($p -match '^(system32|SysWOW64)\\') { $p = Join-Path $env:SystemRoot $p }
    $p = [Environment]::ExpandEnvironmentVariables($p)
    $reasons = @()
    if ($exe -match '^\\' -and $exe -notmatch '^\\(SystemRoot|\?\?)\\') { $reasons += 'leading_backslash' }
    if ($exe -match '/') { $reasons += 'forward_slash' }
    if ($exe -match '[<>|*?]' -and $exe -notmatch '^\\\?\?\\') { $reasons += 'invalid_chars' }
    if (-not $s.StartsWith('"') -and $exe -match '\s' -and $exe -notmatch '^\\') { $reasons += 'unquoted_space' }
    $exists = $false; try { $exists = Test-Path -LiteralPath $p -PathType Leaf } catch { $reasons += 'path_error' }
    if (-not $exists) { $reasons += 'file_missing' }
    if ($reasons.Count) { [void]$bad.Add([ordered]@{ service = $k.PSChildName; image_path = $raw; resolved = $p; type = $type; reasons = $reasons }) }
  }
  $scm = @()
  try { $scm = Get-EventsSafe @{ LogName = 'System'; ProviderName = 'Service Control Manager'; Id = 7000; StartTime = (Get-Date).AddDays(-30) } 50 } catch {}
  Emit 'sysstate.service_imagepaths' ([ordered]@{ services_checked = $n; suspicious = @($bad); scm_7000 = @($scm | ForEach-Object { EvOut $_ }) }) $null
} catch { Emit 'sysstate.service_imagepaths' $null $_.Exception.Message }
