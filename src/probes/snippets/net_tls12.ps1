try {
  $sc = 'HKLM:\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.2\Client'
  $n64 = 'HKLM:\SOFTWARE\Microsoft\.NETFramework\v4.0.30319'
  $n32 = 'HKLM:\SOFTWARE\WOW6432Node\Microsoft\.NETFramework\v4.0.30319'
  $d = [ordered]@{
    schannel_client_key_present = Test-Path -LiteralPath $sc
    schannel_enabled = RegVal $sc 'Enabled'; schannel_disabled_by_default = RegVal $sc 'DisabledByDefault'
    net64_system_default_tls = RegVal $n64 'SystemDefaultTlsVersions'; net64_strong_crypto = RegVal $n64 'SchUseStrongCrypto'
    net32_system_default_tls = RegVal $n32 'SystemDefaultTlsVersions'; net32_strong_crypto = RegVal $n32 'SchUseStrongCrypto'
  }
  Emit 'net.tls12' $d $null
} catch { Emit 'net.tls12' $null $_.Exception.Message }
