try {
  $ev = Get-EventsSafe @{ LogName = 'System'; Id = 8, 9, 23, 24, 25, 32, 33, 35, 36, 38; StartTime = (Get-Date).AddDays(-30) } 300
  $vs = @($ev | Where-Object { $_.ProviderName -match '^volsnap$' } | ForEach-Object { EvOut $_ })
  Emit 'vss.volsnap_events' ([ordered]@{ window_days = 30; events = $vs }) $null
} catch { Emit 'vss.volsnap_events' $null $_.Exception.Message }
