# One Entra ID application for several connectors, trusted by a single AWS identity:
# the application asks for the union of the connectors' permissions, and one consent
# covers them all. (psoxy offers this on AWS only; separate applications per connector
# keep each proxy's access narrower.)
#
# Provider settings come from the environment; see ../quickstart/main.tf.

terraform {
  required_version = ">= 1.5"
  required_providers {
    psoxy = {
      source = "psoxy/psoxy"
    }
  }
}

provider "psoxy" {}

variable "connectors" {
  description = "Connector ids served by the one application."
  type        = list(string)
  default     = ["outlook-cal", "outlook-mail", "msft-entra-id"]
}

variable "cognito_identity_pool_id" {
  description = "The Cognito identity pool, `<region>:<uuid>`."
  type        = string
}

variable "cognito_identity_id" {
  description = "The Cognito identity id shared by the proxies, `<region>:<uuid>`."
  type        = string
}

resource "psoxy_msft_connector" "shared" {
  connectors   = var.connectors
  display_name = "Psoxy Connectors - Microsoft 365"
}

resource "psoxy_federated_credential" "aws" {
  application_object_id = psoxy_msft_connector.shared.object_id
  name                  = "psoxy-shared-aws"
  description           = "Psoxy proxies on AWS (Cognito), shared application"
  aws {
    identity_pool_id = var.cognito_identity_pool_id
    identity_id      = var.cognito_identity_id
  }
}

output "client_id" {
  value = psoxy_msft_connector.shared.client_id
}

output "required_app_roles" {
  description = "The union of the connectors' Graph application permissions."
  value       = psoxy_msft_connector.shared.required_app_roles
}

output "consent_instructions" {
  value = psoxy_msft_connector.shared.consent_instructions
}
