try {
  $vols = @(Get-CimInstance -ClassName Win32_Volume | Where-Object { $_.DriveType -eq 3 } | ForEach-Object {
            [ordered]@{ device_id = $_.DeviceID; drive_letter = $_.DriveLetter; label = $_.Label; fs = $_.FileSystem
                        capacity = [string]$_.Capacity; free = [string]$_.FreeSpace; system_volume = [bool]$_.SystemVolume; boot_volume = [bool]$_.BootVolume } })
  $ss = @(Get-CimInstance -ClassName Win32_ShadowStorage -ErrorAction SilentlyContinue | ForEach-Object {
            [ordered]@{ volume = [string]$_.Volume.DeviceID; diff_volume = [string]$_.DiffVolume.DeviceID
                        allocated = [string]$_.AllocatedSpace; used = [string]$_.UsedSpace
                        max = [string]$_.MaxSpace; max_unbounded = ([UInt64]$_.MaxSpace -eq [UInt64]::MaxValue) } })
  $sc = @(Get-CimInstance -ClassName Win32_ShadowCopy -ErrorAction SilentlyContinue | Group-Object -Property VolumeName |
          ForEach-Object { [ordered]@{ volume = $_.Name; count = $_.Count } })
  Emit 'vss.shadow_storage' ([ordered]@{ volumes = $vols; shadow_storage = $ss; shadow_copies = $sc }) $null
} catch { Emit 'vss.shadow_storage' $null $_.Exception.Message }
