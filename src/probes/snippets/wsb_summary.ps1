function WbDate($v) { if ($null -eq $v) { return $null }; try { $t = [datetime]$v; if ($t.Year -le 1601) { return $null }; IsoUtc $t } catch { [string]$v } }
try {
  if (-not (Get-Command -Name Get-WBSummary -ErrorAction SilentlyContinue)) { Emit 'wsb.summary' ([ordered]@{ cmdlet_present = $false }) $null }
  else {
    $s = Get-WBSummary -ErrorAction Stop
    $d = [ordered]@{ cmdlet_present = $true
      next_backup_utc = WbDate $s.NextBackupTime; number_of_versions = $s.NumberOfVersions
      last_successful_utc = WbDate $s.LastSuccessfulBackupTime
      last_successful_target_path = [string]$s.LastSuccessfulBackupTargetPath; last_successful_target_label = [string]$s.LastSuccessfulBackupTargetLabel
      last_backup_utc = WbDate $s.LastBackupTime; last_backup_target = [string]$s.LastBackupTarget
      detailed_message = [string]$s.DetailedMessage
      last_result_hr = Hex32 $s.LastBackupResultHR; last_result_detailed_hr = Hex32 $s.LastBackupResultDetailedHR
      current_operation_status = [string]$s.CurrentOperationStatus }
    if ($d.current_operation_status -and $d.current_operation_status -ne 'NoOperationInProgress') { $script:FsWsbBusy = $true }
    Emit 'wsb.summary' $d $null
  }
} catch { Emit 'wsb.summary' $null $_.Exception.Message }
