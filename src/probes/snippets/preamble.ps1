# fleetscan probe program: read-only evidence gathering for System State backup readiness.
# Each probe block prints exactly one compact JSON line through Emit. Lines are queued and a
# background runspace writes them out at most every $script:FsFlushMs milliseconds, plus once at the
# end, so a quick host answers in one Receive and a probe that hangs still leaves earlier lines.
# Each flush is ONE stdout line: 'fleetscan-gz:' and the base64 of the gzip of the queued lines
# (UTF-8, each ended by LF). ~30 KB of JSON leaves as ~8 KB, which WinRS base64-encodes again and
# NTLM seals: a quarter of the bytes to carry, seal, unseal and parse.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$script:FsQueue = New-Object 'System.Collections.Concurrent.ConcurrentQueue[string]'
$script:FsDone = New-Object System.Threading.ManualResetEvent -ArgumentList $false
$script:FsFlusher = $null
$script:FsHandle = $null
$script:FsWsbBusy = $false
$script:FsFlushMs = 2000
# The batch writer, kept as text: the flusher runspace compiles its own copy (a scriptblock from this
# runspace would run here, not there). [Console]::Out writes the line whole, never wrapped to the
# host's width as Write-Output may be. Encoding.UTF8.GetBytes writes no BOM. The GZipStream must be
# closed before ToArray so its last block and trailer are in the MemoryStream (ToArray works on a
# closed one). Should compressing fail, the lines go out plain, which the client takes as well.
$script:FsWriteBatch = {
  param($Queue)
  $sb = New-Object System.Text.StringBuilder
  $line = $null
  while ($Queue.TryDequeue([ref]$line)) { [void]$sb.Append($line); [void]$sb.Append("`n") }
  if ($sb.Length -eq 0) { return }
  $text = $sb.ToString()
  $out = $null
  try {
    $raw = [System.Text.Encoding]::UTF8.GetBytes($text)
    $ms = New-Object System.IO.MemoryStream
    $gz = New-Object System.IO.Compression.GZipStream -ArgumentList $ms, ([System.IO.Compression.CompressionMode]::Compress)
    try { $gz.Write($raw, 0, $raw.Length) } finally { $gz.Dispose() }
    $out = 'fleetscan-gz:' + [Convert]::ToBase64String($ms.ToArray()) + "`n"
  } catch { $out = $text }
  [Console]::Out.Write($out)
  [Console]::Out.Flush()
}
$script:FsWriteBatchText = $script:FsWriteBatch.ToString()
function FsDrain { & $script:FsWriteBatch $script:FsQueue }
try {
  $script:FsFlusher = [powershell]::Create()
  [void]$script:FsFlusher.AddScript({
    param($Queue, $Done, $IntervalMs, $WriteBatchText)
    $writeBatch = [scriptblock]::Create($WriteBatchText)
    $last = $false
    while (-not $last) {
      $last = $Done.WaitOne($IntervalMs)
      & $writeBatch $Queue
    }
  })
  [void]$script:FsFlusher.AddArgument($script:FsQueue)
  [void]$script:FsFlusher.AddArgument($script:FsDone)
  [void]$script:FsFlusher.AddArgument($script:FsFlushMs)
  [void]$script:FsFlusher.AddArgument($script:FsWriteBatchText)
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
