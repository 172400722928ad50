try {
  $setup = 'HKLM:\SOFTWARE\Microsoft\Windows Azure Backup\Setup'
  $ip = RegVal $setup 'InstallPath'
  $exe = if ($ip) { Join-Path $ip 'bin\cbengine.exe' } else { $null }
  $vi = $null; if ($exe -and (Test-Path -LiteralPath $exe)) { $vi = (Get-Item -LiteralPath $exe).VersionInfo }
  $un = @(Get-ItemProperty -Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\*' -ErrorAction SilentlyContinue |
          Where-Object { $_.DisplayName -like 'Microsoft Azure Recovery Services Agent*' } | Select-Object -First 1)
  $d = [ordered]@{
    setup_key_present = Test-Path -LiteralPath $setup
    install_path = $ip; cbengine_path = $exe; cbengine_exists = [bool]$vi
    file_version = if ($vi) { $vi.FileVersion } else { $null }
    version = if ($vi) { '{0}.{1}.{2}.{3}' -f $vi.FileMajorPart, $vi.FileMinorPart, $vi.FileBuildPart, $vi.FilePrivatePart } else { $null }
    uninstall_display_name = if ($un.Count) { $un[0].DisplayName } else { $null }
    uninstall_display_version = if ($un.Count) { $un[0].DisplayVersion } else { $null }
    uninstall_key = if ($un.Count) { $un[0].PSChildName } else { $null }
  }
  Emit 'mars.installed' $d $null
} catch { Emit 'mars.installed' $null $_.Exception.Message }
