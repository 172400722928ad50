try {
  if ($script:FsWsbBusy) { Emit 'vss.writers' ([ordered]@{ skipped = 'wsb_busy' }) $null }
  else {
    $r = RunExe "$env:SystemRoot\System32\vssadmin.exe" 'list writers' 90000
    $writers = @()
    if (-not $r.timed_out -and $r.exit_code -eq 0) {
      $lines = ([string]$r.stdout) -split "`r?`n"
      $cur = $null
      foreach ($l in $lines) {
        if ($l -match "^\S.*?'(.+)'\s*$") { if ($cur) { $writers += $cur }
              $cur = [ordered]@{ name = $Matches[1]; writer_id = $null; instance_id = $null; state = $null; state_text = $null; last_error = $null }; continue }
        if (-not $cur) { continue }
        if ($l -match '\{([0-9a-fA-F-]{36})\}') { if (-not $cur.writer_id) { $cur.writer_id = $Matches[1].ToLower() } elseif (-not $cur.instance_id) { $cur.instance_id = $Matches[1].ToLower() }; continue }
        if ($l -match '\[(\d+)\]\s*(.*)$') { $cur.state = [int]$Matches[1]; $cur.state_text = $Matches[2].Trim(); continue }
        if ($null -ne $cur.state -and $null -eq $cur.last_error -and $l.Trim()) { $cur.last_error = ($l -replace '^[^:]*:\s*', '').Trim() }
      }
      if ($cur) { $writers += $cur }
    }
    $out = [string]$r.stdout
    Emit 'vss.writers' ([ordered]@{ exit_code = $r.exit_code; timed_out = $r.timed_out; writer_count = $writers.Count; writers = $writers
                                    stderr = $r.stderr; raw_head = $out.Substring(0, [Math]::Min(600, $out.Length)) }) $null
  }
} catch { Emit 'vss.writers' $null $_.Exception.Message }
