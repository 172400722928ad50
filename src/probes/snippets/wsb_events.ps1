function WsbEvOut($e) {
  $o = EvOut $e; $o.data = [ordered]@{}
  try { $x = [xml]$e.ToXml()
        foreach ($n in @($x.Event.EventData.Data)) { if ($n.Name) { $v = [string]$n.'#text'; if ($v.Length -gt 400) { $v = $v.Substring(0, 400) }; $o.data[[string]$n.Name] = $v } } } catch {}
  $o }
try {
  $since = (Get-Date).AddDays(-30)
  $ops = Get-EventsSafe @{ LogName = 'Microsoft-Windows-Backup'; Id = 1, 4, 5, 7, 8, 9, 14, 17, 20, 49, 50; StartTime = $since } 60
  $app = Get-EventsSafe @{ LogName = 'Application'; ProviderName = 'Microsoft-Windows-Backup'; Id = 517, 518, 519, 521, 544, 546, 561; StartTime = $since } 40
  Emit 'wsb.event_history' ([ordered]@{ window_days = 30; operational = @($ops | ForEach-Object { WsbEvOut $_ }); application = @($app | ForEach-Object { WsbEvOut $_ }) }) $null
} catch { Emit 'wsb.event_history' $null $_.Exception.Message }
