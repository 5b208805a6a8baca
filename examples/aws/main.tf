# Psoxy on AWS: one Entra ID application per enabled Microsoft 365 connector, each
# trusting the Cognito identity of that connector's proxy, as psoxy's own AWS modules
# lay it out. The consent documents come out as outputs, one per connector.
#
# Provider settings come from the environment (ARM_TENANT_ID and a sign-in: `az login`,
# ARM_CLIENT_ID + ARM_CLIENT_SECRET, or ARM_USE_OIDC=true); see ../quickstart/main.tf.

terraform {
  required_version = ">= 1.5"
  required_providers {
    psoxy = {
      source = "psoxy/psoxy"
    }
  }
}

provider "psoxy" {}

variable "enabled_connectors" {
  description = "Psoxy Microsoft 365 connector ids to set up, e.g. [\"outlook-cal\", \"msft-teams\"]."
  type        = list(string)
  default     = ["outlook-cal"]
}

variable "cognito_identity_pool_id" {
  description = "The Cognito identity pool the proxies get their OpenID tokens from, `<region>:<uuid>`."
  type        = string
}

variable "cognito_identity_ids" {
  description = "Connector id => the Cognito identity id of that connector's proxy, `<region>:<uuid>`."
  type        = map(string)
}

resource "psoxy_msft_connector" "connector" {
  for_each   = toset(var.enabled_connectors)
  connectors = [each.key]
}

resource "psoxy_federated_credential" "aws" {
  for_each = psoxy_msft_connector.connector

  application_object_id = each.value.object_id
  name                  = "psoxy-${each.key}-aws"
  description           = "Psoxy ${each.key} proxy on AWS (Cognito)"
  aws {
    identity_pool_id = var.cognito_identity_pool_id
    identity_id      = var.cognito_identity_ids[each.key]
  }
}

output "client_ids" {
  description = "Connector id => client id the proxy signs in with."
  value       = { for id, c in psoxy_msft_connector.connector : id => c.client_id }
}

output "consent_documents" {
  description = "Connector id => the document for the administrator who grants consent. Write them out with e.g. `terraform output -json consent_documents | jq -r '.[\"outlook-cal\"]' > 'TODO 1 - setup outlook-cal.md'`."
  value       = { for id, c in psoxy_msft_connector.connector : id => c.consent_instructions }
}

output "consent_granted" {
  description = "Connector id => whether admin consent has been granted (refresh to update)."
  value       = { for id, c in psoxy_msft_connector.connector : id => c.consent_granted }
}
