try {
  $vols = @(Get-CimInstance -ClassName Win32_Volume | ForEach-Object {
    [ordered]@{ name = $_.Name; device_id = $_.DeviceID; drive_letter = $_.DriveLetter; label = $_.Label; file_system = $_.FileSystem
                drive_type = [int]$_.DriveType; boot_volume = [bool]$_.BootVolume; system_volume = [bool]$_.SystemVolume
                capacity_bytes = $_.Capacity; free_bytes = $_.FreeSpace } })
  $bl = @(); try {
    $bl = @(Get-CimInstance -Namespace 'root\cimv2\Security\MicrosoftVolumeEncryption' -ClassName Win32_EncryptableVolume -ErrorAction Stop |
          ForEach-Object { $ls = $null; try { $ls = (Invoke-CimMethod -InputObject $_ -MethodName GetLockStatus).LockStatus } catch {}
                           [ordered]@{ drive_letter = $_.DriveLetter; device_id = $_.DeviceID; protection_status = [int]$_.ProtectionStatus; lock_status = $ls } }) } catch {}
  $disks = @(); if (Get-Command -Name Get-Disk -ErrorAction SilentlyContinue) {
    $disks = @(Get-Disk | ForEach-Object { [ordered]@{ number = $_.Number; is_read_only = [bool]$_.IsReadOnly; is_offline = [bool]$_.IsOffline; bus_type = [string]$_.BusType; partition_style = [string]$_.PartitionStyle } }) }
  Emit 'vol.unsupported_sources' ([ordered]@{ volumes = $vols; bitlocker = $bl; disks = $disks }) $null
} catch { Emit 'vol.unsupported_sources' $null $_.Exception.Message }
