try {
  $ev = Get-EventsSafe @{ LogName = 'Application'; ProviderName = 'VSS'; Id = 8229, 8193, 8194, 12289, 12298, 12301, 12338, 12340, 19, 40; StartTime = (Get-Date).AddDays(-30) } 200
  $rows = @($ev | ForEach-Object { $o = EvOut $_; $o.has_800423f2 = (($o.props -join ' ') -match '0x800423f2'); $o })
  Emit 'vss.writer_timeout_events' ([ordered]@{ window_days = 30; events = $rows
        timeout_8229_count = @($rows | Where-Object { $_.id -eq 8229 -and $_.has_800423f2 }).Count }) $null
} catch { Emit 'vss.writer_timeout_events' $null $_.Exception.Message }
