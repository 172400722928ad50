# fleetscan probe program: read-only evidence gathering for System State backup readiness.
# Each probe block prints exactly one compact JSON line through Emit. Lines are queued and a
# background runspace writes them out at most every $script:FsFlushMs milliseconds, plus once at the
# end, so a quick host answers in one Receive and a probe that hangs still leaves earlier lines.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$script:FsQueue = New-Object 'System.Collections.Concurrent.ConcurrentQueue[string]'
$script:FsDone = New-Object System.Threading.ManualResetEvent -ArgumentList $false
$script:FsFlusher = $null
$script:FsHandle = $null
$script:FsWsbBusy = $false
$script:FsFlushMs = 2000
function FsDrain {
  $sb = New-Object System.Text.StringBuilder
  $line = $null
  while ($script:FsQueue.TryDequeue([ref]$line)) { [void]$sb.Append($line); [void]$sb.Append("`n") }
  if ($sb.Length -gt 0) { [Console]::Out.Write($sb.ToString()); [Console]::Out.Flush() }
}
try {
  $script:FsFlusher = [powershell]::Create()
  [void]$script:FsFlusher.AddScript({
    param($Queue, $Done, $IntervalMs)
    $last = $false
    while (-not $last) {
      $last = $Done.WaitOne($IntervalMs)
      $sb = New-Object System.Text.StringBuilder
      $line = $null
      while ($Queue.TryDequeue([ref]$line)) { [void]$sb.Append($line); [void]$sb.Append("`n") }
      if ($sb.Length -gt 0) { [Console]::Out.Write($sb.ToString()); [Console]::Out.Flush() }
    }
  })
  [void]$script:FsFlusher.AddArgument($script:FsQueue)
  [void]$script:FsFlusher.AddArgument($script:FsDone)
  [void]$script:FsFlusher.AddArgument($script:FsFlushMs)
  $script:FsHandle = $script:FsFlusher.BeginInvoke()
} catch { $script:FsFlusher = $null }
function J($o) { ConvertTo-Json -InputObject $o -Compress -Depth 8 }
function IsoUtc($d) {
  if ($null -eq $d -or "$d" -eq '') { return $null }
  try { ([datetime]$d).ToUniversalTime().ToString('o') } catch { [string]$d }
}
function Hex32($v) {
  if ($null -eq $v -or "$v" -eq '') { return $null }
  $l = [int64]$v; if ($l -lt 0) { $l += 4294967296 }
  '0x{0:X8}' -f $l
}
function RegVal([string]$Path, [string]$Name) {
  try { (Get-Item -LiteralPath $Path -ErrorAction Stop).GetValue($Name, $null, 'DoNotExpandEnvironmentNames') } catch { $null }
}
function Emit([string]$Id, $Data, [string]$Err) {
  $rec = [ordered]@{ id = $Id; ok = [string]::IsNullOrEmpty($Err); error = $null
                     collected_utc = [datetime]::UtcNow.ToString('o')
                     ps = $PSVersionTable.PSVersion.ToString(); data = $Data }
  if (-not [string]::IsNullOrEmpty($Err)) { $rec.error = $Err }
  $line = $null
  try { $line = J $rec }
  catch {
    $line = J ([ordered]@{ id = $Id; ok = $false; error = ('could not serialize the evidence: ' + $_.Exception.Message)
                           collected_utc = [datetime]::UtcNow.ToString('o'); ps = $PSVersionTable.PSVersion.ToString(); data = $null })
  }
  $script:FsQueue.Enqueue([string]$line)
  if ($null -eq $script:FsFlusher) { FsDrain }
}
function Get-EventsSafe([hashtable]$Filter, [int]$Max = 200) {
  try { @(Get-WinEvent -FilterHashtable $Filter -MaxEvents $Max -ErrorAction Stop) }
  catch { if ($_.FullyQualifiedErrorId -like 'NoMatchingEventsFound*') { @() } else { throw } }
}
function EvOut($e) {
  [ordered]@{ time_utc = IsoUtc $e.TimeCreated; id = $e.Id; provider = $e.ProviderName
              level = [int]$e.Level; record_id = $e.RecordId
              props = @($e.Properties | Select-Object -First 10 | ForEach-Object {
                        $s = [string]$_.Value; if ($s.Length -gt 400) { $s.Substring(0, 400) } else { $s } }) }
}
function RunExe([string]$File, [string]$Arguments, [int]$TimeoutMs = 60000) {
  $psi = New-Object System.Diagnostics.ProcessStartInfo
  $psi.FileName = $File; $psi.Arguments = $Arguments; $psi.UseShellExecute = $false
  $psi.RedirectStandardOutput = $true; $psi.RedirectStandardError = $true; $psi.CreateNoWindow = $true
  $p = [System.Diagnostics.Process]::Start($psi)
  $o = $p.StandardOutput.ReadToEndAsync(); $e = $p.StandardError.ReadToEndAsync()
  if (-not $p.WaitForExit($TimeoutMs)) { try { $p.Kill() } catch {}; return [ordered]@{ timed_out = $true; exit_code = $null; stdout = $null; stderr = $null } }
  $p.WaitForExit()
  [ordered]@{ timed_out = $false; exit_code = $p.ExitCode; stdout = $o.Result; stderr = $e.Result }
}
