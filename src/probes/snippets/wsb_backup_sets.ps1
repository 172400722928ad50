try {
  if ($script:FsWsbBusy) { Emit 'wsb.backup_sets' ([ordered]@{ skipped = 'wsb_busy' }) $null }
  else {
    $d = [ordered]@{ method = $null; count = $null; newest = @(); wbadmin = $null }
    if (Get-Command -Name Get-WBBackupSet -ErrorAction SilentlyContinue) {
      $sets = @(Get-WBBackupSet -ErrorAction Stop | Sort-Object -Property BackupTime -Descending)
      $d.method = 'Get-WBBackupSet'; $d.count = $sets.Count
      $d.newest = @($sets | Select-Object -First 5 | ForEach-Object {
        [ordered]@{ version_id = [string]$_.VersionId; backup_time_utc = IsoUtc $_.BackupTime; backup_set_id = [string]$_.BackupSetId
                    recoverable_items = [string]$_.RecoverableItems; target_path = [string]$_.BackupTarget.Path
                    target_label = [string]$_.BackupTarget.Label; vss_backup_option = [string]$_.VssBackupOption
                    volumes = @($_.Volume | ForEach-Object { [string]$_ }) } })
    } else {
      $r = RunExe "$env:SystemRoot\System32\wbadmin.exe" 'get versions' 120000
      $ids = @([regex]::Matches([string]$r.stdout, '\b\d{2}/\d{2}/\d{4}-\d{2}:\d{2}\b') | ForEach-Object { $_.Value } | Select-Object -Unique)
      $d.method = 'wbadmin'; $d.count = $ids.Count
      $d.wbadmin = [ordered]@{ exit_code = $r.exit_code; timed_out = $r.timed_out; version_ids = $ids
                               text = ([string]$r.stdout).Substring(0, [Math]::Min(4000, ([string]$r.stdout).Length)) }
    }
    Emit 'wsb.backup_sets' $d $null
  }
} catch { Emit 'wsb.backup_sets' $null $_.Exception.Message }
