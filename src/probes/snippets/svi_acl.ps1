try {
  $path = Join-Path ($env:SystemDrive + '\') 'System Volume Information'
  $d = [ordered]@{ path = $path; exists = (Test-Path -LiteralPath $path); readable = $null; read_error = $null; owner_sid = $null
                   system_full_control = $null; system_deny = $null; aces = @(); icacls_text = $null }
  try {
    $acl = Get-Acl -LiteralPath $path -ErrorAction Stop
    $d.readable = $true
    $d.owner_sid = $acl.GetOwner([System.Security.Principal.SecurityIdentifier]).Value
    $FULL = 2032127; $GENERIC_ALL = 268435456
    $rules = $acl.GetAccessRules($true, $true, [System.Security.Principal.SecurityIdentifier])
    $d.aces = @($rules | ForEach-Object { [ordered]@{ sid = $_.IdentityReference.Value; type = [string]$_.AccessControlType
                      rights = [int64]$_.FileSystemRights; inherited = [bool]$_.IsInherited
                      inheritance = [string]$_.InheritanceFlags; propagation = [string]$_.PropagationFlags } })
    $sys = @($d.aces | Where-Object { $_.sid -eq 'S-1-5-18' })
    $d.system_full_control = [bool](@($sys | Where-Object { $_.type -eq 'Allow' -and ((($_.rights -band $FULL) -eq $FULL) -or ($_.rights -band $GENERIC_ALL)) }).Count)
    $d.system_deny = [bool](@($sys | Where-Object { $_.type -eq 'Deny' }).Count)
  } catch {
    $d.readable = $false; $d.read_error = $_.Exception.Message
    try { $r = RunExe "$env:SystemRoot\System32\icacls.exe" ('"' + $path + '"') 15000; if ($r.stdout) { $d.icacls_text = ([string]$r.stdout).Trim() } } catch {}
  }
  Emit 'acl.svi_system_full_control' $d $null
} catch { Emit 'acl.svi_system_full_control' $null $_.Exception.Message }
