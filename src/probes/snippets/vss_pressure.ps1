try {
  $os = Get-CimInstance -ClassName Win32_OperatingSystem
  $cpu = @(); for ($i = 0; $i -lt 4; $i++) {
    $t = Get-CimInstance -ClassName Win32_PerfFormattedData_PerfOS_Processor -Filter "Name='_Total'"
    $cpu += [int]$t.PercentProcessorTime; if ($i -lt 3) { Start-Sleep -Seconds 1 } }
  $disk = @(Get-CimInstance -ClassName Win32_PerfFormattedData_PerfDisk_LogicalDisk | Where-Object { $_.Name -ne '_Total' } |
            ForEach-Object { [ordered]@{ name = $_.Name; pct_idle = [int]$_.PercentIdleTime; queue = [int]$_.CurrentDiskQueueLength } })
  $top = @(Get-Process | Sort-Object -Property WorkingSet64 -Descending | Select-Object -First 5 |
           ForEach-Object { [ordered]@{ name = $_.ProcessName; pid = $_.Id; ws_mb = [math]::Round($_.WorkingSet64 / 1048576) } })
  $busy = @(Get-Process -Name 'wbengine', 'cbengine', 'vssvc' -ErrorAction SilentlyContinue | ForEach-Object { $_.ProcessName })
  $d = [ordered]@{ total_mem_mb = [math]::Round($os.TotalVisibleMemorySize / 1024); free_mem_mb = [math]::Round($os.FreePhysicalMemory / 1024)
                   free_mem_pct = [math]::Round(100 * $os.FreePhysicalMemory / $os.TotalVisibleMemorySize, 1)
                   cpu_samples_pct = $cpu; logical_disks = $disk; top_ws = $top; backup_processes_running = $busy }
  Emit 'vss.resource_pressure' $d $null
} catch { Emit 'vss.resource_pressure' $null $_.Exception.Message }
