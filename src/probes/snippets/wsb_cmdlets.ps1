try {
  $d = [ordered]@{ module_listed = $false; module_path = $null; import_error = $null; command_found = $false
                   invoke_ok = $null; invoke_error = $null; invoke_error_id = $null; current_job_state = $null }
  $m = @(Get-Module -ListAvailable -Name WindowsServerBackup -ErrorAction SilentlyContinue) | Select-Object -First 1
  if ($m) { $d.module_listed = $true; $d.module_path = $m.Path
            try { Import-Module -Name WindowsServerBackup -ErrorAction Stop } catch { $d.import_error = $_.Exception.Message } }
  $d.command_found = [bool](Get-Command -Name Get-WBJob -ErrorAction SilentlyContinue)
  try { $j = Get-WBJob -ErrorAction Stop; $d.invoke_ok = $true
        if ($j) { $d.current_job_state = [string]$j.JobState; if ($d.current_job_state -eq 'Running') { $script:FsWsbBusy = $true } } }
  catch { $d.invoke_ok = $false; $d.invoke_error = $_.Exception.Message; $d.invoke_error_id = $_.FullyQualifiedErrorId }
  Emit 'wsb.cmdlets_available' $d $null
} catch { Emit 'wsb.cmdlets_available' $null $_.Exception.Message }
