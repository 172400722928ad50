try {
  $cfg = 'HKLM:\SOFTWARE\Microsoft\Windows Azure Backup\Config'
  $s1 = RegVal $cfg 'ScratchLocation'
  $s2 = RegVal "$cfg\CloudBackupProvider" 'ScratchLocation'
  $p = if ($s1) { $s1 } else { $s2 }
  $d = [ordered]@{ config_scratch = $s1; provider_scratch = $s2; paths_match = $null; is_unc = $null; exists = $null
                   attributes = $null; attributes_value = $null; volume = $null; cbssb_volumes = @() }
  if ($p) {
    $d.paths_match = [bool]($s1 -and $s2 -and ($s1.TrimEnd('\') -ieq $s2.TrimEnd('\')))
    $d.is_unc = $p.StartsWith('\\')
    $d.exists = Test-Path -LiteralPath $p -PathType Container
    if ($d.exists) { $it = Get-Item -LiteralPath $p -Force; $d.attributes = [string]$it.Attributes; $d.attributes_value = [int]$it.Attributes }
    $full = [System.IO.Path]::GetFullPath($p)
    $v = Get-CimInstance -ClassName Win32_Volume | Where-Object { $_.Name -and $full.StartsWith($_.Name, [StringComparison]::OrdinalIgnoreCase) } |
         Sort-Object { $_.Name.Length } -Descending | Select-Object -First 1
    if ($v) { $d.volume = [ordered]@{ name = $v.Name; label = $v.Label; file_system = $v.FileSystem; drive_type = [int]$v.DriveType
                                      capacity_bytes = $v.Capacity; free_bytes = $v.FreeSpace
                                      free_pct = if ($v.Capacity) { [math]::Round(100.0 * $v.FreeSpace / $v.Capacity, 2) } else { $null } } }
  }
  $d.cbssb_volumes = @(Get-CimInstance -ClassName Win32_Volume | Where-Object { $_.Label -like 'CBSSBVol*' } |
                       ForEach-Object { [ordered]@{ label = $_.Label; name = $_.Name; capacity_bytes = $_.Capacity } })
  Emit 'mars.scratch_config' $d $null
} catch { Emit 'mars.scratch_config' $null $_.Exception.Message }
