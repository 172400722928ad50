try {
  if (-not (Get-Command -Name Get-ScheduledTask -ErrorAction SilentlyContinue)) { throw 'ScheduledTasks module not available' }
  $tasks = @(Get-ScheduledTask -TaskPath '\Microsoft\OnlineBackup\' -ErrorAction SilentlyContinue)
  $out = foreach ($t in $tasks) {
    $i = $null; try { $i = Get-ScheduledTaskInfo -InputObject $t } catch {}
    [ordered]@{ task_name = $t.TaskName; task_path = $t.TaskPath; state = [string]$t.State; settings_enabled = [bool]$t.Settings.Enabled
                user_id = [string]$t.Principal.UserId; group_id = [string]$t.Principal.GroupId
                logon_type = [string]$t.Principal.LogonType; run_level = [string]$t.Principal.RunLevel
                multiple_instances = [string]$t.Settings.MultipleInstances
                triggers = @($t.Triggers | ForEach-Object { [ordered]@{ type = $_.CimClass.CimClassName; enabled = [bool]$_.Enabled; start_boundary = [string]$_.StartBoundary } })
                actions = @($t.Actions | ForEach-Object { [ordered]@{ execute = [string]$_.Execute; arguments = [string]$_.Arguments } })
                last_run_time_utc = if ($i) { IsoUtc $i.LastRunTime } else { $null }
                last_task_result = if ($i) { Hex32 $i.LastTaskResult } else { $null }
                next_run_time_utc = if ($i) { IsoUtc $i.NextRunTime } else { $null }
                missed_runs = if ($i) { [int]$i.NumberOfMissedRuns } else { $null } }
  }
  Emit 'sched.mars_tasks' ([ordered]@{ tasks = @($out) }) $null
} catch { Emit 'sched.mars_tasks' $null $_.Exception.Message }
