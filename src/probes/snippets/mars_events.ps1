try {
  $exists = [bool](Get-WinEvent -ListLog 'CloudBackup/Operational' -ErrorAction SilentlyContinue)
  $ev = if ($exists) { Get-EventsSafe @{ LogName = 'CloudBackup/Operational'; StartTime = (Get-Date).AddDays(-14); Level = 1, 2, 3 } 100 } else { @() }
  Emit 'mars.cloudbackup_events' ([ordered]@{ log_exists = $exists; window_days = 14; events = @($ev | ForEach-Object { EvOut $_ }) }) $null
} catch { Emit 'mars.cloudbackup_events' $null $_.Exception.Message }
