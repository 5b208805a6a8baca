# Psoxy on GCP: one Entra ID application per enabled Microsoft 365 connector, each
# trusting the GCP service account that connector's proxy (Cloud Function) runs as.
# The consent documents come out as outputs, one per connector.
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

variable "service_account_unique_ids" {
  description = "Connector id => numeric unique id of that connector's GCP service account (e.g. `google_service_account.x.unique_id`; not its email)."
  type        = map(string)
}

resource "psoxy_msft_connector" "connector" {
  for_each   = toset(var.enabled_connectors)
  connectors = [each.key]
}

resource "psoxy_federated_credential" "gcp" {
  for_each = psoxy_msft_connector.connector

  application_object_id = each.value.object_id
  name                  = "psoxy-${each.key}-gcp"
  description           = "Psoxy ${each.key} proxy on GCP"
  gcp {
    service_account_unique_id = var.service_account_unique_ids[each.key]
  }
}

output "client_ids" {
  description = "Connector id => client id the proxy signs in with."
  value       = { for id, c in psoxy_msft_connector.connector : id => c.client_id }
}

output "consent_documents" {
  description = "Connector id => the document for the administrator who grants consent."
  value       = { for id, c in psoxy_msft_connector.connector : id => c.consent_instructions }
}

output "consent_granted" {
  description = "Connector id => whether admin consent has been granted (refresh to update)."
  value       = { for id, c in psoxy_msft_connector.connector : id => c.consent_granted }
}
