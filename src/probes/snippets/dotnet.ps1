try {
  $k = 'HKLM:\SOFTWARE\Microsoft\NET Framework Setup\NDP\v4\Full'
  $d = [ordered]@{ full_key_present = Test-Path -LiteralPath $k; release = RegVal $k 'Release'; version = RegVal $k 'Version' }
  Emit 'dotnet.version' $d $null
} catch { Emit 'dotnet.version' $null $_.Exception.Message }
