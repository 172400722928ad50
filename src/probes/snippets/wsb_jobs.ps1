function Flat($o) { if ($null -eq $o) { return $null }; $h = [ordered]@{}
  foreach ($p in $o.PSObject.Properties) { try { $h[$p.Name] = [string]$p.Value } catch { $h[$p.Name] = $null } }; $h }
function WbJobOut($j) {
  if ($null -eq $j) { return $null }
  [ordered]@{ job_type = [string]$j.JobType; job_state = [string]$j.JobState
              start_utc = IsoUtc $j.StartTime; end_utc = IsoUtc $j.EndTime
              hresult = Hex32 $j.HResult; detailed_hresult = Hex32 $j.DetailedHResult
              error_description = [string]$j.ErrorDescription; current_operation = [string]$j.CurrentOperation
              version_id = [string]$j.VersionId; success_log = [string]$j.SuccessLogPath; failure_log = [string]$j.FailureLogPath
              job_items = @($j.JobItems | ForEach-Object { Flat $_ })
              raw = (Flat $j) }
}
try {
  if (-not (Get-Command -Name Get-WBJob -ErrorAction SilentlyContinue)) { Emit 'wsb.last_job' ([ordered]@{ cmdlet_present = $false }) $null }
  else {
    $cur = Get-WBJob -ErrorAction Stop
    $prev = @(Get-WBJob -Previous 5 -ErrorAction Stop)
    Emit 'wsb.last_job' ([ordered]@{ cmdlet_present = $true; current = (WbJobOut $cur); previous = @($prev | ForEach-Object { WbJobOut $_ }) }) $null
  }
} catch { Emit 'wsb.last_job' $null $_.Exception.Message }
