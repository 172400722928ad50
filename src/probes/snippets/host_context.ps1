try {
  $os = Get-CimInstance -ClassName Win32_OperatingSystem
  $cs = Get-CimInstance -ClassName Win32_ComputerSystem
  $cv = 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion'
  $id = [Security.Principal.WindowsIdentity]::GetCurrent()
  $pr = New-Object Security.Principal.WindowsPrincipal($id)
  $d = [ordered]@{
    caption = $os.Caption; version = $os.Version; build = [int]$os.BuildNumber
    ubr = RegVal $cv 'UBR'; installation_type = RegVal $cv 'InstallationType'
    edition_id = RegVal $cv 'EditionID'; product_type = [int]$os.ProductType
    os_arch = $os.OSArchitecture
    ps_version = $PSVersionTable.PSVersion.ToString(); clr_version = [string]$PSVersionTable.CLRVersion
    is_admin = $pr.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)
    user = $id.Name; culture = (Get-Culture).Name; ui_culture = (Get-UICulture).Name
    part_of_domain = [bool]$cs.PartOfDomain; domain_role = [int]$cs.DomainRole
    last_boot_utc = IsoUtc $os.LastBootUpTime; utc_now = [datetime]::UtcNow.ToString('o')
  }
  Emit 'host.context' $d $null
} catch { Emit 'host.context' $null $_.Exception.Message }
