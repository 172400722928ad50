try {
  $enc = Get-CimInstance -ClassName Win32_SystemEnclosure | Select-Object -First 1
  $cs = Get-CimInstance -ClassName Win32_ComputerSystem
  $bios = Get-CimInstance -ClassName Win32_BIOS
  $ga = @(Get-CimInstance -ClassName Win32_Service -Filter "Name='WindowsAzureGuestAgent' OR Name='RdAgent'" | ForEach-Object { [ordered]@{ name = $_.Name; state = $_.State } })
  $esp = $null; if (Get-Command -Name Get-Partition -ErrorAction SilentlyContinue) {
    $esp = [bool](@(Get-Partition -ErrorAction SilentlyContinue | Where-Object { $_.GptType -eq '{c12a7328-f81f-11d2-ba4b-00a0c93ec93b}' }).Count) }
  $d = [ordered]@{ smbios_asset_tag = [string]$enc.SMBIOSAssetTag; chassis_types = @($enc.ChassisTypes)
                   manufacturer = $cs.Manufacturer; model = $cs.Model; hypervisor_present = $cs.HypervisorPresent
                   bios_manufacturer = $bios.Manufacturer; bios_version = [string]$bios.SMBIOSBIOSVersion; bios_serial = [string]$bios.SerialNumber
                   azure_guest_agent_services = $ga; uefi_esp_present = $esp
                   is_azure = ([string]$enc.SMBIOSAssetTag).Trim() -eq '7783-7084-3265-9085-8269-3286-77' }
  Emit 'azure.vm_detect' $d $null
} catch { Emit 'azure.vm_detect' $null $_.Exception.Message }
