try {
  $cv = 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion'
  $hf = @(Get-HotFix -ErrorAction Stop)
  $dated = @($hf | Where-Object { $_.InstalledOn })
  $latest = @($dated | Sort-Object InstalledOn -Descending | Select-Object -First 5 |
             ForEach-Object { [ordered]@{ id = $_.HotFixID; description = $_.Description; installed_on_utc = IsoUtc $_.InstalledOn } })
  $d = [ordered]@{ hotfix_count = $hf.Count; hotfix_without_date = ($hf.Count - $dated.Count); latest = $latest
                   current_build = RegVal $cv 'CurrentBuild'; ubr = RegVal $cv 'UBR'; display_version = RegVal $cv 'DisplayVersion'
                   wu_history = $null; wu_history_error = $null }
  Emit 'os.updates_recent' $d $null
} catch { Emit 'os.updates_recent' $null $_.Exception.Message }
