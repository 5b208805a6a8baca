# Quickstart: one Psoxy connector (Outlook Calendar) and the federated credential that
# lets a proxy on GCP sign in as it, with no secret anywhere.
#
# The provider block is empty on purpose: every setting comes from the environment, so
# the same files run against the local Graph emulator and against a real tenant.
#
# Against the local emulator (from the repository root):
#
#   cargo build -p terraform-provider-psoxy -p graph-emulator
#   target/debug/graph-emulator --listen 127.0.0.1:8765 &      # prints http://127.0.0.1:8765
#   export PSOXY_GRAPH_ENDPOINT=http://127.0.0.1:8765
#   export PSOXY_LOGIN_ENDPOINT=http://127.0.0.1:8765
#   export ARM_TENANT_ID=00000000-0000-4000-8000-00000000a001  # the emulator's seeded tenant
#   export ARM_CLIENT_ID=00000000-0000-4000-8000-00000000c101  # its "terraform-ci" identity
#   export ARM_CLIENT_SECRET=terraform-ci-secret
#   export ARM_USE_CLI=false
#   # and a CLI configuration with dev_overrides pointing psoxy/psoxy at target/debug
#   # (see README.md next to this file), then:
#   terraform -chdir=examples/quickstart apply
#
# Against a real tenant: unset the PSOXY_* variables (the provider then talks to
# graph.microsoft.com and login.microsoftonline.com), set ARM_TENANT_ID, and sign in
# either with `az login` (as someone holding Cloud Application Administrator) or as a
# pipeline identity with ARM_CLIENT_ID plus ARM_CLIENT_SECRET or ARM_USE_OIDC=true. Set
# `gcp_service_account_unique_id` to your proxy's service account unique id.

terraform {
  required_version = ">= 1.5"
  required_providers {
    psoxy = {
      source = "psoxy/psoxy"
    }
  }
}

provider "psoxy" {}

variable "connector" {
  description = "The Psoxy connector id (see the psoxy_msft_connector_specs data source)."
  type        = string
  default     = "outlook-cal"
}

variable "gcp_service_account_unique_id" {
  description = "Numeric unique id of the GCP service account the connector's proxy runs as."
  type        = string
  default     = "112233445566778899001"
}

resource "psoxy_msft_connector" "this" {
  connectors = [var.connector]
}

resource "psoxy_federated_credential" "gcp" {
  application_object_id = psoxy_msft_connector.this.object_id
  name                  = "psoxy-${var.connector}-gcp"
  description           = "Psoxy ${var.connector} proxy on GCP"
  gcp {
    service_account_unique_id = var.gcp_service_account_unique_id
  }
}

output "client_id" {
  description = "The client id the proxy signs in with (PSOXY_MSFT_CLIENT_ID in psoxy)."
  value       = psoxy_msft_connector.this.client_id
}

output "consent_granted" {
  description = "Whether an administrator has granted admin consent yet (refresh to update)."
  value       = psoxy_msft_connector.this.consent_granted
}

output "consent_instructions" {
  description = "The document to hand the Privileged Role Administrator who grants consent."
  value       = psoxy_msft_connector.this.consent_instructions
}
