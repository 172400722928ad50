try {
  $c = 'HKLM:\SOFTWARE\Microsoft\Windows Azure Backup\Config'
  $d = [ordered]@{ config_key_present = Test-Path -LiteralPath $c
                   machine_id = RegVal $c 'MachineId'; resource_id = RegVal $c 'ResourceId'
                   vault_name = RegVal $c 'ServiceResourceName'; subscription_id = RegVal $c 'SubscriptionId'
                   resource_group = RegVal $c 'ResourceGroupName' }
  Emit 'mars.registration' $d $null
} catch { Emit 'mars.registration' $null $_.Exception.Message }
