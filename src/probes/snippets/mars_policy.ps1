try {
  $ip = RegVal 'HKLM:\SOFTWARE\Microsoft\Windows Azure Backup\Setup' 'InstallPath'
  if (-not $ip) { Emit 'mars.policy_and_jobs' ([ordered]@{ mars_installed = $false }) $null }
  else {
    Import-Module -Name (Join-Path $ip 'bin\Modules\MSOnlineBackup') -ErrorAction Stop
    $d = [ordered]@{ mars_installed = $true; ss_policy = $null; files_policy_present = $null; jobs = @() }
    try { $p = Get-OBSystemStatePolicy -ErrorAction Stop
          if ($p) { $d.ss_policy = [ordered]@{ policy_state = [string]$p.PolicyState; state = [string]$p.State
                                               schedule = [string]$p.BackupSchedule; retention = [string]$p.RetentionPolicy } } } catch { $d.ss_policy = [ordered]@{ error = $_.Exception.Message } }
    try { $d.files_policy_present = [bool](Get-OBPolicy -ErrorAction Stop) } catch {}
    $jobs = @(Get-OBJob -Previous 30 -ErrorAction Stop)
    $d.jobs = @($jobs | ForEach-Object { $js = $_.JobStatus
      [ordered]@{ job_type = [string]$_.JobType; job_state = [string]$js.JobState
                  start_utc = IsoUtc $js.StartTime; end_utc = IsoUtc $js.EndTime
                  error_code = [string]$js.ErrorInfo.ErrorCode; detailed_error_code = [string]$js.ErrorInfo.DetailedErrorCode
                  datasources = @($js.DatasourceStatus | ForEach-Object { [ordered]@{ name = [string]$_.Datasource.DataSourceName; state = [string]$_.JobState } }) } })
    Emit 'mars.policy_and_jobs' $d $null
  }
} catch { Emit 'mars.policy_and_jobs' $null $_.Exception.Message }
