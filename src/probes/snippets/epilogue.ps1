# fleetscan-end: hand the last lines to the flusher (or write them here if it never started).
[void]$script:FsDone.Set()
if ($null -ne $script:FsFlusher) {
  try { [void]$script:FsFlusher.EndInvoke($script:FsHandle) } catch {}
  try { $script:FsFlusher.Dispose() } catch {}
}
FsDrain
